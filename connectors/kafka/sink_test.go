package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// intText encodes an int as its decimal text.
type intText struct{}

func (intText) AppendEncode(b []byte, v int) ([]byte, error) {
	return strconv.AppendInt(b, int64(v), 10), nil
}

func read(t *testing.T, b *kafkatest.Broker, topic string, committed bool) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	f := kafkatest.ReadAll
	if committed {
		f = kafkatest.ReadCommitted
	}
	recs, err := f(ctx, b.Addrs(), topic)
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// values returns the records as "key=value" (or "value" without a key), sorted.
func values(recs []*kgo.Record) []string {
	var out []string
	for _, r := range recs {
		if r.Key != nil {
			out = append(out, string(r.Key)+"="+string(r.Value))
		} else {
			out = append(out, string(r.Value))
		}
	}
	slices.Sort(out)
	return out
}

func TestSinkAtLeastOnce(t *testing.T) {
	const n = 300
	tests := []struct {
		name     string
		workers  int
		recovery bool
		keyed    bool
		perItem  bool // each Message names its topic; the sink has none
	}{
		{"messages, fixed topic", 1, false, false, false},
		{"messages, topic per item", 1, false, false, true},
		{"messages, recovery", 1, true, false, false},
		{"kv, 3 workers", 3, false, true, false},
		{"kv, 3 workers, recovery", 3, true, true, false},
	}
	b := kafkatest.Start(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := b.Topic(t, fmt.Sprintf("alo-%d", i), 4)
			flow := weir.NewDataflow("alo")
			var want []string
			if tt.keyed {
				var items []weir.KV[int]
				for j := range n {
					items = append(items, weir.KV[int]{Key: "k" + strconv.Itoa(j%13), Value: j})
					want = append(want, fmt.Sprintf("k%d=%d", j%13, j))
				}
				in := op.Input("in", flow, weirtest.NewSource(items...).BatchSize(7))
				op.Output("out", in, kafka.NewKVSink[int](b.Addrs(), intText{}, kafka.SinkTopic(topic)))
			} else {
				var items []kafka.Message
				for j := range n {
					m := kafka.Message{Value: []byte(strconv.Itoa(j)), Headers: []kafka.Header{{Key: "h", Value: []byte("v")}}}
					var opts []kafka.SinkOption
					if tt.perItem {
						m.Topic = topic
					} else {
						opts = append(opts, kafka.SinkTopic(topic))
					}
					items = append(items, m)
					want = append(want, strconv.Itoa(j))
					if j == n-1 {
						in := op.Input("in", flow, weirtest.NewSource(items...).BatchSize(7))
						op.Output("out", in, kafka.NewSink(b.Addrs(), opts...))
					}
				}
			}
			if tt.recovery {
				weirtest.NewRecovery(t, 2).Run(t, flow, tt.workers)
			} else {
				weirtest.Run(t, flow, tt.workers)
			}
			recs := read(t, b, topic, true)
			if got := values(recs); !slices.Equal(got, sortedCopy(want)) {
				t.Fatalf("topic holds %d records, want %d: %v", len(got), len(want), diff(got, sortedCopy(want)))
			}
			if !tt.keyed && (len(recs[0].Headers) != 1 || recs[0].Headers[0].Key != "h") {
				t.Fatalf("headers %v, want h=v", recs[0].Headers)
			}
		})
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// diff says what a sorted list has that another lacks, and the other way round, briefly.
func diff(got, want []string) string {
	count := map[string]int{}
	for _, s := range got {
		count[s]++
	}
	for _, s := range want {
		count[s]--
	}
	var extra, missing []string
	for s, c := range count {
		for ; c > 0; c-- {
			extra = append(extra, s)
		}
		for ; c < 0; c++ {
			missing = append(missing, s)
		}
	}
	slices.Sort(extra)
	slices.Sort(missing)
	return fmt.Sprintf("extra %v, missing %v", head(extra), head(missing))
}

func head(s []string) []string { return s[:min(len(s), 10)] }

