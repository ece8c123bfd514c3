package nexmark

import (
	"cmp"
	"slices"
)

// The reference computations: each query written as a plain loop over the events in event
// number order, with maps and slices and no weir, to check the dataflows against.

func ref0(es []Event, _ Params) []Event { return es }

func ref1(es []Event, _ Params) []Bid {
	var out []Bid
	for _, e := range es {
		if e.Bid != nil {
			b := *e.Bid
			b.Price = b.Price * 89 / 100
			out = append(out, b)
		}
	}
	return out
}

func ref2(es []Event, p Params) []AuctionPrice {
	var out []AuctionPrice
	for _, e := range es {
		if e.Bid != nil && e.Bid.Auction%p.AuctionSkip == 0 {
			out = append(out, AuctionPrice{Auction: e.Bid.Auction, Price: e.Bid.Price})
		}
	}
	return out
}

func ref3(es []Event, p Params) []NameCityStateID {
	type seller struct {
		person  *Person
		pending []int64
		expires int64
	}
	keep := p.MaxAuctionsWaiting.Milliseconds()
	sellers := map[int64]*seller{}
	get := func(id, t int64) *seller {
		s := sellers[id]
		if s == nil || t >= s.expires {
			s = &seller{}
			sellers[id] = s
		}
		s.expires = max(s.expires, t+keep)
		return s
	}
	var out []NameCityStateID
	for _, e := range es {
		switch {
		case e.Person != nil && (e.Person.State == "OR" || e.Person.State == "ID" || e.Person.State == "CA"):
			s := get(e.Person.ID, e.Person.DateTime)
			if s.person == nil {
				s.person = e.Person
				for _, id := range s.pending {
					out = append(out, NameCityStateID{Name: s.person.Name, City: s.person.City, State: s.person.State, ID: id})
				}
				s.pending = nil
			}
		case e.Auction != nil && e.Auction.Category == 10:
			s := get(e.Auction.Seller, e.Auction.DateTime)
			if s.person != nil {
				out = append(out, NameCityStateID{Name: s.person.Name, City: s.person.City, State: s.person.State, ID: e.Auction.ID})
			} else {
				s.pending = append(s.pending, e.Auction.ID)
			}
		}
	}
	return out
}

// refWinningBids returns each auction's winning bid, in (expiry, id) order: of the bids in
// the auction's window [DateTime, Expires), at or above its reserve, the highest, then the
// earliest, then the lowest bidder's. The reference merges a bid into its auction's window
// when the bid's time is before the window's end, so a bid made before the auction counts,
// and one made at its expiry does not.
func refWinningBids(es []Event) []AuctionBid {
	bids := map[int64][]Bid{}
	for _, e := range es {
		if e.Bid != nil {
			b := *e.Bid
			b.Extra = ""
			bids[b.Auction] = append(bids[b.Auction], b)
		}
	}
	var out []AuctionBid
	for _, e := range es {
		a := e.Auction
		if a == nil {
			continue
		}
		var best *Bid
		for i, b := range bids[a.ID] {
			if b.DateTime < a.Expires && b.Price >= a.Reserve && (best == nil || beats(b, *best)) {
				best = &bids[a.ID][i]
			}
		}
		if best != nil {
			info := AuctionInfo{ID: a.ID, Seller: a.Seller, Category: a.Category, Reserve: a.Reserve, DateTime: a.DateTime, Expires: a.Expires}
			out = append(out, AuctionBid{Auction: info, Bid: *best})
		}
	}
	slices.SortFunc(out, func(x, y AuctionBid) int {
		return cmp.Or(cmp.Compare(x.Auction.Expires, y.Auction.Expires), cmp.Compare(x.Auction.ID, y.Auction.ID))
	})
	return out
}

// slidingStarts returns the starts of the sliding windows that hold time t.
func slidingStarts(t int64, p Params) []int64 {
	size, period := p.sizeMs(), p.periodMs()
	var starts []int64
	for s := floorDiv(t, period) * period; s > t-size; s -= period {
		starts = append(starts, s)
	}
	return starts
}

func ref4(es []Event, p Params) []CategoryPrice {
	type slot struct{ start, category int64 }
	sums, counts := map[slot]int64{}, map[slot]int64{}
	for _, w := range refWinningBids(es) {
		// The reference's WinningBids stamps a winner with the last instant of its
		// auction's window [DateTime, Expires).
		for _, s := range slidingStarts(w.Auction.Expires-1, p) {
			k := slot{s, w.Auction.Category}
			sums[k] += w.Bid.Price
			counts[k]++
		}
	}
	var out []CategoryPrice
	for k, n := range counts {
		out = append(out, CategoryPrice{WindowStart: k.start, Category: k.category, Price: roundDiv(sums[k], n)})
	}
	return out
}

func ref5(es []Event, p Params) []AuctionCount {
	counts := map[int64]map[int64]int64{}
	for _, e := range es {
		if e.Bid == nil {
			continue
		}
		for _, s := range slidingStarts(e.Bid.DateTime, p) {
			if counts[s] == nil {
				counts[s] = map[int64]int64{}
			}
			counts[s][e.Bid.Auction]++
		}
	}
	var out []AuctionCount
	for s, c := range counts {
		out = append(out, hottest(s, c)...)
	}
	return out
}

func ref6(es []Event, _ Params) []SellerPrice {
	last := map[int64][]Bid{}
	var out []SellerPrice
	for _, w := range refWinningBids(es) {
		bids := append(last[w.Auction.Seller], w.Bid)
		slices.SortStableFunc(bids, func(x, y Bid) int {
			return cmp.Or(cmp.Compare(x.DateTime, y.DateTime), cmp.Compare(x.Price, y.Price))
		})
		if len(bids) > 10 {
			bids = bids[1:]
		}
		last[w.Auction.Seller] = bids
		var sum int64
		for _, b := range bids {
			sum += b.Price
		}
		out = append(out, SellerPrice{Seller: w.Auction.Seller, Price: roundDiv(sum, int64(len(bids)))})
	}
	return out
}

func ref7(es []Event, p Params) []WindowBid {
	size := p.sizeMs()
	top := map[int64][]Bid{}
	for _, e := range es {
		if e.Bid == nil {
			continue
		}
		s := floorDiv(e.Bid.DateTime, size) * size
		switch t := top[s]; {
		case len(t) == 0 || e.Bid.Price > t[0].Price:
			top[s] = []Bid{*e.Bid}
		case e.Bid.Price == t[0].Price:
			top[s] = append(t, *e.Bid)
		}
	}
	var out []WindowBid
	for s, bids := range top {
		for _, b := range bids {
			out = append(out, WindowBid{WindowStart: s, Bid: b})
		}
	}
	return out
}

func ref8(es []Event, p Params) []IDNameReserve {
	size := p.sizeMs()
	type key struct{ start, person int64 }
	names := map[key]string{}
	for _, e := range es {
		if s := e.Person; s != nil {
			names[key{floorDiv(s.DateTime, size) * size, s.ID}] = s.Name
		}
	}
	var out []IDNameReserve
	for _, e := range es {
		if a := e.Auction; a != nil {
			k := key{floorDiv(a.DateTime, size) * size, a.Seller}
			if name, ok := names[k]; ok {
				out = append(out, IDNameReserve{WindowStart: k.start, ID: a.Seller, Name: name, Reserve: a.Reserve})
			}
		}
	}
	return out
}
