package nexmark

import (
	"cmp"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// winningEvents is a hand-built stream, in time order, whose Q4 and Q6 results are worked
// out by hand below. b is a multiple of the 5 s period, so window starts are easy to read.
//
//	auction 1, seller 100, category 10, reserve 100, open [b+1000, b+10000)
//	    bid 500 at b+2000: wins
//	    bid 900 at b+10000: at the expiry, outside the window, so it does not count
//	auction 2, seller 200, category 11, reserve 45, open [b+3000, b+7000)
//	    bid 50 at b+2500, before the auction exists: it counts, and wins
//	    bid 40 at b+6000: under the reserve
//	    bid 50 at b+6999: as high as the winner, but later
//	auction 3, seller 100, category 10, reserve 100, open [b+4000, b+5000)
//	    bid 300 at b+4999: wins
//
// A winning bid's event time is its auction's expiry less 1 ms, the last instant of the
// auction's window: auction 1's at b+9999, auction 2's at b+6999, auction 3's at b+4999.
// Stamped at the expiry instead, auctions 1 and 3 land in the next 5 s period.
const winningBase = 1_000_000

func winningEvents() []Event {
	b := int64(winningBase)
	auction := func(id, seller, category, reserve, start, expires int64) Event {
		return Event{Auction: &Auction{ID: id, Seller: seller, Category: category, Reserve: reserve, DateTime: b + start, Expires: b + expires}}
	}
	bid := func(auction, bidder, price, at int64) Event {
		return Event{Bid: &Bid{Auction: auction, Bidder: bidder, Price: price, DateTime: b + at}}
	}
	return []Event{
		auction(1, 100, 10, 100, 1000, 10000),
		bid(1, 7, 500, 2000),
		bid(2, 8, 50, 2500),
		auction(2, 200, 11, 45, 3000, 7000),
		auction(3, 100, 10, 100, 4000, 5000),
		bid(3, 9, 300, 4999),
		bid(2, 9, 40, 6000),
		bid(2, 7, 50, 6999),
		bid(1, 8, 900, 10000),
		{Person: &Person{ID: 300, Name: "Late Comer", DateTime: b + 30000}},
	}
}

// wantQ4Winning is Q4 over winningEvents, by hand: each winning bid counts in the two 10 s
// windows, starting every 5 s, that hold its time.
//
//	auction 3 (300, category 10) at b+4999: windows b-5000 and b
//	auction 2 (50, category 11) at b+6999:  windows b and b+5000
//	auction 1 (500, category 10) at b+9999: windows b and b+5000
func wantQ4Winning() []CategoryPrice {
	b := int64(winningBase)
	return []CategoryPrice{
		{WindowStart: b - 5000, Category: 10, Price: 300},
		{WindowStart: b, Category: 10, Price: 400}, // (300+500)/2
		{WindowStart: b, Category: 11, Price: 50},
		{WindowStart: b + 5000, Category: 10, Price: 500},
		{WindowStart: b + 5000, Category: 11, Price: 50},
	}
}

// wantQ6Winning is Q6 over winningEvents, by hand, in order of close: auction 3 (seller
// 100, 300), auction 2 (seller 200, 50), then auction 1 (seller 100, 500: the average of
// its last two, 400). Had the bid at auction 1's expiry counted, the last would be 600.
func wantQ6Winning() []SellerPrice {
	return []SellerPrice{{Seller: 100, Price: 300}, {Seller: 200, Price: 50}, {Seller: 100, Price: 400}}
}

func winningParams() Params {
	p := DefaultParams(DefaultConfig())
	p.Wait = time.Second // auctions and windows close during the stream, not only at its end
	return p
}

func sortedQ4(out []CategoryPrice) []CategoryPrice {
	out = slices.Clone(out)
	slices.SortFunc(out, func(x, y CategoryPrice) int {
		return cmp.Or(cmp.Compare(x.WindowStart, y.WindowStart), cmp.Compare(x.Category, y.Category))
	})
	return out
}

// TestQ4WinningTime checks Q4 and its reference against results worked out by hand: a
// winning bid counts at its auction's expiry less 1 ms, as the reference's WinningBids
// stamps it, and a bid made at the expiry does not count.
func TestQ4WinningTime(t *testing.T) {
	p := winningParams()
	want := wantQ4Winning()
	if got := sortedQ4(ref4(winningEvents(), p)); !slices.Equal(got, want) {
		t.Errorf("ref4:\n got %v\nwant %v", got, want)
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("%dw", workers), func(t *testing.T) {
			flow := weir.NewDataflow("q4_winning")
			in := op.Input("events", flow, weirtest.NewSource(winningEvents()...))
			out := weirtest.NewSink[CategoryPrice]()
			op.Output("out", Q4(in, p, nil), out)
			weirtest.Run(t, flow, workers)
			if got := sortedQ4(out.Items()); !slices.Equal(got, want) {
				t.Errorf("Q4:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// TestQ6WinningEdges checks Q6 and its reference against results worked out by hand: a
// bid made at its auction's expiry does not count, one made before the auction does.
func TestQ6WinningEdges(t *testing.T) {
	p := winningParams()
	want := wantQ6Winning()
	if got := bySeller(ref6(winningEvents(), p)); !slices.Equal(got, bySeller(want)) {
		t.Errorf("ref6:\n got %v\nwant %v", got, want)
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("%dw", workers), func(t *testing.T) {
			flow := weir.NewDataflow("q6_winning")
			in := op.Input("events", flow, weirtest.NewSource(winningEvents()...))
			out := weirtest.NewSink[SellerPrice]()
			op.Output("out", Q6(in, p, nil), out)
			weirtest.Run(t, flow, workers)
			if got := bySeller(out.Items()); !slices.Equal(got, bySeller(want)) {
				t.Errorf("Q6:\n got %v\nwant %v", got, want)
			}
		})
	}
}

// bySeller orders Q6's outputs by seller, keeping each seller's in the order they came:
// only that order is defined.
func bySeller(out []SellerPrice) []SellerPrice {
	out = slices.Clone(out)
	slices.SortStableFunc(out, func(x, y SellerPrice) int { return cmp.Compare(x.Seller, y.Seller) })
	return out
}
