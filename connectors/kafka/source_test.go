package kafka_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// The source's tests run against the in-process broker, or against a real cluster when
// WEIR_KAFKA_BROKERS names one (kafkatest.Start), every test but TestSourceSASL and
// TestSourceTLS, which need a broker that wants SASL or TLS and start one of their own.

// rec is what a test checks of a record read: where it was and its value.
type rec struct {
	Part   string // topic/partition
	Offset int64
	Value  string
}

func recOf(m kafka.Message) rec {
	return rec{fmt.Sprintf("%s/%d", m.Topic, m.Partition), m.Offset, string(m.Value)}
}

// produce writes n records to each of the topic's partitions parts, valued
// "topic/partition:i" for i from first (the partitions' next offset), and returns them as
// the source reads them.
func produce(t testing.TB, b *kafkatest.Broker, topic string, parts int32, first, n int) []rec {
	return produceAt(t, b, topic, parts, first, n, time.Time{})
}

// produceAt is produce with the records' timestamp; zero: the producer's clock.
func produceAt(t testing.TB, b *kafkatest.Broker, topic string, parts int32, first, n int, ts time.Time) []rec {
	t.Helper()
	var recs []*kgo.Record
	var want []rec
	for p := range parts {
		for i := first; i < first+n; i++ {
			v := fmt.Sprintf("%s/%d:%d", topic, p, i)
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v), Key: []byte(fmt.Sprint(i)), Timestamp: ts})
			want = append(want, rec{fmt.Sprintf("%s/%d", topic, p), int64(i), v})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.ProduceTo(ctx, b.Addrs(), recs...); err != nil {
		t.Fatal(err)
	}
	return want
}

func sorted(rs []rec) []rec {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b rec) int {
		if a.Part != b.Part {
			if a.Part < b.Part {
				return -1
			}
			return 1
		}
		return int(a.Offset - b.Offset)
	})
	return rs
}

// readAll runs a flow of src into a test sink on workers workers and returns what it read.
func readAll(t *testing.T, src *kafka.Source, workers int, opts ...run.Option) []rec {
	t.Helper()
	flow := weir.NewDataflow("flow")
	in := op.Input("in", flow, src)
	out := weirtest.NewSink[rec]()
	op.Output("out", op.Map("rec", in, recOf), out)
	weirtest.Run(t, flow, workers, append([]run.Option{logTo(t)}, opts...)...)
	return sorted(out.Items())
}

func TestSourceReadsToEnd(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "read", 4)
	want := produce(t, b, topic, 4, 0, 50)
	for _, workers := range []int{1, 3} {
		got := readAll(t, kafka.NewSource(b.Addrs(), []string{topic}, kafka.BatchSize(7)), workers)
		if !slices.Equal(got, want) {
			t.Fatalf("%d workers: read %d records, want %d: %v", workers, len(got), len(want), got)
		}
	}
}

// failer returns a step function that fails the run (a panic: a crash of user code) when
// it sees its nth item, once, if n > 0.
func failer(n int64) func(kafka.Message) kafka.Message {
	var seen atomic.Int64
	return func(m kafka.Message) kafka.Message {
		if seen.Add(1) == n {
			panic("failing on purpose")
		}
		return m
	}
}

// offsetsFlow reads src, fails as failer(failAt) does, and collects each partition's
// offsets in keyed state, emitted when the input ends: a resumed run that read a record
// twice, or skipped one, shows it in the lists.
func offsetsFlow(src *kafka.Source, failAt int64, out *weirtest.Sink[weir.KV[[]int64]]) *weir.Dataflow {
	flow := weir.NewDataflow("flow")
	in := op.Map("fail", op.Input("in", flow, src), failer(failAt))
	keyed := op.KeyOn("part", in, func(m kafka.Message) string { return fmt.Sprintf("%s/%d", m.Topic, m.Partition) })
	offs := op.FoldFinal("offsets", op.MapValue("offset", keyed, func(m kafka.Message) int64 { return m.Offset }),
		func() []int64 { return nil }, func(acc []int64, off int64) []int64 { return append(acc, off) })
	op.Output("out", offs, out)
	return flow
}