// TestSinkPartitions checks the default number of weir partitions: the fixed topic's
// partition count, 1 without a fixed topic, and a clear error for a missing topic.
func TestSinkPartitions(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "parts", 5)
	ctx := context.Background()
	tests := []struct {
		name string
		opts []kafka.SinkOption
		want int
		err  error
	}{
		{"topic's count", []kafka.SinkOption{kafka.SinkTopic(topic)}, 5, nil},
		{"no topic", nil, 1, nil},
		{"option", []kafka.SinkOption{kafka.SinkTopic(topic), kafka.SinkPartitions(3)}, 3, nil},
		{"missing topic", []kafka.SinkOption{kafka.SinkTopic("missing")}, 0, kerr.UnknownTopicOrPartition},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			names, err := kafka.NewSink(b.Addrs(), tt.opts...).Partitions(ctx)
			if tt.err != nil {
				if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), `"missing"`) {
					t.Fatalf("error %v, want %v naming the topic", err, tt.err)
				}
				return
			}
			if err != nil || len(names) != tt.want || names[len(names)-1] != strconv.Itoa(tt.want-1) {
				t.Fatalf("partitions %v, %v; want %d", names, err, tt.want)
			}
		})
	}
}

// TestSinkProduceError: a record the broker refuses fails the run with a *ProduceError
// naming the topic and partition, before its epoch commits, and the run resumes from the
// epoch before once the cause is gone.
func TestSinkProduceError(t *testing.T) {
	b := kafkatest.Start(t)
	if b.Real() {
		t.Skip("kafkatest: the refusals are the test broker's (no automatic topic creation, its record size limit)")
	}
	ctx := context.Background()
	tests := []struct {
		name string
		eos  bool
	}{
		{"at-least-once", false},
		{"exactly-once", true},
	}
	for i, tt := range tests {
		t.Run(tt.name+", missing topic", func(t *testing.T) {
			topic := fmt.Sprintf("later-%d", i)
			opts := []kafka.SinkOption{kafka.SinkTopic(topic), kafka.SinkPartitions(1),
				kafka.ClientOpts(kgo.UnknownTopicRetries(0))}
			if tt.eos {
				opts = append(opts, kafka.ExactlyOnce())
			}
			var items []kafka.Message
			for j := range 20 {
				items = append(items, kafka.Message{Value: []byte(strconv.Itoa(j))})
			}
			flow := weir.NewDataflow("missing")
			op.Output("out", op.Input("in", flow, weirtest.NewSource(items...).BatchSize(5)), kafka.NewSink(b.Addrs(), opts...))
			rec := weirtest.NewRecovery(t, 1)
			err := run.Run(ctx, flow, rec.Options(1)...)
			var pe *kafka.ProduceError
			if !errors.As(err, &pe) || pe.Topic != topic || !errors.Is(err, kerr.UnknownTopicOrPartition) {
				t.Fatalf("run error %v, want a *ProduceError of topic %s, unknown topic", err, topic)
			}
			if pan := (*weir.PanicError)(nil); errors.As(err, &pan) {
				t.Fatalf("a refused record fails the run with a panic: %v", err)
			}
			t.Log(err)
			b.Topic(t, topic, 1)
			rec.Run(t, flow, 1)
			got := values(read(t, b, topic, true))
			if len(got) != 20 {
				t.Fatalf("after the resume the topic holds %d records, want 20: %v", len(got), got)
			}
		})
	}
	t.Run("record too large", func(t *testing.T) {
		topic := b.Topic(t, "large", 2)
		big := make([]byte, 2<<20)
		flow := weir.NewDataflow("large")
		src := weirtest.NewSource(kafka.Message{Value: []byte("a")}, kafka.Message{Value: big})
		op.Output("out", op.Input("in", flow, src), kafka.NewSink(b.Addrs(), kafka.SinkTopic(topic)))
		err := run.Run(ctx, flow, weirtest.NewRecovery(t, 1).Options(1)...)
		var pe *kafka.ProduceError
		if !errors.As(err, &pe) || pe.Topic != topic || !errors.Is(err, kerr.MessageTooLarge) {
			t.Fatalf("run error %v, want a *ProduceError of topic %s, record too large", err, topic)
		}
		t.Log(err)
	})
}

