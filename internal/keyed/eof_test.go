package keyed

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/codec"
)

// eofSum sums its values. Its OnEOF does what its sum says: a sum below 0 discards the
// key, a sum of 7 or more adds 100 to it (a change of state, emitted), a sum from 1 to 6
// is emitted as it is, and 0 does nothing. keeps is what it answers KeepsStateAtEOF.
type eofSum struct {
	n     int64
	keeps bool
}

func (s *eofSum) OnBatch(vs []int64) ([]int64, bool) {
	for _, v := range vs {
		s.n += v
	}
	return nil, false
}
func (s *eofSum) OnNotify() ([]int64, bool) { return nil, false }
func (s *eofSum) OnEOF() ([]int64, bool) {
	switch {
	case s.n < 0:
		return nil, true
	case s.n >= 7:
		s.n += 100
		return []int64{s.n}, false
	case s.n > 0:
		return []int64{s.n}, false
	}
	return nil, false
}
func (s *eofSum) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (s *eofSum) Snapshot() int64             { return s.n }
func (s *eofSum) Timeless()                   {}

// keepingSum is eofSum saying whether its OnEOF keeps its state. Saying so of a sum of 7
// or more is not true: such a key is in the final snapshot only when something else
// touched it in the epoch, and then with its state after OnEOF.
type keepingSum struct{ eofSum }

func (s *keepingSum) KeepsStateAtEOF() bool { return s.keeps }

// The snapshot after the end of the stream holds the keys whose OnEOF discarded them
// (deleted) and, for a logic that does not say its OnEOF keeps its state, every key
// OnEOF ran for; besides them, the keys touched earlier in the epoch, each once, with its
// state after OnEOF.
func TestEOFSnapshot(t *testing.T) {
	const resumed = 1000 // keys r0 to r999, with sums 0 to 3 (nothing, or emitted as is)
	tests := []struct {
		name  string
		logic func(n int64) Logic[int64, int64, int64]
		// the last epoch's items (before the end of the stream), and the keys and values
		// of the final snapshot beyond the resumed keys (what it holds of those is
		// below)
		items    []weir.KV[int64]
		eofBatch bool // the items come in the activation that ends the stream
		want     []string
		resumed  bool // the resumed keys are in the final snapshot
	}{
		{name: "keeps, nothing new", logic: keeping(true), want: nil},
		{name: "keeps, items before the end", logic: keeping(true),
			items: []weir.KV[int64]{{Key: "r1", Value: 4}, {Key: "a", Value: 1}, {Key: "b", Value: 9}, {Key: "r2", Value: -5}},
			// r1: 1+4 = 5, kept at EOF; b: 9, +100 at EOF; r2: 2-5 < 0, discarded at EOF
			want: []string{"a=1", "b=109", "r1=5", "r2 deleted"}},
		{name: "keeps, items in the last activation", logic: keeping(true), eofBatch: true,
			items: []weir.KV[int64]{{Key: "r1", Value: 4}, {Key: "a", Value: 1}, {Key: "b", Value: 9}, {Key: "r2", Value: -5}},
			want:  []string{"a=1", "b=109", "r1=5", "r2 deleted"}},
		{name: "says it does not keep", logic: keeping(false), resumed: true,
			items: []weir.KV[int64]{{Key: "a", Value: 1}},
			want:  []string{"a=1"}},
		{name: "does not say", logic: func(n int64) Logic[int64, int64, int64] { return &eofSum{n: n} }, resumed: true,
			items: []weir.KV[int64]{{Key: "a", Value: 1}},
			want:  []string{"a=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := New(func(n int64, _ bool) Logic[int64, int64, int64] { return tt.logic(n) }).(*stateful[int64, int64, int64])
			rt.Track()
			c := codec.For[int64]()
			var want []string
			for i := range resumed {
				b, err := c.Encode(int64(i % 4))
				if err != nil {
					t.Fatal(err)
				}
				key := fmt.Sprint("r", i)
				if err := rt.Resume(key, b); err != nil {
					t.Fatal(err)
				}
				if tt.resumed && !slices.ContainsFunc(tt.items, func(kv weir.KV[int64]) bool { return kv.Key == key }) {
					want = append(want, fmt.Sprintf("%s=%d", key, i%4))
				}
			}
			want = append(want, tt.want...)
			slices.Sort(want)
			now := time.Unix(1, 0)
			if !tt.eofBatch && tt.items != nil {
				if _, err := rt.Activate(tt.items, now, false); err != nil {
					t.Fatal(err)
				}
			}
			var batch any
			if tt.eofBatch {
				batch = tt.items
			}
			out, err := rt.Activate(batch, now, true)
			if err != nil {
				t.Fatal(err)
			}
			// OnEOF ran for every key, and what it emitted went out, whatever it says.
			sums := map[string]int64{}
			for i := range resumed {
				sums[fmt.Sprint("r", i)] = int64(i % 4)
			}
			for _, kv := range tt.items {
				sums[kv.Key] += kv.Value
			}
			wantOut := 0
			for _, n := range sums {
				if n > 0 {
					wantOut++
				}
			}
			if out == nil || len(out.([]weir.KV[int64])) != wantOut {
				t.Errorf("the end of the stream emitted %v, want %d values", out, wantOut)
			}
			changes, _, err := rt.Snapshot()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ch := range changes {
				if ch.Deleted {
					got = append(got, ch.Key+" deleted")
					continue
				}
				n, err := c.Decode(ch.State)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, fmt.Sprintf("%s=%d", ch.Key, n))
			}
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("final snapshot (-want +got):\n%s", diff)
			}
		})
	}
}

func keeping(keeps bool) func(n int64) Logic[int64, int64, int64] {
	return func(n int64) Logic[int64, int64, int64] { return &keepingSum{eofSum{n: n, keeps: keeps}} }
}
