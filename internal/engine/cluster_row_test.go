package engine

import (
	"slices"
	"testing"

	"github.com/weirflow/weir/internal/state"
)

// A loaded row reads back whatever its node's index and however short its key and state:
// a row of node 40 with a 2-byte key and a 4-byte state, last in a message, was refused
// as "message ends early" (the index was read as a count of the bytes after it), which
// failed every restart of a 3-process job whose last row was such a source position.
func TestRowsReadBack(t *testing.T) {
	type row struct {
		node int
		key  string
		st   []byte
	}
	want := []row{{0, "", nil}, {3, "key", []byte("state")}, {40, "p3", []byte("1500")}, {1 << 20, "k", []byte{}}}
	var b []byte
	for _, r := range want {
		b = appendRow(b, r.node, r.key, r.st)
	}
	var got []row
	if err := eachRow(b, func(node int, key string, st []byte) error {
		got = append(got, row{node, key, st})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.EqualFunc(got, want, func(a, b row) bool {
		return a.node == b.node && a.key == b.key && string(a.st) == string(b.st)
	}) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// copyingParts is a process's share of a directory that says whether it copies what it
// writes; nothing else of it is used.
type copyingParts struct {
	state.Parts
	copies bool
}

func (p copyingParts) CopiesWrites() bool { return p.copies }

// A cluster's store copies what it writes when the partitions held here do: the rows for
// other processes are encoded into calls. Then its committers release written snapshots.
func TestClusterStoreCopies(t *testing.T) {
	for _, c := range []struct {
		parts state.Parts
		want  bool
	}{{copyingParts{copies: true}, true}, {copyingParts{copies: false}, false}, {struct{ state.Parts }{}, false}} {
		s := &clusterStore{c: &cluster{parts: c.parts}}
		if got := s.CopiesWrites(); got != c.want {
			t.Errorf("over %T %v: copies %v, want %v", c.parts, c.parts, got, c.want)
		}
	}
}