// eosFlow is a keyed running sum written exactly once: items 0 to n-1 under keys k0 to
// k6, with Abort markers after the items at aborts, and a step that fails once at each
// of fails.
func eosFlow(addrs []string, topic string, n int, aborts, fails []int) *weir.Dataflow {
	src := weirtest.NewSource[int]().BatchSize(4)
	for i := range n {
		src.Then(i)
		if slices.Contains(aborts, i) {
			src.Abort()
		}
	}
	failed := make([]atomic.Bool, n)
	flow := weir.NewDataflow("eos")
	in := op.Input("in", flow, src)
	in = op.Map("maybe_fail", in, func(i int) int {
		if slices.Contains(fails, i) && !failed[i].Swap(true) {
			panic(fmt.Sprintf("failing once at %d", i))
		}
		return i
	})
	keyed := op.KeyOn("key", in, func(i int) string { return "k" + strconv.Itoa(i%7) })
	sums := op.StatefulMap("sum", keyed, func(st *op.State[int], v int) int {
		s, _ := st.Get()
		st.Set(s + v)
		return s + v
	})
	op.Output("out", sums, kafka.NewKVSink[int](addrs, intText{}, kafka.SinkTopic(topic), kafka.ExactlyOnce()))
	return flow
}

// eosWant is eosFlow's output without faults.
func eosWant(n int) []string {
	var want []string
	sums := map[int]int{}
	for i := range n {
		sums[i%7] += i
		want = append(want, fmt.Sprintf("k%d=%d", i%7, sums[i%7]))
	}
	slices.Sort(want)
	return want
}

func TestSinkExactlyOnce(t *testing.T) {
	const n = 240
	b := kafkatest.Start(t)
	seeds := []uint64{1, 2, 3}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, workers := range []int{1, 3} {
		for _, seed := range seeds {
			t.Run(fmt.Sprintf("workers=%d/seed=%d", workers, seed), func(t *testing.T) {
				r := rand.New(rand.NewPCG(seed, uint64(workers)))
				var aborts, fails []int
				for range 4 {
					aborts = append(aborts, r.IntN(n))
				}
				for range 2 {
					fails = append(fails, r.IntN(n))
				}
				t.Logf("aborts after %v, failing at %v", aborts, fails)
				topic := b.Topic(t, fmt.Sprintf("eos-%d-%d", workers, seed), 3)
				flow := eosFlow(b.Addrs(), topic, n, aborts, fails)
				rec := weirtest.NewRecovery(t, 2)
				failures := 0
				for range len(aborts) + len(fails) + 1 {
					if err := run.Run(context.Background(), flow, rec.Options(workers)...); err != nil {
						var pe *weir.PanicError
						if !errors.As(err, &pe) {
							t.Fatal(err)
						}
						failures++
					}
				}
				if failures != len(fails) {
					t.Fatalf("%d runs failed, want %d", failures, len(fails))
				}
				got := read(t, b, topic, true)
				if vs := values(got); !slices.Equal(vs, eosWant(n)) {
					t.Fatalf("read_committed sees %d records, want %d: %s", len(vs), n, diff(vs, eosWant(n)))
				}
				// Each key's sums are in order: one producer, one partition per key.
				last := map[string]int{}
				for _, r := range got {
					v, _ := strconv.Atoi(string(r.Value))
					if v < last[string(r.Key)] {
						t.Fatalf("key %s: %d after %d", r.Key, v, last[string(r.Key)])
					}
					last[string(r.Key)] = v
				}
				all := len(read(t, b, topic, false))
				t.Logf("%d records committed, %d written in all (aborted ones included)", len(got), all)
			})
		}
	}
}

// part builds partition "0" of an exactly-once sink of step flow.out directly, as a run
// would, resuming from resume.
func part(t *testing.T, s *kafka.Sink[kafka.Message], resume []byte) (sink.Partition[kafka.Message], sink.Committer) {
	t.Helper()
	p, err := s.Build(context.Background(), sink.Part{Step: "flow.out", Partition: "0", Workers: 1}, resume)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := p.(sink.Committer)
	if !ok {
		t.Fatal("an exactly-once partition is not a sink.Committer")
	}
	return p, c
}

