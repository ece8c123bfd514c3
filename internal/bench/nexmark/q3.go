package nexmark

import (
	"sync/atomic"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
)

// Q3Item is a person of Q3's states (Name set) or a category-10 auction.
type Q3Item struct {
	Person            int64 // the person's id, or the auction's seller
	Name, City, State string
	Auction           int64
	Time              int64
}

// Q3 joins sellers in Oregon, Idaho and California with their auctions in category 10,
// incrementally: an auction that comes before its seller waits for them, and a seller's
// later auctions match at once. A seller's state (the person, the waiting auctions)
// expires MaxAuctionsWaiting after their last event, as the reference's event-time timer
// clears it: an event at or after that time starts afresh.
//
// Expiry needs the event time of the whole stream, so the join runs under one key; its
// input is the 2% of events that are such people or auctions. Whether an event comes
// before or after an expiry depends on their order, so the join applies events in time
// order once the watermark (the latest time less Wait) passes them, as the reference
// sees them; events already behind it are late.
func Q3(in weir.Stream[Event], p Params, late *atomic.Int64) weir.Stream[NameCityStateID] {
	items := op.FilterMap("q3_select", in, func(e Event) (Q3Item, bool) {
		if a := e.Auction; a != nil && a.Category == 10 {
			return Q3Item{Person: a.Seller, Auction: a.ID, Time: a.DateTime}, true
		}
		if s := e.Person; s != nil && (s.State == "OR" || s.State == "ID" || s.State == "CA") {
			return Q3Item{Person: s.ID, Name: s.Name, City: s.City, State: s.State, Time: s.DateTime}, true
		}
		return Q3Item{}, false
	})
	keyed := op.KeyOn("q3_key", items, toAll[Q3Item])
	keep, wait := p.MaxAuctionsWaiting.Milliseconds(), p.Wait.Milliseconds()
	joined := op.Stateful("q3_join", keyed, func(resume Q3State, _ bool) op.ItemLogic[Q3Item, NameCityStateID, Q3State] {
		return newQ3Join(resume, keep, wait, late)
	})
	return op.KeyRm("q3_out", joined)
}

func newQ3Join(resume Q3State, keep, wait int64, late *atomic.Int64) *q3Join {
	j := &q3Join{keep: keep, wait: wait, late: late, maxTime: resume.MaxTime, sellers: map[int64]*Q3Seller{},
		expiry: minHeap[expiryAt]{less: func(a, b expiryAt) bool { return a.at < b.at }},
		queue:  minHeap[Q3Item]{less: func(a, b Q3Item) bool { return a.Time < b.Time }}}
	for i := range resume.Sellers {
		j.set(&resume.Sellers[i])
	}
	for _, it := range resume.Queued {
		j.queue.push(it)
	}
	return j
}

// Q3State is the snapshot of Q3's join.
type Q3State struct {
	MaxTime int64
	Sellers []Q3Seller
	Queued  []Q3Item
}

// Q3Seller is one seller's state in Q3: the person once seen, or the auctions waiting for
// them, and when it expires.
type Q3Seller struct {
	ID                int64
	Seen              bool
	Name, City, State string
	Pending           []int64
	Expires           int64
}

// q3Join is the logic of Q3's join.
type q3Join struct {
	keep, wait int64
	maxTime    int64
	sellers    map[int64]*Q3Seller
	expiry     minHeap[expiryAt] // (expiry, seller) for every expiry set; stale ones are skipped
	queue      minHeap[Q3Item]   // events not yet passed by the watermark
	late       *atomic.Int64
	out        []NameCityStateID
}

func (j *q3Join) set(s *Q3Seller) {
	j.sellers[s.ID] = s
	j.expiry.push(expiryAt{at: s.Expires, id: s.ID})
}

func (j *q3Join) OnItem(it Q3Item) ([]NameCityStateID, bool) {
	j.out = j.out[:0]
	j.maxTime = max(j.maxTime, it.Time)
	mark := j.maxTime - j.wait
	if it.Time < mark && j.late != nil {
		j.late.Add(1)
	}
	j.queue.push(it)
	for j.queue.len() > 0 && j.queue.min().Time <= mark {
		j.apply(j.queue.pop())
	}
	// Sellers expired before the watermark: no on-time event can reach them any more.
	for j.expiry.len() > 0 && j.expiry.min().at <= mark {
		e := j.expiry.pop()
		if s := j.sellers[e.id]; s != nil && s.Expires == e.at {
			delete(j.sellers, e.id)
		}
	}
	return j.out, false
}

// apply joins one event, in time order.
func (j *q3Join) apply(it Q3Item) {
	s := j.sellers[it.Person]
	if s == nil || it.Time >= s.Expires {
		s = &Q3Seller{ID: it.Person}
	}
	switch {
	case it.Name != "" && !s.Seen:
		s.Seen, s.Name, s.City, s.State = true, it.Name, it.City, it.State
		for _, id := range s.Pending {
			j.out = append(j.out, NameCityStateID{Name: s.Name, City: s.City, State: s.State, ID: id})
		}
		s.Pending = nil
	case it.Name != "":
		// A second record for the same person: the reference ignores it.
	case s.Seen:
		j.out = append(j.out, NameCityStateID{Name: s.Name, City: s.City, State: s.State, ID: it.Auction})
	default:
		s.Pending = append(s.Pending, it.Auction)
	}
	s.Expires = max(s.Expires, it.Time+j.keep)
	j.set(s)
}

func (j *q3Join) OnNotify() ([]NameCityStateID, bool) { return nil, false }
func (j *q3Join) OnEOF() ([]NameCityStateID, bool) {
	j.out = j.out[:0]
	for j.queue.len() > 0 {
		j.apply(j.queue.pop())
	}
	return j.out, true
}
func (j *q3Join) NotifyAt() (time.Time, bool) { return time.Time{}, false }
func (j *q3Join) Snapshot() Q3State {
	s := Q3State{MaxTime: j.maxTime, Queued: j.queue.items}
	if len(j.sellers) > 0 { // the codec decodes an empty list as nil
		s.Sellers = make([]Q3Seller, 0, len(j.sellers))
	}
	for _, seller := range j.sellers {
		s.Sellers = append(s.Sellers, *seller)
	}
	return s
}

type expiryAt struct{ at, id int64 }
