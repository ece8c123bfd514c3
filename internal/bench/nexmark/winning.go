package nexmark

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
)

// The reference's auction categories: ids catBase to catBase+catCount-1.
const (
	catBase  = 10
	catCount = 5
)

// wbItem is a new auction (Auction set) or a bid, on their way to WinningBids' global step.
type wbItem struct {
	Auction *AuctionInfo
	Bid     Bid
}

func (it wbItem) time() int64 {
	if it.Auction != nil {
		return it.Auction.DateTime
	}
	return it.Bid.DateTime
}

// WinningBids finds the winning bid of each auction once it closes: of the bids made
// before the auction expires (a bid made before the auction itself included, one made at
// the expiry not: the reference's window [DateTime, Expires)) at or above its reserve, the
// highest, the earliest of equal ones, then the lowest bidder's. An auction closes when
// the event time, less Wait, passes its expiry; every auction still open closes at the end
// of the stream; an auction without a valid bid emits nothing. Winners come out in
// (expiry, auction id) order; their event time is AuctionBid.Time, the expiry less 1 ms.
//
// Each batch is first reduced to its auctions and, per auction, the bids that could still
// win: a bid with no higher or equal price made earlier in the batch. A bid that can win
// after the reduction could have won before it, so the global step sees fewer bids and the
// same winners.
func WinningBids(in weir.Stream[Event], p Params, late *atomic.Int64) weir.Stream[AuctionBid] {
	items := op.FlatMapBatch("winning_partial", in, func(es []Event) []wbItem {
		best := make(map[int64]int64, 128)
		out := make([]wbItem, 0, len(es)/8)
		for _, e := range es {
			switch {
			case e.Auction != nil:
				a := e.Auction
				out = append(out, wbItem{Auction: &AuctionInfo{ID: a.ID, Seller: a.Seller, Category: a.Category, Reserve: a.Reserve, DateTime: a.DateTime, Expires: a.Expires}})
			case e.Bid != nil:
				b := e.Bid
				if top, ok := best[b.Auction]; ok && b.Price < top {
					continue
				}
				best[b.Auction] = b.Price
				out = append(out, wbItem{Bid: Bid{Auction: b.Auction, Bidder: b.Bidder, Price: b.Price, DateTime: b.DateTime}})
			}
		}
		return out
	})
	keyed := op.KeyOn("winning_key", items, toAll[wbItem])
	wait := p.Wait.Milliseconds()
	wins := op.Stateful("winning", keyed, func(resume WinningState, ok bool) op.ItemLogic[wbItem, AuctionBid, WinningState] {
		return newWinning(resume, wait, late)
	})
	return op.KeyRm("winning_out", wins)
}

// WinningState is the snapshot of WinningBids' global step.
type WinningState struct {
	MaxTime int64
	Open    []OpenAuction
	Pending []Bid
	Closed  []AuctionInfo
}

// OpenAuction is an auction not yet closed and its best valid bid so far.
type OpenAuction struct {
	Auction AuctionInfo
	Best    Bid
	HasBest bool
}

func (o *OpenAuction) offer(b Bid) {
	if b.DateTime >= o.Auction.Expires || b.Price < o.Auction.Reserve {
		return
	}
	if !o.HasBest || beats(b, o.Best) {
		o.Best, o.HasBest = b, true
	}
}

// beats reports whether bid a wins over bid b: a higher price, then an earlier time, then
// a lower bidder.
func beats(a, b Bid) bool {
	if a.Price != b.Price {
		return a.Price > b.Price
	}
	if a.DateTime != b.DateTime {
		return a.DateTime < b.DateTime
	}
	return a.Bidder < b.Bidder
}

// winning is the logic of WinningBids' global step.
type winning struct {
	wait    int64
	maxTime int64
	open    map[int64]*OpenAuction
	byClose minHeap[*OpenAuction]
	// pending holds bids on auctions not seen yet (bids may name an auction a few ids
	// ahead of the last one created, and partitions run apart by up to Wait).
	pending map[int64][]Bid
	// closed holds the auctions closed in the last Wait or two, to tell a late bid from
	// one too late for its auction.
	closed  map[int64]AuctionInfo
	closing []AuctionInfo // closed, in the order they closed, to forget them in that order
	items   int
	late    *atomic.Int64
	out     []AuctionBid
}

