package kafkatest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// BrokersEnv names the variable that points the tests at a real cluster: its bootstrap
// addresses, comma-separated.
const BrokersEnv = "WEIR_KAFKA_BROKERS"

// EnvBrokers returns the addresses WEIR_KAFKA_BROKERS gives, or nil when it is unset or
// empty.
func EnvBrokers() []string {
	var addrs []string
	for a := range strings.SplitSeq(os.Getenv(BrokersEnv), ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// Broker is a cluster a test produces to and reads from.
type Broker struct {
	addrs   []string
	real    bool
	cluster *kfake.Cluster // the in-process broker; nil otherwise
	stop    func() error   // ends what Start or StartProcess started; nil for a real cluster
}

// Addrs returns the broker's bootstrap addresses.
func (b *Broker) Addrs() []string { return b.addrs }

// Real reports whether the broker is a real cluster given by WEIR_KAFKA_BROKERS.
func (b *Broker) Real() bool { return b.real }

// Cluster returns the in-process broker, for tests that inject faults through kfake's
// controls; nil for a real cluster or a broker in its own process.
func (b *Broker) Cluster() *kfake.Cluster { return b.cluster }

// Close stops the broker if this process started it; a real cluster is left alone.
func (b *Broker) Close() error {
	if b.stop == nil {
		return nil
	}
	stop := b.stop
	b.stop = nil
	return stop()
}

// clusterOpts are kfake's settings for every broker this package starts: one broker (a
// test has no use for more), then extra.
func clusterOpts(extra []kfake.Opt) []kfake.Opt {
	return append([]kfake.Opt{kfake.NumBrokers(1)}, extra...)
}

// NewCluster starts an in-process broker, whatever WEIR_KAFKA_BROKERS says: for the
// example and the benchmark, which want one without a testing.TB. extra are kfake's
// options beyond one broker on a free port (kfake.SeedTopics, kfake.Ports...).
func NewCluster(extra ...kfake.Opt) (*Broker, error) {
	c, err := kfake.NewCluster(clusterOpts(extra)...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: start the in-process broker: %w", err)
	}
	return &Broker{addrs: c.ListenAddrs(), cluster: c, stop: func() error { c.Close(); return nil }}, nil
}

// Existing returns a Broker of the real cluster at addrs, which it never stops: for a
// program given a cluster's addresses (Start reads them from WEIR_KAFKA_BROKERS).
func Existing(addrs []string) *Broker { return &Broker{addrs: addrs, real: true} }

// Start returns the real cluster WEIR_KAFKA_BROKERS names, or else an in-process broker
// that the test's cleanup closes. It logs which.
func Start(t testing.TB, extra ...kfake.Opt) *Broker {
	t.Helper()
	if addrs := EnvBrokers(); addrs != nil {
		t.Logf("kafkatest: the real cluster at %s (%s)", strings.Join(addrs, ","), BrokersEnv)
		return Existing(addrs)
	}
	b, err := NewCluster(extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	t.Logf("kafkatest: the in-process broker at %s (%s unset)", strings.Join(b.addrs, ","), BrokersEnv)
	return b
}

// SkipUnlessReal skips t unless WEIR_KAFKA_BROKERS names a real cluster, saying so.
func SkipUnlessReal(t testing.TB) {
	t.Helper()
	if EnvBrokers() == nil {
		t.Skipf("kafkatest: %s is unset: this test needs a real Kafka cluster", BrokersEnv)
	}
}

// Client returns a client of the broker with opts after its seed addresses; the caller
// closes it.
func (b *Broker) Client(opts ...kgo.Opt) (*kgo.Client, error) {
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(b.addrs...)}, opts...)...)
	if err != nil {
		return nil, fmt.Errorf("kafkatest: client: %w", err)
	}
	return cl, nil
}

// CreateTopic creates a topic of the given partitions and returns its name: name itself
// on a broker of this process's, name with a random suffix on a real cluster, so that
// runs do not read each other's records.
func (b *Broker) CreateTopic(ctx context.Context, name string, partitions int32) (string, error) {
	if b.real {
		var r [4]byte
		rand.Read(r[:])
		name += "-" + hex.EncodeToString(r[:])
	}
	cl, err := b.Client()
	if err != nil {
		return "", err
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, -1, nil, name); err != nil {
		return "", fmt.Errorf("kafkatest: create topic %q: %w", name, err)
	}
	// A real cluster's metadata reaches every broker a moment after the create: wait until
	// the topic is listed with its partitions, so that the first produce finds it.
	adm := kadm.NewClient(cl)
	for {
		md, err := adm.Metadata(ctx, name)
		if err == nil {
			if td, ok := md.Topics[name]; ok && td.Err == nil && len(td.Partitions) == int(partitions) {
				return name, nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("kafkatest: topic %q not listed after its creation: %w", name, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// DeleteTopic deletes a topic.
func (b *Broker) DeleteTopic(ctx context.Context, name string) error {
	cl, err := b.Client()
	if err != nil {
		return err
	}
	defer cl.Close()
	if _, err := kadm.NewClient(cl).DeleteTopic(ctx, name); err != nil {
		return fmt.Errorf("kafkatest: delete topic %q: %w", name, err)
	}
	return nil
}

// Topic is CreateTopic for a test: it fails t on an error, and on a real cluster deletes
// the topic when the test ends.
func (b *Broker) Topic(t testing.TB, name string, partitions int32) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name, err := b.CreateTopic(ctx, name, partitions)
	if err != nil {
		t.Fatal(err)
	}
	if b.real {
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			b.DeleteTopic(ctx, name)
		})
	}
	return name
}

// ErrNoBroker is returned by StartProcess when the broker process printed no address.
var ErrNoBroker = errors.New("kafkatest: the broker process printed no address")
