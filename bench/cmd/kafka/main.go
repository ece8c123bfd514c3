// Command kafka times weir moving records from one Kafka topic to another through a map
// (Source → op.Map → Sink) against franz-go's own consumer and producer doing the same
// without weir, in at-least-once and in exactly-once mode, against the in-process test
// broker (or the cluster -brokers names):
//
//	go run ./bench/cmd/kafka [-n records] [-rounds r] [-partitions p] [-w workers] [-s interval] [-brokers host:port]
//
// weir runs at least once without a recovery store (its sink flushes at each epoch close)
// and exactly once with one (its sink's transactions need it), in a temporary directory.
//
// Each round writes every record once more through each of the four paths, alternating
// them so that all see the same load, each into a topic of its own, and checks that the
// topic holds every record. A path's rate is the records over its wall time; its rate per
// core is the records over the CPU time the process spent (user and system, the broker's
// included when it runs in this process), which does not depend on how many cores the
// machine lends it. The ratio is the anchor's rate per core over weir's: the goal is
// within 1.5. With the in-process broker, the broker's own work is in both paths' CPU
// time; against a broker in a process of its own (go run ./internal/kafkatest/cmd/broker,
// then -brokers), only the clients' is. Each output topic is deleted once checked, and
// the heap collected before each path, so that no path pays for another's garbage.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/op"
	_ "github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
)

func main() {
	n := flag.Int("n", 500_000, "records to move per path and round")
	rounds := flag.Int("rounds", 3, "rounds")
	parts := flag.Int("partitions", 4, "partitions of each topic")
	workers := flag.Int("w", 1, "weir's workers")
	interval := flag.Duration("s", time.Second, "weir's epoch interval, and the anchor's transaction interval")
	brokers := flag.String("brokers", "", "a Kafka cluster's bootstrap host:ports (none: the in-process test broker)")
	profile := flag.String("cpuprofile", "", "write a CPU profile of the rounds to `file`, each sample labelled with its path (go tool pprof -tagfocus path=...)")
	flag.Parse()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "kafka bench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := bench(*n, *rounds, int32(*parts), *workers, *interval, *brokers); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "kafka bench:", err)
		os.Exit(1)
	}
}

// path is one way of moving the records.
type path struct {
	name    string
	exactly bool
	weir    bool
}

var paths = []path{
	{"franz-go, at-least-once", false, false},
	{"weir, at-least-once", false, true},
	{"franz-go, exactly-once", true, false},
	{"weir, exactly-once", true, true},
}

// run moves the n records of in to out along the path.
func (p path) run(ctx context.Context, addrs []string, in, out string, n, workers int, interval time.Duration) error {
	if p.weir {
		return viaWeir(ctx, addrs, in, out, p.exactly, workers, interval)
	}
	written, err := anchor(ctx, addrs, in, out, p.exactly, interval)
	if err == nil && written != n {
		err = fmt.Errorf("the anchor wrote %d records, want %d", written, n)
	}
	return err
}

// measure is one path's run: records, wall time and CPU time.
type measure struct {
	wall, cpu time.Duration
}

func (m measure) rate(n int) float64    { return float64(n) / m.wall.Seconds() }
func (m measure) perCore(n int) float64 { return float64(n) / m.cpu.Seconds() }