func msgs(prefix string, n int) []kafka.Message {
	var out []kafka.Message
	for i := range n {
		out = append(out, kafka.Message{Value: fmt.Appendf(nil, "%s%d", prefix, i)})
	}
	return out
}

// TestSinkTwoPhase drives a partition as the engine does, and crashes it between the
// phases: a resume commits what the snapshot prepared, and aborts what came after.
func TestSinkTwoPhase(t *testing.T) {
	b := kafkatest.Start(t)
	tests := []struct {
		name string
		// run writes to p and returns the snapshot a crash resumes from.
		run  func(t *testing.T, p sink.Partition[kafka.Message], c sink.Committer) []byte
		want []string
	}{
		{"phase two missed", func(t *testing.T, p sink.Partition[kafka.Message], c sink.Committer) []byte {
			mustWrite(t, p, msgs("a", 3))
			snap := mustPrepare(t, c, 1) // durable in the store, and then the crash
			return snap
		}, []string{"a0", "a1", "a2"}},
		{"two epochs prepared, one committed", func(t *testing.T, p sink.Partition[kafka.Message], c sink.Committer) []byte {
			mustWrite(t, p, msgs("a", 2))
			mustPrepare(t, c, 1)
			mustWrite(t, p, msgs("b", 2))
			snap := mustPrepare(t, c, 2)
			if err := c.Commit(1); err != nil {
				t.Fatal(err)
			}
			return snap
		}, []string{"a0", "a1", "b0", "b1"}},
		{"committed, then an uncommitted epoch", func(t *testing.T, p sink.Partition[kafka.Message], c sink.Committer) []byte {
			mustWrite(t, p, msgs("a", 2))
			snap := mustPrepare(t, c, 1)
			if err := c.Commit(1); err != nil {
				t.Fatal(err)
			}
			mustWrite(t, p, msgs("b", 2))
			mustPrepare(t, c, 2) // never committed in the store
			mustWrite(t, p, msgs("c", 2))
			return snap
		}, []string{"a0", "a1"}},
		{"ten epochs ahead of the store", func(t *testing.T, p sink.Partition[kafka.Message], c sink.Committer) []byte {
			// Writes never wait for a commit: each epoch gets a transactional id of its
			// own, and the resume fences those added after its snapshot too.
			var snap []byte
			for e := range 10 {
				mustWrite(t, p, msgs(fmt.Sprintf("e%d-", e), 1))
				if s := mustPrepare(t, c, uint64(e+1)); e == 4 {
					snap = s
				}
			}
			return snap
		}, []string{"e0-0", "e1-0", "e2-0", "e3-0", "e4-0"}},
		{"nothing committed", func(t *testing.T, p sink.Partition[kafka.Message], c sink.Committer) []byte {
			mustWrite(t, p, msgs("a", 2))
			mustPrepare(t, c, 1)
			return nil
		}, nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			topic := b.Topic(t, fmt.Sprintf("twophase-%d", i), 1)
			// A prefix of the test's own: the steps of the cases are the same.
			s := kafka.NewSink(b.Addrs(), kafka.SinkTopic(topic), kafka.ExactlyOnce(kafka.TransactionalIDPrefix(topic)))
			p, c := part(t, s, nil)
			snap := tt.run(t, p, c)
			// The crash: p is dropped, its transactions neither committed nor aborted.
			if n := len(read(t, b, topic, true)); n > 0 && tt.name == "phase two missed" {
				t.Fatalf("%d records visible before the commit", n)
			}
			p2, c2 := part(t, s, snap)
			defer p2.Close()
			mustWrite(t, p2, []kafka.Message{{Value: []byte("z")}})
			mustPrepare(t, c2, 9)
			if err := c2.Commit(9); err != nil {
				t.Fatal(err)
			}
			want := sortedCopy(append(slices.Clone(tt.want), "z"))
			if got := values(read(t, b, topic, true)); !slices.Equal(got, want) {
				t.Fatalf("read_committed sees %v, want %v", got, want)
			}
			p.Close()
		})
	}
}

