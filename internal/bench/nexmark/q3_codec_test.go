package nexmark

import (
	"slices"
	"testing"

	"github.com/weirflow/weir/internal/codec"
)

// TestQ3Codec snapshots Q3's join mid-stream, encodes the state with its codec and
// decodes it, and checks that the state comes back whole, that a join resumed from it
// gives the rest of the outputs as the uninterrupted one does, that the encoding is
// smaller than CBOR's, and that damaged bytes are an error.
func TestQ3Codec(t *testing.T) {
	if name := codec.For[Q3State]().Name(); name != "nexmark-q3-1" {
		t.Errorf("Q3State's states are written by codec %q, not by nexmark-q3-1", name)
	}
	c := DefaultConfig()
	var items []Q3Item
	for i := range int64(400_000) {
		switch e := c.Event(i); {
		case e.Auction != nil && e.Auction.Category == 10:
			items = append(items, Q3Item{Person: e.Auction.Seller, Auction: e.Auction.ID, Time: e.Auction.DateTime})
		case e.Person != nil && (e.Person.State == "OR" || e.Person.State == "ID" || e.Person.State == "CA"):
			s := e.Person
			items = append(items, Q3Item{Person: s.ID, Name: s.Name, City: s.City, State: s.State, Time: s.DateTime})
		}
	}
	const keep, wait = 10_000, 2_000
	whole := newQ3Join(Q3State{}, keep, wait, nil)
	half := newQ3Join(Q3State{}, keep, wait, nil)
	var want, got []NameCityStateID
	run := func(j *q3Join, its []Q3Item, out *[]NameCityStateID) {
		for _, it := range its {
			o, _ := j.OnItem(it)
			*out = append(*out, o...)
		}
	}
	run(whole, items[:len(items)/2], &want)
	run(half, items[:len(items)/2], &got)
	state := half.Snapshot()
	if len(state.Sellers) == 0 || len(state.Queued) == 0 {
		t.Fatalf("a state of %d sellers and %d queued events: the test needs both", len(state.Sellers), len(state.Queued))
	}
	t.Logf("%d sellers, %d queued", len(state.Sellers), len(state.Queued))
	back, data := roundTripCompact(t, q3Codec{}.Encode, q3Codec{}.Decode, state)
	resumed := newQ3Join(back, keep, wait, nil)
	run(whole, items[len(items)/2:], &want)
	run(resumed, items[len(items)/2:], &got)
	o, _ := whole.OnEOF()
	want = append(want, o...)
	o, _ = resumed.OnEOF()
	got = append(got, o...)
	if len(want) == 0 || !slices.Equal(got, want) {
		t.Errorf("resumed from the decoded state: %d outputs, uninterrupted %d, or in another order", len(got), len(want))
	}
	for _, cut := range []int{0, 1, len(data) / 2, len(data) - 1} {
		if _, err := (q3Codec{}).Decode(data[:cut]); err == nil {
			t.Errorf("the first %d of %d bytes decoded", cut, len(data))
		}
	}
	if _, err := (q3Codec{}).Decode(append(slices.Clip(data), 0)); err == nil {
		t.Error("a byte after the state decoded")
	}
}
