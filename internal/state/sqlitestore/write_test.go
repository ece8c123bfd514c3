package sqlitestore

import (
	"database/sql"
	"testing"

	"github.com/weirflow/weir/internal/state"
)

// A write splits its rows by partition into slices made once, at about their size: grown
// by appends, they were the write's largest garbage (17 MB for 100k rows).
func TestSplitAllocs(t *testing.T) {
	s := &Store{parts: []*sql.DB{{}, {}, {}, {}}}
	epochs := []state.Epoch{epochOf(0, 1, 50_000)}
	rows := 0
	for _, r := range s.split(epochs) {
		rows += len(r)
	}
	if rows != 100_000 {
		t.Fatalf("split placed %d rows, want 100000", rows)
	}
	if a := testing.AllocsPerRun(3, func() { s.split(epochs) }); a > 5 {
		t.Errorf("split of 100k rows in 4 partitions: %v allocations, want at most 5", a)
	}
}