// checkOffsets checks that every partition of topic read each offset below n[partition]
// exactly once.
func checkOffsets(t *testing.T, topic string, got []weir.KV[[]int64], n map[int32]int) {
	t.Helper()
	byPart := map[string][]int64{}
	for _, kv := range got {
		if _, dup := byPart[kv.Key]; dup {
			t.Errorf("partition %s emitted twice", kv.Key)
		}
		byPart[kv.Key] = slices.Sorted(slices.Values(kv.Value))
	}
	for p, count := range n {
		name := fmt.Sprintf("%s/%d", topic, p)
		offs := byPart[name]
		want := make([]int64, count)
		for i := range want {
			want[i] = int64(i)
		}
		if !slices.Equal(offs, want) {
			t.Errorf("partition %s read offsets %v, want each of 0..%d once", name, offs, count-1)
		}
		delete(byPart, name)
	}
	for name := range byPart {
		t.Errorf("unexpected partition %s", name)
	}
}

// TestSourceResumesExactly fails runs part-way (a step panics) and resumes them on a
// recovery directory, with other worker counts: the keyed state of the final run must
// hold every record exactly once, which it does only if each partition resumed exactly
// after the last epoch committed.
func TestSourceResumesExactly(t *testing.T) {
	b := kafkatest.Start(t)
	for _, tc := range []struct {
		name    string
		parts   int32
		perPart int     // records in each partition before the first run
		more    int     // records added to each partition before each resume
		workers []int   // each run's workers
		failAt  []int64 // the item each run but the last fails at
		batch   int
	}{
		{name: "one worker", parts: 4, perPart: 100, more: 10, workers: []int{1, 1, 1}, failAt: []int64{57, 133}, batch: 5},
		{name: "rescale 3-5-1", parts: 8, perPart: 60, more: 7, workers: []int{3, 5, 1}, failAt: []int64{150, 200}, batch: 4},
		{name: "rescale 1-4-2", parts: 8, perPart: 40, more: 0, workers: []int{1, 4, 2}, failAt: []int64{33, 90}, batch: 3},
		{name: "fail in the first batch", parts: 2, perPart: 30, more: 1, workers: []int{2, 2}, failAt: []int64{1}, batch: 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := b.Topic(t, strings.ReplaceAll(tc.name, " ", "-"), tc.parts)
			n := map[int32]int{}
			for p := range tc.parts {
				n[p] = tc.perPart
			}
			produce(t, b, topic, tc.parts, 0, tc.perPart)
			rec := weirtest.NewRecovery(t, 4)
			src := kafka.NewSource(b.Addrs(), []string{topic}, kafka.BatchSize(tc.batch))
			for i, workers := range tc.workers {
				out := weirtest.NewSink[weir.KV[[]int64]]()
				last := i == len(tc.workers)-1
				var failAt int64
				if !last {
					failAt = tc.failAt[i]
				}
				if i > 0 && tc.more > 0 {
					produce(t, b, topic, tc.parts, n[0], tc.more)
					for p := range n {
						n[p] += tc.more
					}
				}
				err := run.Run(context.Background(), offsetsFlow(src, failAt, out), rec.Options(workers, logTo(t))...)
				if !last {
					if err == nil || !strings.Contains(err.Error(), "failing on purpose") {
						t.Fatalf("run %d: %v, want the step's failure", i, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("last run: %v", err)
				}
				checkOffsets(t, topic, out.Items(), n)
			}
		})
	}
}

// logTo sends a run's logs to the test's output.
func logTo(t *testing.T) run.Option {
	return run.Logger(slog.New(slog.NewTextHandler(t.Output(), nil)))
}

// TestSourceStart checks where a fresh run starts, and that a run that read nothing
// resumes where it started, not at the end or timestamp of the resume: the start offset
// is in the first snapshot.
func TestSourceStart(t *testing.T) {
	b := kafkatest.Start(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for _, tc := range []struct {
		name  string
		opt   kafka.SourceOption
		first int // the first record of each partition's 10 that the first run reads
	}{
		{"earliest", kafka.StartEarliest(), 0},
		{"default", nil, 0},
		{"latest", kafka.StartLatest(), 10},
		{"timestamp", kafka.StartAt(t0.Add(5 * time.Minute)), 5},
		{"timestamp between", kafka.StartAt(t0.Add(4*time.Minute + time.Second)), 5},
		{"timestamp after all", kafka.StartAt(t0.Add(time.Hour)), 10},
		{"timestamp before all", kafka.StartAt(t0.Add(-time.Hour)), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			topic := b.Topic(t, "start-"+strings.ReplaceAll(tc.name, " ", "-"), 3)
			var want []rec
			for i := range 10 { // record i at t0 + i minutes
				want = append(want, produceAt(t, b, topic, 3, i, 1, t0.Add(time.Duration(i)*time.Minute))...)
			}
			want = sorted(slices.DeleteFunc(want, func(r rec) bool { return r.Offset < int64(tc.first) }))
			var opts []kafka.SourceOption
			if tc.opt != nil {
				opts = append(opts, tc.opt)
			}
			src := kafka.NewSource(b.Addrs(), []string{topic}, opts...)
			rec := weirtest.NewRecovery(t, 1)
			if got := readAll(t, src, 2, rec.Options(2, logTo(t))...); !slices.Equal(got, want) {
				t.Fatalf("first run read %v, want %v", got, want)
			}
			// The resumed run reads the records produced since, whatever its start
			// setting says: every partition has a position.
			more := sorted(produce(t, b, topic, 3, 10, 4))
			if got := readAll(t, src, 1, rec.Options(1, logTo(t))...); !slices.Equal(got, more) {
				t.Fatalf("resumed run read %v, want %v", got, more)
			}
		})
	}
}

// TestSourceTail checks that a tailing source reads records produced while it runs and
// ends only with the run's context, while a bounded one ends at the end as of its start.
func TestSourceTail(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "tail", 2)
	before := produce(t, b, topic, 2, 0, 5)

	// Bounded: records produced after the partitions opened are not read. They are
	// produced by the flow itself, at its first item, when the ends are known.
	flow := weir.NewDataflow("flow")
	var once sync.Once
	var during []rec
	in := op.Map("produce", op.Input("in", flow, kafka.NewSource(b.Addrs(), []string{topic})), func(m kafka.Message) rec {
		once.Do(func() { during = produce(t, b, topic, 2, 5, 3) })
		return recOf(m)
	})
	out := weirtest.NewSink[rec]()
	op.Output("out", in, out)
	weirtest.Run(t, flow, 1, logTo(t))
	if got := sorted(out.Items()); !slices.Equal(got, sorted(before)) || len(during) == 0 {
		t.Fatalf("bounded run read %v, want the %d records there at its start", got, len(before))
	}

	// Tail: it reads everything, then waits for more until cancelled.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	flow = weir.NewDataflow("flow")
	out = weirtest.NewSink[rec]()
	src := kafka.NewSource(b.Addrs(), []string{topic}, kafka.Tail(), kafka.MaxPollWait(time.Millisecond))
	op.Output("out", op.Map("rec", op.Input("in", flow, src), recOf), out)
	done := make(chan error, 1)
	go func() { done <- run.Run(ctx, flow, run.Workers(2), logTo(t)) }()
	waitFor := func(want []rec) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(out.Items()) < len(want) {
			select {
			case err := <-done:
				t.Fatalf("the tailing run ended with %v after %d records", err, len(out.Items()))
			case <-time.After(5 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("read %d records, want %d", len(out.Items()), len(want))
			}
		}
		time.Sleep(20 * time.Millisecond) // nothing more comes
		if got := sorted(out.Items()); !slices.Equal(got, sorted(want)) {
			t.Fatalf("tailing run read %v, want %v", got, sorted(want))
		}
	}
	all := slices.Concat(before, during)
	waitFor(all)
	all = append(all, produce(t, b, topic, 2, 8, 6)...) // while it waits
	waitFor(all)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("tailing run: %v, want context.Canceled", err)
	}
}

