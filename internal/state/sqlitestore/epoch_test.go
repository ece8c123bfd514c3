package sqlitestore

import (
	"database/sql/driver"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// BenchmarkEpochCycle writes an epoch of 100k rows (every key of the state rewritten, as
// in the report's running aggregate) to 4 partitions, then collects it, and reports the
// time of each: what a snapshot costs the store per epoch.
func BenchmarkEpochCycle(b *testing.B) {
	dir := b.TempDir()
	if err := Init(dir, 4); err != nil {
		b.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Begin(1); err != nil {
		b.Fatal(err)
	}
	if err := s.Start(); err != nil {
		b.Fatal(err)
	}
	var write, collect time.Duration
	e := uint64(1)
	for b.Loop() {
		ep := epochOf(0, e, 50_000)
		start := time.Now()
		if err := s.Write(0, []state.Epoch{ep}); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if err := s.GC(0); err != nil {
			b.Fatal(err)
		}
		write, collect = write+mid.Sub(start), collect+time.Since(mid)
		e++
	}
	b.ReportMetric(float64(write.Milliseconds())/float64(b.N), "write-ms")
	b.ReportMetric(float64(collect.Milliseconds())/float64(b.N), "collect-ms")
}

// Collection's work is the rows collected, not the state: no statement of it reads the
// whole of compacted, which holds every key's state (before, dropping the deletions
// scanned it at every collection). Each statement's query plan may scan snapshots, which
// holds only the rows not yet collected, and must look compacted up by its key.
func TestCollectSearchesCompacted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 1)
	s := openT(t, dir)
	stmts := map[string]string{
		"compactLatest":  compactLatest,
		"compactInOrder": compactInOrder,
		"dropDeletions":  dropDeletions,
		"deleteMoved":    deleteMoved,
		"check":          checkQuery,
	}
	for name, q := range stmts {
		rows, err := s.parts[0].Query(`EXPLAIN QUERY PLAN `+q, 5)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		for _, d := range plan {
			if strings.HasPrefix(d, "SCAN compacted") || strings.HasPrefix(d, "SCAN steps") {
				t.Errorf("%s reads a whole table (plan %q)", name, plan)
			}
		}
	}
}

// weir_state_ok passes exactly the rows whose columns are of the store's types and agree
// with their checksum, so that collection reads in Go only the partitions with a row to
// report.
func TestStateOK(t *testing.T) {
	sum := new(summer).state("s", "k", 3, []byte("v"), false)
	del := new(summer).state("s", "k", 3, nil, true)
	empty := new(summer).state("s", "k", 3, nil, false)
	for _, c := range []struct {
		name string
		args []driver.Value
		want bool
	}{
		{"sound", []driver.Value{"s", "k", int64(3), []byte("v"), sum}, true},
		{"deletion", []driver.Value{"s", "k", int64(3), nil, del}, true},
		{"empty state", []driver.Value{"s", "k", int64(3), []byte{}, empty}, true},
		{"empty state as a deletion", []driver.Value{"s", "k", int64(3), nil, empty}, false},
		{"other step", []driver.Value{"t", "k", int64(3), []byte("v"), sum}, false},
		{"unknown step", []driver.Value{nil, "k", int64(3), []byte("v"), sum}, false},
		{"other key", []driver.Value{"s", "K", int64(3), []byte("v"), sum}, false},
		{"other epoch", []driver.Value{"s", "k", int64(4), []byte("v"), sum}, false},
		{"negative epoch", []driver.Value{"s", "k", int64(-3), []byte("v"), sum}, false},
		{"other state", []driver.Value{"s", "k", int64(3), []byte("w"), sum}, false},
		{"text state", []driver.Value{"s", "k", int64(3), "v", sum}, false},
		{"text key", []driver.Value{"s", []byte("k"), int64(3), []byte("v"), sum}, false},
		{"float epoch", []driver.Value{"s", "k", float64(3), []byte("v"), sum}, false},
		{"other checksum", []driver.Value{"s", "k", int64(3), []byte("v"), sum + 1}, false},
		{"text checksum", []driver.Value{"s", "k", int64(3), []byte("v"), "1"}, false},
	} {
		if got := stateOK(c.args); got != c.want {
			t.Errorf("%s: stateOK = %v, want %v", c.name, got, c.want)
		}
	}
}
