package demo

import (
	"context"
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/weirflow/weir/source"
)

// Metric is one reading of a metric.
type Metric struct {
	Name  string
	Value float64   // between 0 and 100, with two decimals
	Time  time.Time // when it was read
}

// String formats m as "name=value".
func (m Metric) String() string { return fmt.Sprintf("%s=%.2f", m.Name, m.Value) }

// Defaults of Metrics.
const (
	DefaultInterval  = 100 * time.Millisecond
	DefaultBatchSize = 1024
)

// period is the number of readings of one cycle of a metric's wave.
const period = 60

// MetricSource is a source of random metric readings; see Metrics.
type MetricSource struct {
	names    []string
	interval time.Duration
	count    int64
	seed     uint64
	batch    int
}

// Metrics returns a source of readings of the metrics named (one metric, "cpu", when no
// name is given), each a partition of its own, so that the metrics are read by
// different workers. A metric is read once every interval (DefaultInterval unless
// Interval says otherwise), without end unless Count says otherwise, from seed 0 unless
// Seed says otherwise.
//
// Reading i of a metric has a value that depends only on the seed, the name and i: a
// wave of 60 readings around 50 with random noise, clamped to 0 and 100. Its time is the
// time it was due (with an interval of 0, the time it was made). A partition's position
// is the number of readings made, so a resumed run goes on with the readings that
// follow, the same as an uninterrupted run would have made. A worker that falls behind
// catches up, up to BatchSize readings at a time: no reading is skipped.
func Metrics(names ...string) *MetricSource {
	if len(names) == 0 {
		names = []string{"cpu"}
	}
	return &MetricSource{names: slices.Clone(names), interval: DefaultInterval, batch: DefaultBatchSize}
}

// Interval sets the time between two readings of a metric, overriding DefaultInterval.
// An interval of 0 (or less) makes readings as fast as the flow takes them, BatchSize at
// a time.
func (s *MetricSource) Interval(d time.Duration) *MetricSource {
	s.interval = max(d, 0)
	return s
}

// Count sets the number of readings of each metric after which its partition ends,
// overriding the default of 0, which never ends.
func (s *MetricSource) Count(n int64) *MetricSource {
	s.count = max(n, 0)
	return s
}

// Seed sets the seed of the readings' random values, overriding the default of 0: runs
// with the same seed make the same values. Seed with the time for values that differ
// from run to run.
func (s *MetricSource) Seed(seed uint64) *MetricSource {
	s.seed = seed
	return s
}

// BatchSize sets the largest number of readings in a batch, overriding DefaultBatchSize.
// Values below 1 mean 1.
func (s *MetricSource) BatchSize(n int) *MetricSource {
	s.batch = max(n, 1)
	return s
}

// Partitions implements source.Partitioned: the metrics' names.
func (s *MetricSource) Partitions(context.Context) ([]string, error) {
	seen := map[string]bool{}
	for _, n := range s.names {
		if n == "" || seen[n] {
			return nil, fmt.Errorf("weir: demo: metric names must be distinct and not empty: %q", s.names)
		}
		seen[n] = true
	}
	return slices.Clone(s.names), nil
}

// Build implements source.Source.
func (s *MetricSource) Build(_ context.Context, part source.Part, resume []byte) (source.Partition[Metric], error) {
	if !slices.Contains(s.names, part.Partition) {
		return nil, fmt.Errorf("weir: demo: unknown metric %q", part.Partition)
	}
	var pos uint64
	if resume != nil {
		var n int
		pos, n = binary.Uvarint(resume)
		if n <= 0 || n != len(resume) || pos > math.MaxInt64 || (s.count > 0 && int64(pos) > s.count) {
			return nil, fmt.Errorf("weir: demo: metric %s: corrupt resume position %x", part.Partition, resume)
		}
	}
	h := fnv.New64a()
	h.Write([]byte(part.Partition))
	key := h.Sum64()
	p := &metricPart{s: s, name: part.Partition, key: s.seed ^ key, phase: float64(key%period) / period, pos: int64(pos)}
	p.rng = rand.New(&p.pcg)
	return p, nil
}

type metricPart struct {
	s     *MetricSource
	name  string
	key   uint64  // the seed with the name mixed in
	phase float64 // of the name's wave, in cycles
	pos   int64   // readings made
	next  time.Time
	pcg   rand.PCG
	rng   *rand.Rand
	buf   []Metric
}

// value is the value of reading i: the same for the same seed, name and i.
func (p *metricPart) value(i int64) float64 {
	p.pcg.Seed(p.key, uint64(i))
	wave := math.Sin(2 * math.Pi * (float64(i)/period + p.phase))
	v := 50 + 30*wave + 8*p.rng.NormFloat64()
	return math.Round(min(max(v, 0), 100)*100) / 100
}

func (p *metricPart) Next(context.Context) ([]Metric, error) {
	p.buf = p.buf[:0]
	now := time.Now()
	if p.s.interval > 0 && p.next.IsZero() {
		p.next = now // the first reading is due at once
	}
	for len(p.buf) < p.s.batch && (p.s.count == 0 || p.pos < p.s.count) {
		at := now
		if p.s.interval > 0 {
			if p.next.After(now) {
				break
			}
			at = p.next
			p.next = p.next.Add(p.s.interval)
		}
		p.buf = append(p.buf, Metric{Name: p.name, Value: p.value(p.pos), Time: at})
		p.pos++
	}
	if p.s.count > 0 && p.pos >= p.s.count {
		return p.buf, io.EOF
	}
	return p.buf, nil
}

// NextAwake implements source.Awaker: when the next reading is due.
func (p *metricPart) NextAwake() time.Time {
	if p.s.interval == 0 {
		return time.Now() // at once, even after an empty batch (there is none)
	}
	return p.next
}

func (p *metricPart) Snapshot() []byte { return binary.AppendUvarint(nil, uint64(p.pos)) }
func (p *metricPart) Close() error     { return nil }
