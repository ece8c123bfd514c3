package nexmark

import (
	"cmp"
	"errors"
	"math"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/window"
)

// Params are the queries' settings. DefaultParams has the reference's values.
type Params struct {
	// WindowSize is the length of the windows of Q4, Q5, Q7 and Q8 (10 s).
	WindowSize time.Duration
	// WindowPeriod is how often the sliding windows of Q4 and Q5 start (5 s). It must
	// divide WindowSize.
	WindowPeriod time.Duration
	// AuctionSkip is Q2's selection: bids on auctions whose id is a multiple of it (123).
	AuctionSkip int64
	// MaxAuctionsWaiting is how long Q3 keeps a seller's state after its last event
	// (600 s of event time).
	MaxAuctionsWaiting time.Duration
	// Wait is how far, in event time, an event may trail the latest event seen and still
	// count: the skew allowed between partitions read by different workers. Windows close
	// and auctions are decided this long after their end.
	Wait time.Duration
}

// DefaultParams returns the reference's settings, with a Wait of the event time of 2^20
// events at c's rate: 16 times the skew the Source allows between its partitions.
func DefaultParams(c Config) Params {
	return Params{
		WindowSize:         10 * time.Second,
		WindowPeriod:       5 * time.Second,
		AuctionSkip:        123,
		MaxAuctionsWaiting: 600 * time.Second,
		Wait:               time.Duration(float64(1<<20) / c.Rate * float64(time.Second)),
	}
}

// Validate reports whether the queries can run with p.
func (p Params) Validate() error {
	switch {
	case p.WindowPeriod < time.Millisecond || p.WindowSize < time.Millisecond:
		return errors.New("weir: nexmark: WindowSize and WindowPeriod must be at least 1 ms")
	case p.WindowSize%p.WindowPeriod != 0:
		// Q5 counts per period and adds the periods of a window up.
		return errors.New("weir: nexmark: WindowPeriod must divide WindowSize")
	case p.AuctionSkip <= 0 || p.Wait < 0 || p.MaxAuctionsWaiting < 0:
		return errors.New("weir: nexmark: AuctionSkip must be positive, Wait and MaxAuctionsWaiting not negative")
	}
	return nil
}

func (p Params) sizeMs() int64   { return p.WindowSize.Milliseconds() }
func (p Params) periodMs() int64 { return p.WindowPeriod.Milliseconds() }

// epoch aligns every window to the Unix epoch, as the reference's windows are.
var epoch = time.UnixMilli(0)

// all is the key of the steps that need one event-time order over the whole stream: a
// window's global maximum, an auction's close. Watermarks are per key, so these steps see
// every partition's events under one key, after a per-batch reduction that keeps them few.
const all = "all"

func toAll[X any](X) string { return all }

// Output types of the queries.
type (
	// AuctionPrice is Q2's output.
	AuctionPrice struct{ Auction, Price int64 }
	// NameCityStateID is Q3's output: a seller and one of their auctions.
	NameCityStateID struct {
		Name, City, State string
		ID                int64
	}
	// CategoryPrice is Q4's output: the average winning price of a category's auctions
	// whose winning bids' time (AuctionBid.Time) is in the window starting at WindowStart
	// (ms).
	CategoryPrice struct{ WindowStart, Category, Price int64 }
	// AuctionCount is Q5's output: an auction with the most bids in a window.
	AuctionCount struct{ WindowStart, Auction, Count int64 }
	// SellerPrice is Q6's output: a seller's average selling price over their last 10
	// closed auctions.
	SellerPrice struct{ Seller, Price int64 }
	// WindowBid is Q7's output: a bid with the highest price of its window.
	WindowBid struct {
		WindowStart int64
		Bid         Bid
	}
	// IDNameReserve is Q8's output: a person who opened an auction in the same window as
	// they joined, with the auction's reserve.
	IDNameReserve struct {
		WindowStart, ID int64
		Name            string
		Reserve         int64
	}
	// AuctionBid is a closed auction and its winning bid (Q4 and Q6). Its event time is
	// Time.
	AuctionBid struct {
		Auction AuctionInfo
		Bid     Bid
	}
	// AuctionInfo is the part of an auction that winning bids need.
	AuctionInfo struct{ ID, Seller, Category, Reserve, DateTime, Expires int64 }
)

