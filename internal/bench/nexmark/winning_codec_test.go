package nexmark

import (
	"reflect"
	"slices"
	"testing"

	"github.com/weirflow/weir/internal/codec"
)

// winningItems are the items WinningBids' global step sees for events 0 to n-1, unreduced.
func winningItems(n int64) []wbItem {
	c := DefaultConfig()
	var items []wbItem
	for i := range n {
		switch e := c.Event(i); {
		case e.Auction != nil:
			a := e.Auction
			items = append(items, wbItem{Auction: &AuctionInfo{ID: a.ID, Seller: a.Seller, Category: a.Category, Reserve: a.Reserve, DateTime: a.DateTime, Expires: a.Expires}})
		case e.Bid != nil:
			b := e.Bid
			items = append(items, wbItem{Bid: Bid{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime, Extra: b.Extra[:min(len(b.Extra), 3)]}})
		}
	}
	return items
}

// TestWinningCodec snapshots WinningBids' global step mid-stream, encodes the state with
// its codec and decodes it, and checks that the state comes back whole, that a logic
// resumed from it closes the rest of the auctions as the uninterrupted one does, that the
// encoding is smaller than CBOR's, and that damaged bytes are an error.
func TestWinningCodec(t *testing.T) {
	if name := codec.For[WinningState]().Name(); name != "nexmark-winning-1" {
		t.Errorf("WinningState's states are written by codec %q, not by nexmark-winning-1", name)
	}
	items := winningItems(200_000)
	const wait = 2_000
	whole := newWinning(WinningState{}, wait, nil)
	half := newWinning(WinningState{}, wait, nil)
	var want, got []AuctionBid
	for _, it := range items[:len(items)/2] {
		out, _ := whole.OnItem(it)
		want = append(want, out...)
		out, _ = half.OnItem(it)
		got = append(got, out...)
	}
	state := half.Snapshot()
	if len(state.Open) == 0 || len(state.Closed) == 0 {
		t.Fatalf("a state of %d open and %d closed auctions: the test needs both", len(state.Open), len(state.Closed))
	}
	t.Logf("%d open, %d pending, %d closed", len(state.Open), len(state.Pending), len(state.Closed))
	back, data := roundTripCompact(t, winningCodec{}.Encode, winningCodec{}.Decode, state)

	resumed := newWinning(back, wait, nil)
	for _, it := range items[len(items)/2:] {
		out, _ := whole.OnItem(it)
		want = append(want, out...)
		out, _ = resumed.OnItem(it)
		got = append(got, out...)
	}
	out, _ := whole.OnEOF()
	want = append(want, out...)
	out, _ = resumed.OnEOF()
	got = append(got, out...)
	if !slices.Equal(got, want) {
		t.Errorf("resumed from the decoded state: %d winners, uninterrupted %d, or in another order", len(got), len(want))
	}

	for _, cut := range []int{0, 1, len(data) / 2, len(data) - 1} {
		if _, err := (winningCodec{}).Decode(data[:cut]); err == nil {
			t.Errorf("the first %d of %d bytes decoded", cut, len(data))
		}
	}
	if _, err := (winningCodec{}).Decode(append(slices.Clip(data), 0)); err == nil {
		t.Error("a byte after the state decoded")
	}
}

// roundTripCompact encodes state with a query's own codec, checks that it decodes to the
// same state in at most half of CBOR's bytes, and returns the decoded state and the bytes.
func roundTripCompact[S any](t *testing.T, encode func(S) ([]byte, error), decode func([]byte) (S, error), state S) (S, []byte) {
	t.Helper()
	data, err := encode(state)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, state) {
		t.Fatal("the decoded state differs from the encoded one")
	}
	cbor, err := codec.Marshal(state)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d bytes, CBOR %d", len(data), len(cbor))
	if len(data)*2 > len(cbor) {
		t.Errorf("%d bytes, CBOR's %d: want at most half", len(data), len(cbor))
	}
	return back, data
}
