package kafkatest_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir/internal/kafkatest"
)

func init() { kafkatest.ServeIfChild() }

// values returns the records' values as strings, in the order given.
func values(rs []*kgo.Record) []string {
	var vs []string
	for _, r := range rs {
		vs = append(vs, string(r.Value))
	}
	return vs
}

// txn produces the values to topic in one transaction of a producer of id, and ends it
// with commit (true, false) or leaves it open (end false).
func txn(t *testing.T, b *kafkatest.Broker, id, topic string, end, commit bool, vals ...string) *kgo.Client {
	t.Helper()
	ctx := context.Background()
	cl, err := b.Client(kgo.TransactionalID(id), kgo.DefaultProduceTopic(topic))
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if err := cl.ProduceSync(ctx, &kgo.Record{Key: []byte(v), Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if end {
		if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
			t.Fatal(err)
		}
	}
	return cl
}

// TestReadCommitted writes plain records, a committed transaction, an aborted one and one
// left open: ReadCommitted sees the plain and the committed ones, ReadAll every one.
func TestReadCommitted(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "read", 3)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.ProduceN(ctx, b.Addrs(), topic, 30, func(i int) *kgo.Record {
		return &kgo.Record{Key: []byte(strconv.Itoa(i)), Value: []byte("plain" + strconv.Itoa(i))}
	}); err != nil {
		t.Fatal(err)
	}
	txn(t, b, "committed", topic, true, true, "c1", "c2", "c3").Close()
	txn(t, b, "aborted", topic, true, false, "a1", "a2").Close()
	open := txn(t, b, "open", topic, false, false, "o1")
	defer open.Close()
	// The open transaction holds back the last stable offset of its partition: a record
	// committed after it there stays unseen by a read_committed consumer, as Kafka's.
	var want []string
	for i := range 30 {
		want = append(want, "plain"+strconv.Itoa(i))
	}
	want = append(want, "c1", "c2", "c3")
	got, err := kafkatest.ReadCommitted(ctx, b.Addrs(), topic)
	if err != nil {
		t.Fatal(err)
	}
	gv := values(got)
	slices.Sort(gv)
	slices.Sort(want)
	if !slices.Equal(gv, want) {
		t.Errorf("ReadCommitted: %q, want %q", gv, want)
	}
	all, err := kafkatest.ReadAll(ctx, b.Addrs(), topic)
	if err != nil {
		t.Fatal(err)
	}
	av := values(all)
	slices.Sort(av)
	want = append(want, "a1", "a2", "o1")
	slices.Sort(want)
	if !slices.Equal(av, want) {
		t.Errorf("ReadAll: %q, want %q", av, want)
	}
	for i := 1; i < len(got); i++ {
		if p, q := got[i-1], got[i]; p.Partition > q.Partition || p.Partition == q.Partition && p.Offset >= q.Offset {
			t.Fatalf("records out of order: %d/%d before %d/%d", p.Partition, p.Offset, q.Partition, q.Offset)
		}
	}
}

// TestReadEmpty reads a topic nobody wrote to.
func TestReadEmpty(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "empty", 2)
	got, err := kafkatest.ReadCommitted(context.Background(), b.Addrs(), topic)
	if err != nil || len(got) != 0 {
		t.Fatalf("ReadCommitted of an empty topic: %d records, %v", len(got), err)
	}
}

// TestProcess starts a broker process with a seeded topic, writes to it and reads back,
// and checks that the process ends with the broker's Close.
func TestProcess(t *testing.T) {
	if kafkatest.EnvBrokers() != nil {
		t.Skip("kafkatest: a real cluster is given: no broker process to test")
	}
	b := kafkatest.StartProcess(t, "seeded:4")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.ProduceN(ctx, b.Addrs(), "seeded", 100, func(i int) *kgo.Record {
		return &kgo.Record{Key: fmt.Appendf(nil, "k%d", i%7), Value: []byte(strconv.Itoa(i))}
	}); err != nil {
		t.Fatal(err)
	}
	got, err := kafkatest.ReadCommitted(ctx, b.Addrs(), "seeded")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 100 {
		t.Fatalf("read %d records, want 100", len(got))
	}
	parts := map[int32]bool{}
	for _, r := range got {
		parts[r.Partition] = true
	}
	if len(parts) < 2 {
		t.Errorf("7 keys went to %d partitions of 4", len(parts))
	}
	b.Close()
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	pctx, pcancel := context.WithTimeout(ctx, time.Second)
	defer pcancel()
	if err := cl.Ping(pctx); err == nil {
		t.Error("the broker process still answers after Close")
	}
}

// TestProcessWithoutTopics starts a broker process with no topic to seed, and creates
// one in it.
func TestProcessWithoutTopics(t *testing.T) {
	if kafkatest.EnvBrokers() != nil {
		t.Skip("kafkatest: a real cluster is given: no broker process to test")
	}
	b := kafkatest.StartProcess(t)
	topic := b.Topic(t, "made", 2)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.ProduceN(ctx, b.Addrs(), topic, 10, func(i int) *kgo.Record {
		return &kgo.Record{Value: []byte(strconv.Itoa(i))}
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := kafkatest.ReadCommitted(ctx, b.Addrs(), topic); err != nil || len(got) != 10 {
		t.Fatalf("read %d records, want 10 (%v)", len(got), err)
	}
}