// Time is the event time of a winning bid: its auction's expiry less 1 ms. The reference
// groups an auction with its bids in a window [DateTime, Expires) and, as any window's
// output, stamps the winner with the window's last instant; Q4's sliding windows place it
// by that time, so a winner whose auction expires on a period boundary counts in the
// windows before the boundary, not after it.
func (w AuctionBid) Time() int64 { return w.Auction.Expires - 1 }

// Q0 is the pass-through: every event, unchanged, through one step.
func Q0(in weir.Stream[Event], _ Params) weir.Stream[Event] {
	return op.Map("q0", in, func(e Event) Event { return e })
}

// Q1 converts bid prices from dollars to euros.
func Q1(in weir.Stream[Event], _ Params) weir.Stream[Bid] {
	return op.FilterMap("q1", in, func(e Event) (Bid, bool) {
		if e.Bid == nil {
			return Bid{}, false
		}
		b := *e.Bid
		b.Price = b.Price * 89 / 100
		return b, true
	})
}

// Q2 selects the bids on every AuctionSkip-th auction.
func Q2(in weir.Stream[Event], p Params) weir.Stream[AuctionPrice] {
	return op.FilterMap("q2", in, func(e Event) (AuctionPrice, bool) {
		if e.Bid == nil || e.Bid.Auction%p.AuctionSkip != 0 {
			return AuctionPrice{}, false
		}
		return AuctionPrice{Auction: e.Bid.Auction, Price: e.Bid.Price}, true
	})
}

// windowStart returns the start, in ms, of window id of windows starting every period.
func windowStart(id int64, period time.Duration) int64 { return id * period.Milliseconds() }

// roundDiv is Java's Math.round of sum/n, as the reference rounds averages.
func roundDiv(sum, n int64) int64 { return int64(math.Floor(float64(sum)/float64(n) + 0.5)) }

// The windowed queries and those built on WinningBids add to late, if not nil, the events
// that came after the Wait allowed and so did not count: a run with any is not comparable
// to the reference.

// Q4 averages, per category, the winning prices of the auctions whose winning bid's time
// (AuctionBid.Time: the expiry less 1 ms) falls in each sliding window.
func Q4(in weir.Stream[Event], p Params, late *atomic.Int64) weir.Stream[CategoryPrice] {
	wins := WinningBids(in, p, late)
	keyed := op.KeyOn("q4_key", wins, toAll[AuctionBid])
	clock := window.EventClock(func(w AuctionBid) time.Time { return Millis(w.Time()) }, p.Wait)
	type acc struct{ Sum, N [catCount]int64 }
	out := window.Fold("q4_avg", keyed, clock, window.Sliding(p.WindowSize, p.WindowPeriod, epoch),
		func() *acc { return new(acc) },
		func(a *acc, w AuctionBid) *acc {
			c := w.Auction.Category - catBase
			a.Sum[c] += w.Bid.Price
			a.N[c]++
			return a
		},
		func(a, b *acc) *acc {
			for c := range a.N {
				a.Sum[c] += b.Sum[c]
				a.N[c] += b.N[c]
			}
			return a
		}, window.Ordered(false))
	countLate("q4_late", out.Late, late)
	return op.FlatMap("q4_out", op.KeyRm("q4_unkey", out.Down), func(w window.Windowed[*acc]) []CategoryPrice {
		var res []CategoryPrice
		for c, n := range w.Value.N {
			if n > 0 {
				res = append(res, CategoryPrice{WindowStart: windowStart(w.Window, p.WindowPeriod), Category: catBase + int64(c), Price: roundDiv(w.Value.Sum[c], n)})
			}
		}
		return res
	})
}

// q5Part is a batch's count of bids on one auction within one period of Q5's windows.
type q5Part struct{ Auction, Count, Time int64 }

