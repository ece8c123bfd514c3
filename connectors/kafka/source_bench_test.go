package kafka_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
)

// BenchmarkSource reads the same records from the in-process broker with the Source
// into a sink that only counts them, and with a plain franz-go consumer loop that counts
// them too: the difference is what weir costs on top of the client. Its figure is
// records/s.
func BenchmarkSource(b *testing.B) {
	const (
		parts   = 8
		perPart = 25_000
		size    = 100
		total   = parts * perPart
	)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(parts, "bench"))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	addrs := c.ListenAddrs()
	pr, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, size)
	var failed atomic.Value
	for i := range total {
		pr.Produce(context.Background(), &kgo.Record{Topic: "bench", Partition: int32(i % parts), Key: fmt.Appendf(nil, "k%d", i), Value: value},
			func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Store(err)
				}
			})
	}
	if err := pr.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	pr.Close()
	if err := failed.Load(); err != nil {
		b.Fatal(err)
	}

	report := func(b *testing.B, start time.Time) {
		b.ReportMetric(float64(total*b.N)/time.Since(start).Seconds(), "records/s")
	}
	// readFranz reads every record with a plain franz-go consumer loop.
	readFranz := func(b *testing.B) {
		offsets := map[string]map[int32]kgo.Offset{"bench": {}}
		for p := range int32(parts) {
			offsets["bench"][p] = kgo.NewOffset().AtStart()
		}
		cl, err := kgo.NewClient(kgo.SeedBrokers(addrs...), kgo.ConsumePartitions(offsets),
			kgo.FetchIsolationLevel(kgo.ReadCommitted()))
		if err != nil {
			b.Fatal(err)
		}
		defer cl.Close()
		n, bytes := 0, 0
		for n < total {
			fs := cl.PollFetches(context.Background())
			if err := fs.Err(); err != nil {
				b.Fatal(err)
			}
			fs.EachRecord(func(r *kgo.Record) { n, bytes = n+1, bytes+len(r.Value) })
		}
		if n != total || bytes != total*size {
			b.Fatalf("read %d records of %d bytes", n, bytes)
		}
	}
	// readWeir reads every record with the Source into a sink that counts them.
	readWeir := func(b *testing.B, workers int, opts ...kafka.SourceOption) {
		var n, bytes atomic.Int64
		flow := weir.NewDataflow("bench")
		in := op.Input("in", flow, kafka.NewSource(addrs, []string{"bench"}, opts...))
		op.Output("out", in, sink.Func(func(ms []kafka.Message) error {
			s := 0
			for i := range ms {
				s += len(ms[i].Value)
			}
			n.Add(int64(len(ms)))
			bytes.Add(int64(s))
			return nil
		}))
		if err := run.Run(context.Background(), flow, run.Workers(workers), run.Logger(discardLogger)); err != nil {
			b.Fatal(err)
		}
		if n.Load() != total || bytes.Load() != total*size {
			b.Fatalf("read %d records of %d bytes", n.Load(), bytes.Load())
		}
	}
	// Warm up, so that the first variant does not pay for the broker's first reads and
	// the producer's garbage.
	readFranz(b)
	readWeir(b, 1)

	b.Run("franz-go", func(b *testing.B) {
		runtime.GC()
		start := time.Now()
		for b.Loop() {
			readFranz(b)
		}
		report(b, start)
	})
	for _, tc := range []struct {
		name    string
		workers int
		opts    []kafka.SourceOption
	}{
		{"weir:workers=1", 1, nil},
		{"weir:workers=2", 2, nil},
		{"weir:workers=1:partitions-per-client=1", 1, []kafka.SourceOption{kafka.PartitionsPerClient(1)}},
		{"weir:workers=1:partitions-per-client=2", 1, []kafka.SourceOption{kafka.PartitionsPerClient(2)}},
		{"weir:workers=1:partitions-per-client=4", 1, []kafka.SourceOption{kafka.PartitionsPerClient(4)}},
		{"weir:workers=2:partitions-per-client=1", 2, []kafka.SourceOption{kafka.PartitionsPerClient(1)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			runtime.GC()
			start := time.Now()
			for b.Loop() {
				readWeir(b, tc.workers, tc.opts...)
			}
			report(b, start)
		})
	}
}
