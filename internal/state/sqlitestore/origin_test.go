package sqlitestore

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirflow/weir/internal/state"
)

// originOf reads partition p's origin with the driver alone.
func originOf(t *testing.T, dir string, p int) int64 {
	t.Helper()
	db, err := openDB(state.PartitionPath(dir, p), readOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	o, err := readOrigin(db)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// A single process's first run gives every partition one origin, which later runs keep;
// a cluster's processes give none; a partition of another directory with an origin of its
// own is refused by name, by a single process and by a cluster's process that holds
// others; one without an origin is taken.
func TestOrigins(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	a, b, c := filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "c")
	for _, d := range []string{a, b, c} {
		initT(t, d, 3)
	}
	if o := originOf(t, a, 0); o != 0 {
		t.Fatalf("a new directory has origin %d", o)
	}
	fill(t, a, 1)
	fill(t, b, 1)
	// c runs as a cluster of two processes.
	parts := openCluster(t, 3, []process{{PartOpener(c), []int{0, 1}}, {PartOpener(c), []int{2}}})
	beginCluster(t, parts, 1)
	for _, p := range parts {
		p.Close()
	}
	oa, ob := originOf(t, a, 0), originOf(t, b, 0)
	if oa == 0 || ob == 0 || oa == ob {
		t.Fatalf("origins %d and %d, want two of their own", oa, ob)
	}
	fill(t, a, 2)
	for p := range 3 {
		if o := originOf(t, a, p); o != oa {
			t.Errorf("a's partition %d has origin %d, want %d", p, o, oa)
		}
		if o := originOf(t, c, p); o != 0 {
			t.Errorf("the cluster gave partition %d origin %d", p, o)
		}
	}

	// b's partition 2 in a is refused; c's, which has none, is taken and given a's.
	copyFile(t, state.PartitionPath(b, 2), state.PartitionPath(a, 2))
	_, err := Open(a)
	corrupt(2)(t, err)
	if want := "it belongs to another recovery directory than partitions [0 1]"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("message %v, want %q", err, want)
	}
	// So is it by a process of a cluster holding it and others; one holding it alone
	// cannot tell.
	_, err = OpenParts(a, 3, []int{1, 2})
	corrupt(2)(t, err)
	if p, err := OpenParts(a, 3, []int{2}); err != nil {
		t.Errorf("a process holding partition 2 alone: %v", err)
	} else {
		p.Close()
	}
	copyFile(t, state.PartitionPath(c, 2), state.PartitionPath(a, 2))
	if s := openT(t, a); s.origin != oa {
		t.Errorf("store origin %d, want %d", s.origin, oa)
	}
}