// Q5 finds, for each sliding window, the auctions with the most bids. Each batch is first
// reduced to a count per auction and period, so the global step sees a few counts per
// batch instead of every bid.
func Q5(in weir.Stream[Event], p Params, late *atomic.Int64) weir.Stream[AuctionCount] {
	period := p.periodMs()
	parts := op.FlatMapBatch("q5_partial", in, func(es []Event) []q5Part {
		type slot struct{ pane, auction int64 }
		idx := make(map[slot]int, 128)
		var out []q5Part
		for _, e := range es {
			b := e.Bid
			if b == nil {
				continue
			}
			s := slot{pane: floorDiv(b.DateTime, period), auction: b.Auction}
			if i, ok := idx[s]; ok {
				out[i].Count++
				out[i].Time = max(out[i].Time, b.DateTime)
				continue
			}
			idx[s] = len(out)
			out = append(out, q5Part{Auction: b.Auction, Count: 1, Time: b.DateTime})
		}
		return out
	})
	keyed := op.KeyOn("q5_key", parts, toAll[q5Part])
	clock := window.EventClock(func(x q5Part) time.Time { return Millis(x.Time) }, p.Wait)
	out := window.Fold("q5_count", keyed, clock, window.Sliding(p.WindowSize, p.WindowPeriod, epoch),
		func() map[int64]int64 { return map[int64]int64{} },
		func(m map[int64]int64, x q5Part) map[int64]int64 { m[x.Auction] += x.Count; return m },
		func(a, b map[int64]int64) map[int64]int64 {
			for k, v := range b {
				a[k] += v
			}
			return a
		}, window.Ordered(false))
	countLate("q5_late", out.Late, late)
	return op.FlatMap("q5_max", op.KeyRm("q5_unkey", out.Down), func(w window.Windowed[map[int64]int64]) []AuctionCount {
		return hottest(windowStart(w.Window, p.WindowPeriod), w.Value)
	})
}

// hottest returns the auctions of counts with the highest count, in id order.
func hottest(start int64, counts map[int64]int64) []AuctionCount {
	var top int64
	for _, n := range counts {
		top = max(top, n)
	}
	var out []AuctionCount
	for a, n := range counts {
		if n == top {
			out = append(out, AuctionCount{WindowStart: start, Auction: a, Count: n})
		}
	}
	slices.SortFunc(out, func(x, y AuctionCount) int { return cmp.Compare(x.Auction, y.Auction) })
	return out
}

// Q6 averages each seller's selling price over their last 10 closed auctions, updated at
// each close. "Last" orders winning bids by time, then price, as the reference does.
func Q6(in weir.Stream[Event], p Params, late *atomic.Int64) weir.Stream[SellerPrice] {
	wins := WinningBids(in, p, late)
	keyed := op.KeyOn("q6_key", wins, func(w AuctionBid) string { return strconv.FormatInt(w.Auction.Seller, 10) })
	avg := op.StatefulMap("q6_avg", keyed, func(st *op.State[SellerBids], w AuctionBid) SellerPrice {
		last, _ := st.Get()
		last = lastBids(last, w.Bid)
		st.Set(last)
		var sum int64
		for _, b := range last {
			sum += b.Price
		}
		return SellerPrice{Seller: w.Auction.Seller, Price: roundDiv(sum, int64(len(last)))}
	})
	return op.KeyRm("q6_out", avg)
}

// lastBids adds b to bids, kept in (time, price) order, and drops the first if there are
// more than 10.
func lastBids(bids SellerBids, b Bid) SellerBids {
	b.Extra = ""
	i, _ := slices.BinarySearchFunc(bids, b, func(x, y Bid) int {
		return cmp.Or(cmp.Compare(x.DateTime, y.DateTime), cmp.Compare(x.Price, y.Price))
	})
	bids = slices.Insert(bids, i, b)
	if len(bids) > 10 {
		bids = slices.Delete(bids, 0, 1)
	}
	return bids
}