func mustWrite(t *testing.T, p sink.Partition[kafka.Message], m []kafka.Message) {
	t.Helper()
	if err := p.Write(m); err != nil {
		t.Fatal(err)
	}
}

func mustPrepare(t *testing.T, c sink.Committer, epoch uint64) []byte {
	t.Helper()
	snap, err := c.Prepare(epoch)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// TestSinkLostTransaction: a run down longer than the transaction timeout between an
// epoch's close and its commit lost the epoch's output; the resume says so, naming the
// partition and the epoch, unless told to go on.
func TestSinkLostTransaction(t *testing.T) {
	b := kafkatest.Start(t)
	if b.Real() {
		t.Skip("kafkatest: waiting out a real broker's transaction timeout is too slow for a test")
	}
	topic := b.Topic(t, "lost", 1)
	opts := []kafka.TxnOption{kafka.TransactionTimeout(100 * time.Millisecond)}
	s := kafka.NewSink(b.Addrs(), kafka.SinkTopic(topic), kafka.ExactlyOnce(opts...))
	p, c := part(t, s, nil)
	defer p.Close()
	mustWrite(t, p, msgs("a", 2))
	snap := mustPrepare(t, c, 7)
	time.Sleep(300 * time.Millisecond)
	read(t, b, topic, true) // the test broker aborts expired transactions as it handles a request
	_, err := s.Build(context.Background(), sink.Part{Step: "flow.out", Partition: "0"}, snap)
	var lost *kafka.LostTransactionError
	if !errors.As(err, &lost) || !errors.Is(err, kafka.ErrTransactionLost) || lost.Epoch != 7 || lost.Partition != "0" || lost.Step != "flow.out" {
		t.Fatalf("resume error %v, want a *LostTransactionError of flow.out partition 0 epoch 7", err)
	}
	t.Log(err)
	s = kafka.NewSink(b.Addrs(), kafka.SinkTopic(topic), kafka.ExactlyOnce(append(opts, kafka.IgnoreLostTransactions())...))
	p2, _ := part(t, s, snap)
	p2.Close()
}

// TestSinkFenced: two runs of one flow against one cluster share transactional ids; the
// second fences the first, which stops rather than mixing its output with the other's.
func TestSinkFenced(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "fenced", 1)
	s := kafka.NewSink(b.Addrs(), kafka.SinkTopic(topic), kafka.ExactlyOnce(kafka.TransactionalIDPrefix(topic)))
	p1, c1 := part(t, s, nil)
	defer p1.Close()
	mustWrite(t, p1, msgs("a", 2))
	mustPrepare(t, c1, 1)
	p2, _ := part(t, s, nil) // the other run starts
	defer p2.Close()
	err := c1.Commit(1)
	if !errors.Is(err, kafka.ErrFenced) {
		t.Fatalf("commit after another run took the ids: %v, want ErrFenced", err)
	}
	t.Log(err)
	if got := read(t, b, topic, true); len(got) != 0 {
		t.Fatalf("%d records of the fenced run visible", len(got))
	}
}

// TestSinkExactlyOnceNoStore: without a recovery store each epoch commits at its close.
func TestSinkExactlyOnceNoStore(t *testing.T) {
	b := kafkatest.Start(t)
	topic := b.Topic(t, "nostore", 2)
	flow := weir.NewDataflow("nostore")
	in := op.Input("in", flow, weirtest.NewSource(msgs("m", 50)...).BatchSize(6))
	op.Output("out", in, kafka.NewSink(b.Addrs(), kafka.SinkTopic(topic), kafka.ExactlyOnce(kafka.TransactionalIDPrefix(topic))))
	weirtest.Run(t, flow, 2)
	if got := values(read(t, b, topic, true)); len(got) != 50 {
		t.Fatalf("read_committed sees %d records, want 50", len(got))
	}
}
