package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// BenchmarkSink times the sink alone, a partition driven as the engine drives it
// (batches of 500 records of 100 bytes, an epoch of 10,000), against franz-go's own
// producer moving the same records in the same epochs (flushed, or in a transaction
// committed, at each), through the in-process broker, which shares the machine.
// Records/s is the figure to compare; records per CPU-second of the whole process
// (broker included) is steadier on a shared machine.
func BenchmarkSink(b *testing.B) {
	const batch, epoch = 500, 10_000
	items := make([]kafka.Message, batch)
	for i := range items {
		items[i] = kafka.Message{Key: fmt.Appendf(nil, "key-%d", i), Value: make([]byte, 100)}
	}
	for _, eos := range []bool{false, true} {
		mode := "at-least-once"
		if eos {
			mode = "exactly-once"
		}
		b.Run("weir/"+mode, func(b *testing.B) {
			br := kafkatest.Start(b)
			topic := br.Topic(b, "bench-weir", 4)
			opts := []kafka.SinkOption{kafka.SinkTopic(topic), kafka.SinkPartitions(1)}
			if eos {
				opts = append(opts, kafka.ExactlyOnce(kafka.TransactionalIDPrefix(topic)))
			}
			p, err := kafka.NewSink(br.Addrs(), opts...).Build(context.Background(), sink.Part{Step: "bench.out", Partition: "0"}, nil)
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close()
			c, _ := p.(sink.Committer)
			e := uint64(0)
			close := func() {
				e++
				if c == nil {
					p.Snapshot()
					return
				}
				if _, err := c.Prepare(e); err != nil {
					b.Fatal(err)
				}
				if err := c.Commit(e); err != nil {
					b.Fatal(err)
				}
			}
			cpu := processCPU()
			b.ResetTimer()
			for n := 0; n < b.N; {
				k := min(batch, b.N-n)
				if err := p.Write(items[:k]); err != nil {
					b.Fatal(err)
				}
				if n/epoch != (n+k)/epoch {
					close()
				}
				n += k
			}
			close()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.N)/(processCPU()-cpu).Seconds(), "records/cpu-s")
		})
		b.Run("franz-go/"+mode, func(b *testing.B) {
			br := kafkatest.Start(b)
			topic := br.Topic(b, "bench-franz", 4)
			opts := []kgo.Opt{kgo.DefaultProduceTopic(topic)}
			if eos {
				opts = append(opts, kgo.TransactionalID(topic+"-plain"))
			}
			cl, err := br.Client(opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			ctx := context.Background()
			var first error
			promise := func(_ *kgo.Record, err error) {
				if err != nil && first == nil {
					first = err
				}
			}
			begin := func() {
				if eos {
					if err := cl.BeginTransaction(); err != nil {
						b.Fatal(err)
					}
				}
			}
			end := func() {
				if err := cl.Flush(ctx); err != nil || first != nil {
					b.Fatal(err, first)
				}
				if eos {
					if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
						b.Fatal(err)
					}
				}
			}
			cpu := processCPU()
			b.ResetTimer()
			begin()
			for n := 0; n < b.N; {
				k := min(batch, b.N-n)
				// What a sink must do too: a record per item, each its own.
				recs := make([]kgo.Record, k)
				for i := range recs {
					m := &items[i]
					recs[i] = kgo.Record{Key: m.Key, Value: m.Value}
					cl.Produce(ctx, &recs[i], promise)
				}
				if n/epoch != (n+k)/epoch {
					end()
					begin()
				}
				n += k
			}
			end()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64(b.N)/(processCPU()-cpu).Seconds(), "records/cpu-s")
		})
	}
}

// processCPU is the CPU time the process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSinkPartitions times a run writing a keyed stream through 2 workers to a
// topic of 4 partitions, with 1, 2 and 4 weir partitions (producers): what the number
// of producers buys once the stream is spread by key.
func BenchmarkSinkPartitions(b *testing.B) {
	items := make([]weir.KV[[]byte], 50_000)
	for i := range items {
		items[i] = weir.KV[[]byte]{Key: "key-" + strconv.Itoa(i%1000), Value: make([]byte, 100)}
	}
	br := kafkatest.Start(b)
	runs := 0
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("producers=%d", n), func(b *testing.B) {
			runs++ // b.Run calls this more than once
			topic := br.Topic(b, fmt.Sprintf("bench-parts-%d", runs), 4)
			cpu := processCPU()
			b.ResetTimer()
			for range b.N {
				flow := weir.NewDataflow("bench")
				in := op.Input("in", flow, weirtest.NewSource(items...).BatchSize(500))
				op.Output("out", op.Redistribute("spread", in), kafka.NewKVSink[[]byte](br.Addrs(), rawBytes{},
					kafka.SinkTopic(topic), kafka.SinkPartitions(n)))
				if err := run.Run(context.Background(), flow, run.Workers(2), run.Logger(slog.New(slog.DiscardHandler))); err != nil {
					b.Fatal(err)
				}
			}
			total := float64(b.N * len(items))
			b.ReportMetric(total/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(total/(processCPU()-cpu).Seconds(), "records/cpu-s")
		})
	}
}

type rawBytes struct{}

func (rawBytes) AppendEncode(b, v []byte) ([]byte, error) { return append(b, v...), nil }
