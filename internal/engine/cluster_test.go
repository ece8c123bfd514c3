package engine

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

func TestAssignParts(t *testing.T) {
	in := &plan.Node{Node: &graph.Node{ID: "in", Kind: graph.Input}}
	out := &plan.Node{Node: &graph.Node{ID: "out", Kind: graph.Output}}
	for _, tc := range []struct {
		name    string
		node    *plan.Node
		holders map[string][]int
		workers int
		want    []int // owner by partition, in name order
		err     bool
	}{
		{"one process balances", in, map[string][]int{"a": {0}, "b": {0}, "c": {0}}, 2, []int{0, 1, 0}, false},
		{"every process lists every partition", in, map[string][]int{"a": {0, 1}, "b": {0, 1}, "c": {0, 1}, "d": {0, 1}}, 2, []int{0, 1, 2, 3}, false},
		// c is only on process 1's disk: it goes there first, then the rest balance.
		{"a partition only one process lists", in, map[string][]int{"a": {0, 1}, "b": {0, 1}, "c": {1}}, 1, []int{0, 0, 1}, false},
		{"a sink without partitions", out, map[string][]int{}, 2, nil, true},
		{"an input without partitions", in, map[string][]int{}, 2, []int{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := assignParts(tc.node, tc.holders, tc.workers)
			if tc.err {
				if err == nil {
					t.Fatal("no error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s.owner, tc.want) {
				t.Fatalf("owners %v, want %v (parts %v)", s.owner, tc.want, s.parts)
			}
		})
	}
}

func TestHold(t *testing.T) {
	f := func(i int, id string) state.Found { return state.Found{Index: i, Count: 4, ID: id} }
	for _, tc := range []struct {
		name    string
		found   [][]state.Found // by process
		process int
		want    []int
		missing []int
		doubled []int
	}{
		{"one shared directory spreads the partitions",
			[][]state.Found{{f(0, "a"), f(1, "b"), f(2, "c"), f(3, "d")}, {f(0, "a"), f(1, "b"), f(2, "c"), f(3, "d")}},
			1, []int{1, 3}, nil, nil},
		{"a directory per process holds its own",
			[][]state.Found{{f(0, "a"), f(2, "c")}, {f(1, "b"), f(3, "d")}},
			0, []int{0, 2}, nil, nil},
		{"a missing partition",
			[][]state.Found{{f(0, "a"), f(2, "c")}, {f(1, "b")}},
			0, nil, []int{3}, nil},
		{"a copy held twice",
			[][]state.Found{{f(0, "a"), f(1, "b"), f(2, "c")}, {f(1, "b2"), f(3, "d")}},
			0, nil, nil, []int{1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &cluster{process: tc.process, procs: len(tc.found)}
			dirs := make([]string, len(tc.found))
			for q := range dirs {
				dirs[q] = "dir" + string(rune('0'+q))
			}
			_, held, err := c.hold(dirs, tc.found)
			if tc.missing != nil || tc.doubled != nil {
				var e *state.PartitionsHeldError
				if !errors.As(err, &e) {
					t.Fatalf("error %v, want a PartitionsHeldError", err)
				}
				if !reflect.DeepEqual(e.Missing, tc.missing) {
					t.Errorf("missing %v, want %v", e.Missing, tc.missing)
				}
				for _, i := range tc.doubled {
					if len(e.Doubled[i]) != 2 {
						t.Errorf("doubled %v, want partition %d twice", e.Doubled, i)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(held, tc.want) {
				t.Fatalf("held %v, want %v", held, tc.want)
			}
		})
	}
}

func TestEpochsRoundTrip(t *testing.T) {
	epochs := []state.Epoch{
		{Epoch: 3, Snaps: []state.Snapshot{{Step: "f.count", Changes: []state.Change{{Key: "a", State: []byte{1, 2}}, {Key: "b", Deleted: true}, {Key: "", State: []byte{}}}}}},
		{Epoch: 4, Final: true},
	}
	// A high worker's write of an epoch without rows is shorter than its worker's id.
	if w, _, err := decodeEpochs(appendEpochs(nil, 63, []state.Epoch{{Epoch: 2}})); err != nil || w != 63 {
		t.Fatalf("worker 63's empty epoch: %d, %v", w, err)
	}
	w, got, err := decodeEpochs(appendEpochs(nil, 7, epochs))
	if err != nil || w != 7 {
		t.Fatal(w, err)
	}
	if w, f, final, err := decodeWritten(appendWritten(nil, 5, 1<<40, true)); err != nil || w != 5 || f != 1<<40 || !final {
		t.Fatalf("a frontier notice: %d %d %v %v", w, f, final, err)
	}
	if _, _, _, err := decodeWritten(append(appendWritten(nil, 5, 9, false), 0)); err == nil {
		t.Fatal("a notice with a byte too many decoded")
	}
	// Empty and nil slices decode alike: compare the encodings, and the fields that matter.
	if !bytes.Equal(appendEpochs(nil, 7, got), appendEpochs(nil, 7, epochs)) || !got[1].Final ||
		!got[0].Snaps[0].Changes[1].Deleted || got[0].Snaps[0].Changes[2].State == nil {
		t.Fatalf("got %+v, want %+v", got, epochs)
	}
}

func FuzzDecodeEpochs(f *testing.F) {
	f.Add(appendEpochs(nil, 1, []state.Epoch{{Epoch: 2, Snaps: []state.Snapshot{{Step: "s", Changes: []state.Change{{Key: "k", State: []byte("v")}}}}}}))
	f.Add(appendRow(nil, 3, "k", []byte("v")))
	f.Add(appendWritten(nil, 2, 9, true))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if w, epochs, err := decodeEpochs(b); err == nil {
			again := appendEpochs(nil, w, epochs)
			if _, _, err := decodeEpochs(again); err != nil {
				t.Fatalf("re-encoded epochs do not decode: %v", err)
			}
		}
		eachRow(b, func(int, string, []byte) error { return nil })
		if w, f, final, err := decodeWritten(b); err == nil {
			w2, f2, final2, err := decodeWritten(appendWritten(nil, w, f, final))
			if err != nil || w2 != w || f2 != f || final2 != final {
				t.Fatalf("notice %x decodes to %d %d %v, and again to %d %d %v (%v)", b, w, f, final, w2, f2, final2, err)
			}
		}
	})
}