// TestSourceNewPartitions adds partitions to a topic between two runs: the resumed run
// reads the new partitions from the start, and the old ones from their positions.
func TestSourceNewPartitions(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "grow", 2)
	want := produce(t, b, topic, 2, 0, 6)
	rec := weirtest.NewRecovery(t, 2)
	src := kafka.NewSource(b.Addrs(), []string{topic})
	if got := readAll(t, src, 2, rec.Options(2, logTo(t))...); !slices.Equal(got, sorted(want)) {
		t.Fatalf("first run read %v, want %v", got, sorted(want))
	}
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreatePartitions(ctx, 2, topic); err != nil {
		t.Fatal(err)
	}
	more := slices.Concat(produce(t, b, topic, 2, 6, 3), produceOn(t, b, topic, []int32{2, 3}, 4))
	if got := readAll(t, src, 3, rec.Options(3, logTo(t))...); !slices.Equal(got, sorted(more)) {
		t.Fatalf("resumed run read %v, want %v", got, sorted(more))
	}
}

// produceOn writes n records to each of the given fresh partitions.
func produceOn(t testing.TB, b *kafkatest.Broker, topic string, parts []int32, n int) []rec {
	t.Helper()
	var recs []*kgo.Record
	var want []rec
	for _, p := range parts {
		for i := range n {
			v := fmt.Sprintf("%s/%d:%d", topic, p, i)
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v)})
			want = append(want, rec{fmt.Sprintf("%s/%d", topic, p), int64(i), v})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := kafkatest.ProduceTo(ctx, b.Addrs(), recs...); err != nil {
		t.Fatal(err)
	}
	return want
}

