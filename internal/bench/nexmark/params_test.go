package nexmark

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParamsValidate(t *testing.T) {
	ok := DefaultParams(DefaultConfig())
	tests := []struct {
		name    string
		change  func(*Params)
		wantErr string
	}{
		{"defaults", func(*Params) {}, ""},
		{"period not dividing size", func(p *Params) { p.WindowPeriod = 3 * time.Second }, "divide"},
		{"no period", func(p *Params) { p.WindowPeriod = 0 }, "at least 1 ms"},
		{"no skip", func(p *Params) { p.AuctionSkip = 0 }, "AuctionSkip"},
		{"negative wait", func(p *Params) { p.Wait = -time.Second }, "Wait"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := ok
			tt.change(&p)
			err := p.Validate()
			if (err == nil) != (tt.wantErr == "") || (err != nil && !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestWinningResume checks that WinningBids' global step, rebuilt from its snapshot at any
// point, goes on to the same winners as a step that never stopped.
func TestWinningResume(t *testing.T) {
	c := DefaultConfig()
	var items []wbItem
	for n := range int64(20_000) {
		switch e := c.Event(n); {
		case e.Auction != nil:
			a := e.Auction
			items = append(items, wbItem{Auction: &AuctionInfo{ID: a.ID, Seller: a.Seller, Category: a.Category, Reserve: a.Reserve, DateTime: a.DateTime, Expires: a.Expires}})
		case e.Bid != nil:
			b := *e.Bid
			b.Extra = ""
			items = append(items, wbItem{Bid: b})
		}
	}
	const wait = 200 // ms: auctions close during the run
	winners := func(stopAt int) []AuctionBid {
		w := newWinning(WinningState{}, wait, nil)
		var out []AuctionBid
		for i, it := range items {
			if i == stopAt {
				w = newWinning(w.Snapshot(), wait, nil)
			}
			got, _ := w.OnItem(it)
			out = append(out, got...)
		}
		got, _ := w.OnEOF()
		return append(out, got...)
	}
	want := winners(-1)
	if len(want) == 0 {
		t.Fatal("no winners")
	}
	for _, stop := range []int{0, 1, len(items) / 3, len(items) / 2, len(items) - 1} {
		if got := winners(stop); !slices.Equal(got, want) {
			t.Errorf("resumed at item %d: %d winners, want %d", stop, len(got), len(want))
		}
	}
}