func newWinning(resume WinningState, wait int64, late *atomic.Int64) *winning {
	w := &winning{wait: wait, maxTime: resume.MaxTime, open: map[int64]*OpenAuction{}, byClose: minHeap[*OpenAuction]{less: closesFirst}, pending: map[int64][]Bid{}, closed: map[int64]AuctionInfo{}, late: late}
	for i := range resume.Open {
		o := resume.Open[i]
		w.add(&o)
	}
	for _, b := range resume.Pending {
		w.pending[b.Auction] = append(w.pending[b.Auction], b)
	}
	for _, a := range resume.Closed {
		w.closed[a.ID] = a
	}
	w.closing = resume.Closed
	return w
}

func (w *winning) add(o *OpenAuction) {
	w.open[o.Auction.ID] = o
	w.byClose.push(o)
}

func (w *winning) OnItem(it wbItem) ([]AuctionBid, bool) {
	w.maxTime = max(w.maxTime, it.time())
	mark := w.maxTime - w.wait
	if a := it.Auction; a != nil {
		o := &OpenAuction{Auction: *a}
		for _, b := range w.pending[a.ID] {
			o.offer(b)
		}
		delete(w.pending, a.ID)
		w.add(o)
	} else if o := w.open[it.Bid.Auction]; o != nil {
		o.offer(it.Bid)
	} else if a, ok := w.closed[it.Bid.Auction]; ok {
		// A bid that would have counted, had it come before its auction closed, is late.
		if it.Bid.DateTime < a.Expires && it.Bid.Price >= a.Reserve && w.late != nil {
			w.late.Add(1)
		}
	} else {
		w.pending[it.Bid.Auction] = append(w.pending[it.Bid.Auction], it.Bid)
	}
	w.items++
	if w.items%(1<<16) == 0 {
		w.prune(mark - w.wait)
	}
	return w.close(mark), false
}

// prune forgets the auctions closed before before, and drops the pending bids made before
// it: their auction was never made.
func (w *winning) prune(before int64) {
	for id, bids := range w.pending {
		if bids[len(bids)-1].DateTime < before {
			delete(w.pending, id)
		}
	}
	for len(w.closing) > 0 && w.closing[0].Expires < before {
		delete(w.closed, w.closing[0].ID)
		w.closing = w.closing[1:]
	}
}

// close closes the auctions that expire at or before mark, and returns their winners.
func (w *winning) close(mark int64) []AuctionBid {
	w.out = w.out[:0]
	for w.byClose.len() > 0 && w.byClose.min().Auction.Expires <= mark {
		o := w.byClose.pop()
		delete(w.open, o.Auction.ID)
		w.closed[o.Auction.ID] = o.Auction
		w.closing = append(w.closing, o.Auction)
		if o.HasBest {
			w.out = append(w.out, AuctionBid{Auction: o.Auction, Bid: o.Best})
		}
	}
	return w.out
}

func (w *winning) OnNotify() ([]AuctionBid, bool) { return nil, false }
func (w *winning) OnEOF() ([]AuctionBid, bool)    { return w.close(math.MaxInt64), true }
func (w *winning) NotifyAt() (time.Time, bool)    { return time.Time{}, false }
func (w *winning) Snapshot() WinningState {
	// The codec decodes an empty list as nil; the snapshot makes none either.
	s := WinningState{MaxTime: w.maxTime, Closed: w.closing}
	if len(w.byClose.items) > 0 {
		s.Open = make([]OpenAuction, len(w.byClose.items))
	}
	for i, o := range w.byClose.items {
		s.Open[i] = *o
	}
	n := 0
	for _, bids := range w.pending {
		n += len(bids)
	}
	if n > 0 {
		s.Pending = make([]Bid, 0, n)
	}
	for _, bids := range w.pending {
		s.Pending = append(s.Pending, bids...)
	}
	return s
}

// closesFirst orders open auctions by expiry, then id.
func closesFirst(a, b *OpenAuction) bool {
	if a.Auction.Expires != b.Auction.Expires {
		return a.Auction.Expires < b.Auction.Expires
	}
	return a.Auction.ID < b.Auction.ID
}