// TestSourceTopics reads several topics by name and by regular expression.
func TestSourceTopics(t *testing.T) {
	b := kafkatest.Start(t)
	a, bb, other := b.Topic(t, "rx-a", 2), b.Topic(t, "rx-b", 1), b.Topic(t, "rx-other", 1)
	wa, wb := produce(t, b, a, 2, 0, 3), produce(t, b, bb, 1, 0, 4)
	produce(t, b, other, 1, 0, 5)
	// On a real cluster the topics' names have a random suffix.
	suffix := `(-[0-9a-f]{8})?`
	for _, tc := range []struct {
		name   string
		topics []string
		opts   []kafka.SourceOption
		want   []rec
	}{
		{"names", []string{a, bb}, nil, slices.Concat(wa, wb)},
		{"one name", []string{bb}, nil, wb},
		{"a name twice", []string{bb, a, bb}, nil, slices.Concat(wa, wb)},
		{"regex", []string{`rx-[ab]` + suffix}, []kafka.SourceOption{kafka.TopicRegex()}, slices.Concat(wa, wb)},
		{"regexes", []string{`rx-a` + suffix, `rx-b` + suffix}, []kafka.SourceOption{kafka.TopicRegex()}, slices.Concat(wa, wb)},
		{"regex matches whole names", []string{`rx-` + suffix, `x-b` + suffix, `rx`, `rx-oth`}, []kafka.SourceOption{kafka.TopicRegex()}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := kafka.NewSource(b.Addrs(), tc.topics, tc.opts...)
			if tc.want == nil {
				_, err := src.Partitions(context.Background())
				if !errors.Is(err, kafka.ErrUnknownTopic) {
					t.Fatalf("partitions: %v, want ErrUnknownTopic", err)
				}
				return
			}
			if got := readAll(t, src, 2); !slices.Equal(got, sorted(tc.want)) {
				t.Fatalf("read %v, want %v", got, sorted(tc.want))
			}
		})
	}
}

// TestSourceMissingTopic checks that a topic the brokers do not know fails the run with
// an error naming it.
func TestSourceMissingTopic(t *testing.T) {
	b := kafkatest.Start(t)
	there := b.Topic(t, "there", 1)
	for _, tc := range []struct {
		name   string
		topics []string
		regex  bool
		named  string
	}{
		{"missing", []string{"weir-no-such-topic"}, false, `"weir-no-such-topic"`},
		{"one of two missing", []string{there, "weir-no-such-topic"}, false, `"weir-no-such-topic"`},
		{"regex matches none", []string{"weir-no-such-.*"}, true, `weir-no-such-.*`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var opts []kafka.SourceOption
			if tc.regex {
				opts = append(opts, kafka.TopicRegex())
			}
			flow := weir.NewDataflow("flow")
			op.Output("out", op.Input("in", flow, kafka.NewSource(b.Addrs(), tc.topics, opts...)), weirtest.NewSink[kafka.Message]())
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := run.Run(ctx, flow, logTo(t))
			if !errors.Is(err, kafka.ErrUnknownTopic) || !strings.Contains(err.Error(), tc.named) {
				t.Fatalf("run: %v, want ErrUnknownTopic naming %s", err, tc.named)
			}
		})
	}
}