func bench(n, rounds int, parts int32, workers int, interval time.Duration, brokers string) error {
	ctx := context.Background()
	var b *kafkatest.Broker
	var err error
	if brokers != "" {
		// Topics of their own on a real cluster: kafkatest names them apart.
		b = kafkatest.Existing(strings.Split(brokers, ","))
	} else {
		b, err = kafkatest.NewCluster()
	}
	if err != nil {
		return err
	}
	defer b.Close()
	in, err := b.CreateTopic(ctx, "bench-in", parts)
	if err != nil {
		return err
	}
	start := time.Now()
	if err := kafkatest.ProduceN(ctx, b.Addrs(), in, n, inputRecord); err != nil {
		return err
	}
	fmt.Printf("%d records of about %d bytes (key and value) in %d partitions written in %v; %d rounds, GOMAXPROCS %d, weir on %d worker(s), epochs (transactions) of %v\n",
		n, len(inputRecord(n/2).Key)+len(inputRecord(n/2).Value), parts, time.Since(start).Round(time.Millisecond), rounds, runtime.GOMAXPROCS(0), workers, interval)
	got := make([][]measure, len(paths))
	for r := range rounds {
		for k, p := range paths {
			out, err := b.CreateTopic(ctx, fmt.Sprintf("bench-out-%d-%d", r, k), parts)
			if err != nil {
				return err
			}
			runtime.GC() // the last path's garbage is not this one's to collect
			var m measure
			pprof.Do(ctx, pprof.Labels("path", p.name), func(ctx context.Context) {
				m, err = timed(func() error { return p.run(ctx, b.Addrs(), in, out, n, workers, interval) })
			})
			if err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			if err := check(ctx, b.Addrs(), out, n); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
			// The in-process broker keeps every topic in this process's heap: deleted, an
			// output no longer makes the next path's garbage collection dearer.
			if err := b.DeleteTopic(ctx, out); err != nil {
				return err
			}
			got[k] = append(got[k], m)
			fmt.Printf("round %d: %-24s %8.0f records/s  %8.0f records/s per core (%v wall, %v CPU)\n",
				r+1, p.name, m.rate(n), m.perCore(n), m.wall.Round(time.Millisecond), m.cpu.Round(time.Millisecond))
		}
	}
	fmt.Println()
	fmt.Println("| path | records/s | records/s per core |")
	fmt.Println("|---|---|---|")
	for k, p := range paths {
		fmt.Printf("| %s | %s | %s |\n", p.name, span(got[k], func(m measure) float64 { return m.rate(n) }),
			span(got[k], func(m measure) float64 { return m.perCore(n) }))
	}
	fmt.Println()
	for _, k := range []int{1, 3} {
		var ratios []float64
		for r := range rounds {
			ratios = append(ratios, got[k-1][r].perCore(n)/got[k][r].perCore(n))
		}
		slices.Sort(ratios)
		fmt.Printf("%s: franz-go's rate per core over weir's %.2f to %.2f, median %.2f (%d rounds; goal <= 1.5)\n",
			paths[k].name, ratios[0], ratios[len(ratios)-1], ratios[len(ratios)/2], rounds)
	}
	return nil
}

// span formats the range of f over ms.
func span(ms []measure, f func(measure) float64) string {
	var vs []float64
	for _, m := range ms {
		vs = append(vs, f(m))
	}
	slices.Sort(vs)
	return fmt.Sprintf("%.0f to %.0f", vs[0], vs[len(vs)-1])
}

// timed runs fn and returns its wall and CPU time.
func timed(fn func() error) (measure, error) {
	c0 := cpuTime()
	t0 := time.Now()
	err := fn()
	return measure{wall: time.Since(t0), cpu: cpuTime() - c0}, err
}

// cpuTime returns the user and system time this process has spent.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// inputRecord is input record i: one of 10,000 keys, and a number as its value.
func inputRecord(i int) *kgo.Record {
	return &kgo.Record{Key: fmt.Appendf(nil, "key-%04d", i%10_000), Value: strconv.AppendInt(make([]byte, 0, 24), int64(i)*7919, 10)}
}

// double is the map both paths run: the value, a number, doubled.
func double(v []byte) []byte {
	x, _ := strconv.ParseInt(string(v), 10, 64)
	return strconv.AppendInt(make([]byte, 0, 24), 2*x, 10)
}

// mapRecord is the anchor's map of a record to the one it writes to out, whose partition
// the producer picks from the key, as weir's sink's does.
func mapRecord(r *kgo.Record, out string) *kgo.Record {
	return &kgo.Record{Topic: out, Key: r.Key, Value: double(r.Value)}
}

// viaWeir moves the records with weir: Source → op.Map → Sink.
func viaWeir(ctx context.Context, addrs []string, in, out string, exactly bool, workers int, interval time.Duration) error {
	flow := weir.NewDataflow("kafka_bench")
	msgs := op.Input("in", flow, kafka.NewSource(addrs, []string{in}))
	mapped := op.Map("double", msgs, func(m kafka.Message) kafka.Message {
		return kafka.Message{Key: m.Key, Value: double(m.Value), Offset: -1}
	})
	opts := []kafka.SinkOption{kafka.SinkTopic(out)}
	if exactly {
		opts = append(opts, kafka.ExactlyOnce())
	}
	op.Output("out", mapped, kafka.NewSink(addrs, opts...))
	ropts := []run.Option{run.Workers(workers), run.EpochInterval(interval), run.LogEvery(0),
		run.Logger(slog.New(slog.DiscardHandler))}
	if exactly {
		dir, err := os.MkdirTemp("", "weir-kafka-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		ropts = append(ropts, run.Recovery(filepath.Join(dir, "recovery")), run.RecoveryPartitions(1))
	}
	return run.Run(ctx, flow, ropts...)
}

// check fails unless a read_committed consumer of out sees n records.
func check(ctx context.Context, addrs []string, out string, n int) error {
	recs, err := kafkatest.ReadCommitted(ctx, addrs, out)
	if err != nil {
		return err
	}
	if len(recs) != n {
		return fmt.Errorf("%s holds %d committed records, want %d", out, len(recs), n)
	}
	return nil
}
