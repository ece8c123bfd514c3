// Package kafkatest gives weir's Kafka tests, example and benchmark a broker to talk to,
// and the few client chores they all repeat: creating topics, producing records, and
// reading a topic to its end as a read_committed consumer does.
//
// A broker is franz-go's in-process Kafka-protocol broker (kfake) unless
// WEIR_KAFKA_BROKERS names a real cluster (comma-separated host:port), in which case every
// topic a test asks for gets a name of its own so that runs never share one. The
// multi-process tests need a broker that outlives the processes they kill: StartProcess
// runs it as a process of its own, the test binary re-executed (its package calls
// ServeIfChild from an init function) or, outside tests, `go run
// ./internal/kafkatest/cmd/broker`, which prints the address it listens on.
//
// The package is for tests and examples only: nothing of weir's own code imports it, so
// that kfake stays out of programs that do not ask for it.
package kafkatest