// TestSourceSASL reads from a broker that wants SASL, with each mechanism it offers, and
// fails (without hanging) with a wrong password.
func TestSourceSASL(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(),
		kfake.Superuser("PLAIN", "plain", "secret"),
		kfake.Superuser("SCRAM-SHA-256", "scram256", "secret256"),
		kfake.Superuser("SCRAM-SHA-512", "scram512", "secret512"),
		kfake.SeedTopics(2, "secure"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	auth := plain.Auth{User: "plain", Pass: "secret"}.AsMechanism()
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.SASL(auth), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	var want []rec
	for i := range 6 {
		p := int32(i % 2)
		v := fmt.Sprint(i)
		if err := pr.ProduceSync(context.Background(), &kgo.Record{Topic: "secure", Partition: p, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		want = append(want, rec{fmt.Sprintf("secure/%d", p), int64(i / 2), v})
	}
	pr.Close()
	for _, tc := range []struct {
		name string
		opt  kafka.Option
		ok   bool
	}{
		{"plain", kafka.SASLPlain("plain", "secret"), true},
		{"scram-sha-256", kafka.SASLScram256("scram256", "secret256"), true},
		{"scram-sha-512", kafka.SASLScram512("scram512", "secret512"), true},
		{"wrong password", kafka.SASLPlain("plain", "wrong"), false},
		{"none", kafka.ClientID("anonymous"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := kafka.NewSource(c.ListenAddrs(), []string{"secure"}, tc.opt)
			if tc.ok {
				if got := readAll(t, src, 2); !slices.Equal(got, sorted(want)) {
					t.Fatalf("read %v, want %v", got, sorted(want))
				}
				return
			}
			flow := weir.NewDataflow("flow")
			op.Output("out", op.Input("in", flow, src), weirtest.NewSink[kafka.Message]())
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := run.Run(ctx, flow, logTo(t)); err == nil || ctx.Err() != nil {
				t.Fatalf("run: %v, want an authentication error before the deadline", err)
			} else {
				t.Logf("run: %v", err)
			}
		})
	}
}

// txn produces vals to partition 0 of topic in a transaction of its own producer, and
// commits or aborts it, or leaves it open (returning the producer, for the caller to end).
func txn(t *testing.T, b *kafkatest.Broker, id, topic string, end, commit bool, vals ...string) *kgo.Client {
	t.Helper()
	cl, err := b.Client(kgo.TransactionalID(id), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for _, v := range vals {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte(v)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if !end {
		return cl
	}
	if err := cl.EndTransaction(ctx, kgo.TransactionEndTry(commit)); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	return nil
}

// TestSourceIsolation reads transactions committed, aborted and still open: by default
// only the committed ones, and a bounded run ends at the open one (the last stable
// offset) rather than waiting for it; with ReadUncommitted, every record.
func TestSourceIsolation(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "txn", 1)
	txn(t, b, "t1", topic, true, true, "c1", "c2")
	txn(t, b, "t2", topic, true, false, "a1", "a2", "a3")
	if err := kafkatest.ProduceTo(context.Background(), b.Addrs(), &kgo.Record{Topic: topic, Value: []byte("plain")}); err != nil {
		t.Fatal(err)
	}
	txn(t, b, "t3", topic, true, true, "c3")
	open := txn(t, b, "t4", topic, false, false, "o1")
	defer func() {
		open.EndTransaction(context.Background(), kgo.TryAbort)
		open.Close()
	}()
	values := func(rs []rec) []string {
		var vs []string
		for _, r := range rs {
			vs = append(vs, r.Value)
		}
		return vs
	}
	for _, tc := range []struct {
		name string
		opts []kafka.SourceOption
		want []string
	}{
		{"read_committed", nil, []string{"c1", "c2", "plain", "c3"}},
		{"read_uncommitted", []kafka.SourceOption{kafka.ReadUncommitted()}, []string{"c1", "c2", "a1", "a2", "a3", "plain", "c3", "o1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, batch := range []int{1, 2, 100} {
				src := kafka.NewSource(b.Addrs(), []string{topic}, append(tc.opts, kafka.BatchSize(batch))...)
				if got := values(readAll(t, src, 1)); !slices.Equal(got, tc.want) {
					t.Fatalf("batches of %d: read %q, want %q", batch, got, tc.want)
				}
			}
		})
	}
}

// TestSourceLag reads partitions by hand and checks their lag as they go, through
// source.Lagger, Source.Lag and the log.
func TestSourceLag(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "lag", 2)
	produce(t, b, topic, 2, 0, 30)
	var logs syncBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	src := kafka.NewSource(b.Addrs(), []string{topic}, kafka.Tail(), kafka.BatchSize(10),
		kafka.Logger(logger), kafka.LagLogInterval(time.Millisecond))
	ctx := context.Background()
	var parts []source.Partition[kafka.Message]
	for p := range 2 {
		part, err := src.Build(ctx, source.Part{Step: "flow.in", Partition: fmt.Sprintf("%s/%d", topic, p), Workers: 1}, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer part.Close()
		parts = append(parts, part)
	}
	lag := func(i int) int64 {
		t.Helper()
		n, ok := parts[i].(source.Lagger).Lag()
		if !ok {
			t.Fatalf("partition %d does not know its lag", i)
		}
		return n
	}
	if _, ok := parts[0].(source.Lagger).Lag(); ok {
		t.Fatal("a partition knows its lag before it reads")
	}
	// next reads a batch of partition i, waiting for the client's fetch.
	next := func(i int) []kafka.Message {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			ms, err := parts[i].Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) > 0 {
				return ms
			}
			time.Sleep(time.Until(parts[i].(source.Awaker).NextAwake()))
		}
		t.Fatal("no records")
		return nil
	}
	if n := len(next(0)); n != 10 {
		t.Fatalf("first batch of %d", n)
	}
	if lag(0) != 20 || lag(1) != 30 {
		t.Fatalf("lags %d and %d after a batch of partition 0, want 20 and 30", lag(0), lag(1))
	}
	next(0)
	next(1)
	if want := map[string]int64{topic + "/0": 10, topic + "/1": 20}; !maps.Equal(src.Lag(), want) {
		t.Fatalf("Source.Lag %v, want %v", src.Lag(), want)
	}
	produce(t, b, topic, 1, 30, 5)
	if n := len(next(0)) + len(next(0)); n != 15 {
		t.Fatalf("read %d records of the last 15", n)
	}
	if lag(0) != 0 {
		t.Fatalf("lag %d after reading every record", lag(0))
	}
	want := fmt.Sprintf("msg=\"weir: kafka: lag\" step=flow.in worker=0 %s/0=", topic)
	if !strings.Contains(logs.String(), want) {
		t.Fatalf("the log has no %q:\n%s", want, logs.String())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var discardLogger = slog.New(slog.DiscardHandler)

// TestSourceIdleWaits checks that a partition with nothing to read asks to be polled
// later, and later each time up to MaxPollWait, rather than at once, and that records
// reset the wait.
func TestSourceIdleWaits(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "idle", 1)
	src := kafka.NewSource(b.Addrs(), []string{topic}, kafka.Tail(), kafka.MaxPollWait(2*time.Millisecond))
	ctx := context.Background()
	part, err := src.Build(ctx, source.Part{Step: "flow.in", Partition: topic + "/0", Workers: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer part.Close()
	want := []time.Duration{100 * time.Microsecond, 200 * time.Microsecond, 400 * time.Microsecond, 800 * time.Microsecond,
		1600 * time.Microsecond, 2 * time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond}
	for i, w := range want {
		before := time.Now()
		ms, err := part.Next(ctx)
		after := time.Now()
		if err != nil || len(ms) > 0 {
			t.Fatalf("Next on an empty partition: %d messages, %v", len(ms), err)
		}
		// Next reads the clock between before and after.
		if at := part.(source.Awaker).NextAwake(); at.Before(before.Add(w)) || at.After(after.Add(w)) {
			t.Fatalf("empty batch %d: NextAwake in %v, want %v", i, at.Sub(before), w)
		}
	}
	produce(t, b, topic, 1, 0, 3)
	deadline := time.Now().Add(10 * time.Second)
	for {
		ms, err := part.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no records")
		}
		time.Sleep(time.Until(part.(source.Awaker).NextAwake()))
	}
	if at := part.(source.Awaker).NextAwake(); !at.IsZero() {
		t.Fatalf("NextAwake %v after a batch, want at once", at)
	}
}

// TestSourceCorruptPosition checks that a position that is not an offset fails Build,
// and that an empty one is a fresh start.
func TestSourceCorruptPosition(t *testing.T) {
	src := kafka.NewSource([]string{"127.0.0.1:1"}, []string{"t"})
	if part, err := src.Build(context.Background(), source.Part{Step: "f.in", Partition: "t/0", Workers: 1}, []byte{}); err != nil {
		t.Errorf("an empty position: %v", err)
	} else {
		part.Close()
	}
	for _, tc := range []struct {
		name, part string
		resume     []byte
	}{
		{"not a varint", "t/0", []byte{0xff}},
		{"trailing bytes", "t/0", []byte{1, 2}},
		{"no partition number", "t", nil},
		{"bad partition number", "t/x", nil},
	} {
		if _, err := src.Build(context.Background(), source.Part{Step: "f.in", Partition: tc.part, Workers: 1}, tc.resume); err == nil {
			t.Errorf("%s: Build succeeded", tc.name)
		}
	}
}

// TestSourceRetention resumes a partition whose position retention deleted (here
// DeleteRecords): the run reads from the first record still held, and says in the log
// that records were lost.
func TestSourceRetention(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "retention", 1)
	produce(t, b, topic, 1, 0, 10)
	var logs syncBuffer
	src := kafka.NewSource(b.Addrs(), []string{topic}, kafka.Logger(slog.New(slog.NewTextHandler(&logs, nil))))
	rec := weirtest.NewRecovery(t, 1)
	if got := readAll(t, src, 1, rec.Options(1, logTo(t))...); len(got) != 10 {
		t.Fatalf("first run read %d records", len(got))
	}
	more := produce(t, b, topic, 1, 10, 10)
	cl, err := b.Client()
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var del kadm.Offsets
	del.Add(kadm.Offset{Topic: topic, Partition: 0, At: 15})
	if res, err := kadm.NewClient(cl).DeleteRecords(context.Background(), del); err != nil || res.Error() != nil {
		t.Fatalf("delete records: %v %v", err, res.Error())
	}
	if got := readAll(t, src, 1, rec.Options(1, logTo(t))...); !slices.Equal(got, more[5:]) {
		t.Fatalf("resumed run read %v, want %v", got, more[5:])
	}
	if want := fmt.Sprintf("records lost: the partition's position is below its first record\" partition=%s/0 position=10 first=15", topic); !strings.Contains(logs.String(), want) {
		t.Fatalf("the log has no %q:\n%s", want, logs.String())
	}
}

// TestSourceTLS reads from a broker that speaks TLS only, trusting its certificate, and
// fails to with the system's roots, which do not hold it.
func TestSourceTLS(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "broker"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "secure"),
		kfake.TLS(&tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	trusted := &tls.Config{RootCAs: roots}
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DialTLSConfig(trusted))
	if err != nil {
		t.Fatal(err)
	}
	err = pr.ProduceSync(context.Background(), &kgo.Record{Topic: "secure", Value: []byte("sealed")}).FirstErr()
	pr.Close()
	if err != nil {
		t.Fatal(err)
	}
	got := readAll(t, kafka.NewSource(c.ListenAddrs(), []string{"secure"}, kafka.TLS(trusted)), 1)
	if want := []rec{{"secure/0", 0, "sealed"}}; !slices.Equal(got, want) {
		t.Fatalf("read %v, want %v", got, want)
	}
	flow := weir.NewDataflow("flow")
	op.Output("out", op.Input("in", flow, kafka.NewSource(c.ListenAddrs(), []string{"secure"}, kafka.TLS(nil))), weirtest.NewSink[kafka.Message]())
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var unknown x509.UnknownAuthorityError
	if err := run.Run(ctx, flow, logTo(t)); !errors.As(err, &unknown) {
		t.Fatalf("run trusting the system's roots: %v, want x509.UnknownAuthorityError", err)
	}
}