// Q7 finds the bids with the highest price of each tumbling window. Each batch is first
// reduced to its highest bids per window.
func Q7(in weir.Stream[Event], p Params, late *atomic.Int64) weir.Stream[WindowBid] {
	size := p.sizeMs()
	highest := op.FlatMapBatch("q7_partial", in, func(es []Event) []Bid {
		// Events come in time order within a partition, so each window is one run of the
		// batch: out keeps the current run's highest bids from index run on.
		var out []Bid
		win, price, run := int64(math.MinInt64), int64(-1), 0
		for _, e := range es {
			b := e.Bid
			if b == nil {
				continue
			}
			if w := floorDiv(b.DateTime, size); w != win {
				win, price, run = w, -1, len(out)
			}
			switch {
			case b.Price > price:
				price = b.Price
				out = append(out[:run], *b)
			case b.Price == price:
				out = append(out, *b)
			}
		}
		return out
	})
	keyed := op.KeyOn("q7_key", highest, toAll[Bid])
	clock := window.EventClock(func(b Bid) time.Time { return Millis(b.DateTime) }, p.Wait)
	out := window.Fold("q7_max", keyed, clock, window.Tumbling(p.WindowSize, epoch),
		func() []Bid { return nil },
		func(top []Bid, b Bid) []Bid {
			switch {
			case len(top) == 0 || b.Price > top[0].Price:
				return append(top[:0], b)
			case b.Price == top[0].Price:
				return append(top, b)
			}
			return top
		},
		func(a, b []Bid) []Bid { return append(a, b...) }, window.Ordered(false))
	countLate("q7_late", out.Late, late)
	return op.FlatMap("q7_out", op.KeyRm("q7_unkey", out.Down), func(w window.Windowed[[]Bid]) []WindowBid {
		out := make([]WindowBid, len(w.Value))
		for i, b := range w.Value {
			out[i] = WindowBid{WindowStart: windowStart(w.Window, p.WindowSize), Bid: b}
		}
		return out
	})
}

// q8Item is a new person (Name set) or a new auction of Q8.
type q8Item struct {
	Person  int64 // the person's id, or the auction's seller
	Name    string
	Reserve int64
	Time    int64
}

// Q8 joins the people who joined in each tumbling window with the auctions they opened in
// the same window.
func Q8(in weir.Stream[Event], p Params, late *atomic.Int64) weir.Stream[IDNameReserve] {
	items := op.FilterMap("q8_select", in, func(e Event) (q8Item, bool) {
		if a := e.Auction; a != nil {
			return q8Item{Person: a.Seller, Reserve: a.Reserve, Time: a.DateTime}, true
		}
		if s := e.Person; s != nil {
			return q8Item{Person: s.ID, Name: s.Name, Time: s.DateTime}, true
		}
		return q8Item{}, false
	})
	keyed := op.KeyOn("q8_key", items, toAll[q8Item])
	clock := window.EventClock(func(x q8Item) time.Time { return Millis(x.Time) }, p.Wait)
	out := window.Collect("q8_window", keyed, clock, window.Tumbling(p.WindowSize, epoch), window.Ordered(false))
	countLate("q8_late", out.Late, late)
	return op.FlatMap("q8_join", op.KeyRm("q8_unkey", out.Down), func(w window.Windowed[[]q8Item]) []IDNameReserve {
		return joinWindow(windowStart(w.Window, p.WindowSize), w.Value)
	})
}

// joinWindow pairs a window's people with their auctions, in the items' order.
func joinWindow(start int64, items []q8Item) []IDNameReserve {
	names := make(map[int64]string)
	for _, it := range items {
		if it.Name != "" {
			names[it.Person] = it.Name
		}
	}
	var out []IDNameReserve
	for _, it := range items {
		if name, ok := names[it.Person]; ok && it.Name == "" {
			out = append(out, IDNameReserve{WindowStart: start, ID: it.Person, Name: name, Reserve: it.Reserve})
		}
	}
	return out
}

// countLate adds the number of late items of a window step to late.
func countLate[V any](id string, s weir.KeyedStream[window.Windowed[V]], late *atomic.Int64) {
	op.Output(id, op.KeyRm(id+"_unkey", s), sink.Func(func(items []window.Windowed[V]) error {
		if late != nil {
			late.Add(int64(len(items)))
		}
		return nil
	}))
}

// floorDiv is a/b rounded down.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) != (b < 0) {
		q--
	}
	return q
}
