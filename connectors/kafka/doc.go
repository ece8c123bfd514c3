// Package kafka reads from and writes to Apache Kafka (and brokers that speak its
// protocol) through franz-go: a partitioned Source of Messages, a Sink, and serde helpers
// between Messages and Go types.
//
// # Connecting
//
// NewSource and the sink take the seed brokers as their first argument ("host:port"
// each); Options set the rest of the connection, shared by both: SASLPlain,
// SASLScram256, SASLScram512 or any franz-go SASL mechanism (SASL), TLS, ClientID, and
// ClientOpts for any other franz-go setting (timeouts, a logger, a dialer).
package kafka
