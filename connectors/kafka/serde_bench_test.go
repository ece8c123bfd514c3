package kafka_test

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/weirtest"
)

// benchOrders returns n records of JSON orders, as the source would hand them on.
func benchOrders(n int) []kafka.Message {
	msgs := make([]kafka.Message, n)
	for i := range msgs {
		msgs[i] = kafka.Message{
			Topic: "orders", Partition: int32(i % 8), Offset: int64(i / 8),
			Key:   []byte(fmt.Sprint("cust-", i%100)),
			Value: []byte(fmt.Sprintf(`{"id":%d,"item":"item-%d","price":%d.25}`, i, i%37, i%1000)),
		}
	}
	return msgs
}

// BenchmarkDecodeJSON decodes JSON orders through a flow (a scripted source, Decode, a
// sink that counts) against a plain loop of json.Unmarshal over the same records into a
// reused slice: what the flow adds to the codec's own cost. records/s is per run of one
// worker; records/cpu-s divides by the process's CPU time instead (the garbage
// collector's included), which the other programs on a busy machine disturb less.
func BenchmarkDecodeJSON(b *testing.B) {
	const n = 200_000
	msgs := benchOrders(n)
	b.Run("loop", func(b *testing.B) {
		cpu := serdeCPUTime()
		out := make([]jsonOrder, 1024)
		var bad int
		for b.Loop() {
			for i := 0; i < n; i += len(out) {
				batch := msgs[i:min(i+len(out), n)]
				for j := range batch {
					out[j] = jsonOrder{}
					if err := json.Unmarshal(batch[j].Value, &out[j]); err != nil {
						bad++
					}
				}
			}
		}
		if bad > 0 {
			b.Fatal(bad, "bad records")
		}
		reportDecodeRates(b, n, cpu)
	})
	for _, kv := range []bool{false, true} {
		b.Run(fmt.Sprintf("flow/kv=%v", kv), func(b *testing.B) {
			// The source and the flow are made once: each run reads the source again from
			// its start (there is no recovery store), so only the runs are timed.
			var got atomic.Int64
			flow := weir.NewDataflow("bench")
			in := op.Input("in", flow, weirtest.NewSource(msgs...).BatchSize(1024))
			var dead weir.Stream[kafka.DeadLetter]
			if kv {
				var orders weir.KeyedStream[jsonOrder]
				orders, dead = kafka.DecodeKV("parse", in, kafka.JSON[jsonOrder]())
				op.Output("count", orders, sink.Func(func(items []weir.KV[jsonOrder]) error { got.Add(int64(len(items))); return nil }))
			} else {
				var orders weir.Stream[jsonOrder]
				orders, dead = kafka.Decode("parse", in, kafka.JSON[jsonOrder]())
				op.Output("count", orders, sink.Func(func(items []jsonOrder) error { got.Add(int64(len(items))); return nil }))
			}
			op.Raises("no_dead", dead)
			cpu := serdeCPUTime()
			for b.Loop() {
				got.Store(0)
				weirtest.Run(b, flow, 1)
				if got.Load() != n {
					b.Fatalf("decoded %d records, want %d", got.Load(), n)
				}
			}
			reportDecodeRates(b, n, cpu)
		})
	}
}

// serdeCPUTime returns the CPU time the process has used so far, user and system.
func serdeCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportDecodeRates reports n records per iteration as records/s and records/cpu-s, the CPU
// time counted from cpu0.
func reportDecodeRates(b *testing.B, n int, cpu0 time.Duration) {
	total := float64(n) * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds(), "records/s")
	if cpu := serdeCPUTime() - cpu0; cpu > 0 {
		b.ReportMetric(total/cpu.Seconds(), "records/cpu-s")
	}
}
