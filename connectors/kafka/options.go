package kafka

import (
	"crypto/tls"
	"log/slog"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// DefaultClientID is the client id that the Source's and the Sink's clients send to the
// brokers unless ClientID says otherwise; brokers log it and use it in quotas.
const DefaultClientID = "weir"

// Option is a setting of the Kafka client, shared by the Source and the Sink: the seed
// brokers are their constructors' first argument, and Options set everything else a
// connection needs (authentication, encryption) or passes franz-go's own settings
// through. An Option is accepted wherever a SourceOption (or a sink's option) is: each
// kind of option is an interface with one unexported method, which Option implements
// by applying itself to the clientConfig that the source's or sink's settings embed.
type Option func(*clientConfig)

// clientConfig is what Options set; the Source and the Sink each embed one.
type clientConfig struct {
	brokers []string
	id      string
	sasl    []sasl.Mechanism
	tls     *tls.Config
	extra   []kgo.Opt
	logger  *slog.Logger
}

func newClientConfig(brokers []string) clientConfig {
	return clientConfig{brokers: brokers, id: DefaultClientID, logger: slog.Default()}
}

// kgoOpts returns the franz-go options of c, followed by more (which the connector
// needs, such as what to consume), followed by the user's ClientOpts, last so that they
// override both.
func (c *clientConfig) kgoOpts(more ...kgo.Opt) []kgo.Opt {
	opts := []kgo.Opt{kgo.SeedBrokers(c.brokers...), kgo.ClientID(c.id)}
	if len(c.sasl) > 0 {
		opts = append(opts, kgo.SASL(c.sasl...))
	}
	if c.tls != nil {
		opts = append(opts, kgo.DialTLSConfig(c.tls))
	}
	opts = append(opts, more...)
	return append(opts, c.extra...)
}

// ClientID sets the client id sent to the brokers, overriding DefaultClientID.
func ClientID(id string) Option {
	return func(c *clientConfig) { c.id = id }
}

// SASLPlain authenticates with SASL PLAIN, which sends the password as it is: use it
// with TLS. By default the client does not authenticate. A later SASL option replaces
// an earlier one.
func SASLPlain(user, pass string) Option {
	return sasl1(plain.Auth{User: user, Pass: pass}.AsMechanism())
}

// SASLScram256 authenticates with SASL SCRAM-SHA-256. By default the client does not
// authenticate. A later SASL option replaces an earlier one.
func SASLScram256(user, pass string) Option {
	return sasl1(scram.Auth{User: user, Pass: pass}.AsSha256Mechanism())
}

// SASLScram512 authenticates with SASL SCRAM-SHA-512. By default the client does not
// authenticate. A later SASL option replaces an earlier one.
func SASLScram512(user, pass string) Option {
	return sasl1(scram.Auth{User: user, Pass: pass}.AsSha512Mechanism())
}

// SASL authenticates with any of franz-go's SASL mechanisms (OAUTHBEARER and AWS_MSK_IAM
// are in its pkg/sasl), tried in order. By default the client does not authenticate. A
// later SASL option replaces an earlier one.
func SASL(mechs ...sasl.Mechanism) Option {
	return func(c *clientConfig) { c.sasl = mechs }
}

func sasl1(m sasl.Mechanism) Option { return SASL(m) }

// TLS encrypts the connections to the brokers with cfg (nil: Go's defaults, verifying the
// brokers' certificates against the system's roots); franz-go sets cfg's ServerName to
// each broker's host when it is empty. By default connections are plain TCP.
func TLS(cfg *tls.Config) Option {
	return func(c *clientConfig) {
		if cfg == nil {
			cfg = new(tls.Config)
		}
		c.tls = cfg
	}
}

// ClientOpts passes franz-go options through to the client, after weir's own, so that
// they override them: timeouts, a dialer, a logger, retries, rack awareness. Options
// that change what is consumed or how records are produced break the connector's
// guarantees; the Source's and the Sink's own options set those. ClientOpts accumulate.
func ClientOpts(opts ...kgo.Opt) Option {
	return func(c *clientConfig) { c.extra = append(c.extra, opts...) }
}

// Logger sets where the Source and the Sink log (the source's consumer lag, say),
// overriding slog.Default() as it is when the source or sink is made. franz-go's own
// logs are not sent there: pass kgo.WithLogger through ClientOpts for those.
func Logger(l *slog.Logger) Option {
	return func(c *clientConfig) {
		if l != nil {
			c.logger = l
		}
	}
}
