package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/sink"
)

// These tests check against the test broker what the exactly-once sink's recovery
// assumes of the transaction coordinator, rather than assuming it: an EndTxn from a new
// client commits a transaction its producer flushed and left, a second EndTxn of a
// committed one does not commit anything twice, and initialising the id aborts what is
// left open so that read_committed consumers move on. Each runs with the EndTxn version
// franz-go picks (v5, transactions v2 of KIP-890, which bumps the producer epoch at every
// commit) and with v4 and below (the epoch stays).

func txnBrokers(t *testing.T, v4 bool, extra ...kfake.Opt) (*kafkatest.Broker, string) {
	t.Helper()
	if v4 {
		v := kversion.Stable()
		v.SetMaxKeyVersion(26, 4) // EndTxn
		extra = append(extra, kfake.MaxVersions(v))
	}
	b, err := kafkatest.NewCluster(append(extra, kfake.SeedTopics(2, "out"))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, "out"
}

// leftTxn produces n records to topic in a transaction of id, flushes them and leaves the
// producer as a killed process would: the transaction neither committed nor aborted. It
// returns the producer id and epoch the transaction was written with.
func leftTxn(t *testing.T, b *kafkatest.Broker, id, topic string, n int, timeout time.Duration) (int64, int16) {
	t.Helper()
	cl, err := b.Client(kgo.TransactionalID(id), kgo.TransactionTimeout(timeout), kgo.DefaultProduceTopic(topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	// Closing a client ends no transaction; the test's end closes it, long after.
	t.Cleanup(cl.Close)
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		cl.Produce(context.Background(), &kgo.Record{Value: fmt.Appendf(nil, "%s-%d", id, i)}, nil)
	}
	if err := cl.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	pid, pepoch, err := cl.ProducerID(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return pid, pepoch
}

func committedCount(t *testing.T, b *kafkatest.Broker, topic string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	recs, err := kafkatest.ReadCommitted(ctx, b.Addrs(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func adminClient(t *testing.T, b *kafkatest.Broker) *kgo.Client {
	t.Helper()
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}

func TestEndTxnFromNewClient(t *testing.T) {
	for _, v4 := range []bool{false, true} {
		t.Run(fmt.Sprintf("endtxn_v4=%v", v4), func(t *testing.T) {
			ctx := context.Background()
			b, topic := txnBrokers(t, v4)
			pid, pepoch := leftTxn(t, b, "t1", topic, 5, time.Minute)
			if n := committedCount(t, b, topic); n != 0 {
				t.Fatalf("%d records visible before the commit", n)
			}
			cl := adminClient(t, b)

			// (a) A new client commits the transaction the first one flushed and left.
			code, err := endTxn(ctx, cl, "t1", pid, pepoch)
			if err != nil || code != nil {
				t.Fatalf("EndTxn(commit) from a new client: %v, %v; want success", code, err)
			}
			if n := committedCount(t, b, topic); n != 5 {
				t.Fatalf("%d records visible after the commit, want 5", n)
			}

			// (b) Again, as a second resume from the same snapshot does: success, since
			// the coordinator takes it for a retry, and nothing doubles.
			code, err = endTxn(ctx, cl, "t1", pid, pepoch)
			t.Logf("second EndTxn(commit) of a committed transaction: %v", code)
			if err != nil || code != nil {
				t.Fatalf("second EndTxn(commit): %v, %v; want success", code, err)
			}
			if n := committedCount(t, b, topic); n != 5 {
				t.Fatalf("%d records visible after a second commit, want 5", n)
			}

			// Once the id is initialised again (the resumed run's fencing), the recorded
			// epoch is stale: the coordinator says the producer is fenced.
			if err := initTxnID(ctx, cl, "t1", time.Minute); err != nil {
				t.Fatal(err)
			}
			code, err = endTxn(ctx, cl, "t1", pid, pepoch)
			t.Logf("EndTxn(commit) after InitProducerID: %v", code)
			if err != nil || !errors.Is(code, kerr.ProducerFenced) {
				t.Fatalf("EndTxn(commit) after a new init: %v, %v; want PRODUCER_FENCED", code, err)
			}
			if n := committedCount(t, b, topic); n != 5 {
				t.Fatalf("%d records visible, want 5", n)
			}
		})
	}
}

func TestInitAbortsLingering(t *testing.T) {
	for _, v4 := range []bool{false, true} {
		t.Run(fmt.Sprintf("endtxn_v4=%v", v4), func(t *testing.T) {
			ctx := context.Background()
			b, topic := txnBrokers(t, v4)
			// (c) A transaction left open holds read_committed consumers at its first
			// offset: a record produced after it, outside any transaction, stays unseen.
			leftTxn(t, b, "t2", topic, 3, time.Minute)
			if err := kafkatest.ProduceTo(ctx, b.Addrs(), &kgo.Record{Topic: topic, Partition: 0, Value: []byte("after")}); err != nil {
				t.Fatal(err)
			}
			if n := committedCount(t, b, topic); n != 0 {
				t.Fatalf("%d records visible behind an open transaction, want 0", n)
			}
			cl := adminClient(t, b)
			if err := initTxnID(ctx, cl, "t2", time.Minute); err != nil {
				t.Fatal(err)
			}
			recs, err := kafkatest.ReadCommitted(ctx, b.Addrs(), topic)
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || string(recs[0].Value) != "after" {
				t.Fatalf("read_committed after fencing: %d records, want only \"after\"", len(recs))
			}
		})
	}
}

func TestEndTxnAfterTimeout(t *testing.T) {
	for _, v4 := range []bool{false, true} {
		t.Run(fmt.Sprintf("endtxn_v4=%v", v4), func(t *testing.T) {
			ctx := context.Background()
			b, topic := txnBrokers(t, v4)
			pid, pepoch := leftTxn(t, b, "t3", topic, 2, 100*time.Millisecond)
			time.Sleep(300 * time.Millisecond)
			cl := adminClient(t, b)
			// kfake aborts expired transactions when it handles a request: any will do.
			committedCount(t, b, topic)
			code, err := endTxn(ctx, cl, "t3", pid, pepoch)
			t.Logf("EndTxn(commit) of a transaction aborted by its timeout: %v", code)
			if err != nil {
				t.Fatal(err)
			}
			want := kerr.InvalidTxnState // v5: the epoch bumped by the abort is taken for a retry of another outcome
			if v4 {
				want = kerr.ProducerFenced // v4: the bumped epoch looks like any later producer's
			}
			if !errors.Is(code, want) {
				t.Fatalf("EndTxn(commit) after the timeout: %v, want %v", code, want)
			}
			if n := committedCount(t, b, topic); n != 0 {
				t.Fatalf("%d records of an aborted transaction visible", n)
			}
		})
	}
}

func TestTransactionTimeoutAboveMax(t *testing.T) {
	b, _ := txnBrokers(t, false, kfake.BrokerConfigs(map[string]string{"transaction.max.timeout.ms": "60000"}))
	cl := adminClient(t, b)
	err := initTxnID(context.Background(), cl, "t4", 2*time.Minute)
	if !errors.Is(err, kerr.InvalidTransactionTimeout) || !strings.Contains(err.Error(), "(1m0s)") {
		t.Fatalf("init with a timeout above the maximum: %v; want INVALID_TRANSACTION_TIMEOUT naming 1m0s", err)
	}
	t.Log(err)
	if err := initTxnID(context.Background(), cl, "t4", time.Minute); err != nil {
		t.Fatalf("init at the maximum: %v", err)
	}
	// The sink asks for its timeout when a partition opens, so a run fails as it starts.
	s := NewSink(b.Addrs(), SinkTopic("out"), ExactlyOnce(TransactionTimeout(2*time.Minute)))
	_, err = s.Build(context.Background(), sink.Part{Step: "flow.out", Partition: "0"}, nil)
	if !errors.Is(err, kerr.InvalidTransactionTimeout) || !strings.Contains(err.Error(), "flow.out partition 0") {
		t.Fatalf("building a partition with a timeout above the maximum: %v", err)
	}
	t.Log(err)
}
