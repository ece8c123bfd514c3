package window

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Windower assigns timestamps to windows. Build one with Tumbling, Sliding or Session;
// invalid settings are a build error of the operator that uses the windower.
type Windower struct {
	session bool
	length  int64 // sliding
	offset  int64
	align   int64
	gap     int64 // session
	err     error
}

// Sliding windows of a fixed length start every offset: window i covers
// [alignTo + i*offset, alignTo + i*offset + length), open inclusive, close exclusive, so
// an item falls in length/offset windows (rounded up or down). A window closes when the
// watermark reaches its close. offset > length (gaps between windows) and non-positive
// lengths or offsets are build errors, and so is an alignTo outside the times windows
// can hold (see ErrTimeRange). Window ids are exact for any two times in that range,
// however far apart; an item's timestamp outside it fails the run with a
// TimeRangeError.
func Sliding(length, offset time.Duration, alignTo time.Time) Windower {
	align, inRange := instantOf(alignTo)
	w := Windower{length: int64(length), offset: int64(offset), align: align}
	switch {
	case !inRange:
		w.err = &TimeRangeError{What: "alignTo", Time: alignTo}
	case length <= 0:
		w.err = fmt.Errorf("sliding window length must be positive, not %v", length)
	case offset <= 0:
		w.err = fmt.Errorf("sliding window offset must be positive, not %v", offset)
	case offset > length:
		w.err = fmt.Errorf("sliding window offset %v is longer than its length %v: items between windows would be lost", offset, length)
	}
	return w
}

// Tumbling windows of a fixed length cover all time without overlapping: Sliding with
// offset = length. Each item falls in exactly one window.
func Tumbling(length time.Duration, alignTo time.Time) Windower {
	return Sliding(length, length, alignTo)
}

// Session windows group a key's items that follow each other within gap: an item within
// gap of a session joins or extends it, sessions that come within gap of each other merge
// into the earlier one, and a session closes once the watermark passes its close by more
// than gap. Ids count from 0 per key; late items get id -1. A negative gap is a build
// error.
func Session(gap time.Duration) Windower {
	w := Windower{session: true, gap: int64(gap)}
	if gap < 0 {
		w.err = fmt.Errorf("session window gap must not be negative, not %v", gap)
	}
	return w
}

// errNoWindower is the build error for a zero Windower.
var errNoWindower = errors.New("no windower: use window.Tumbling, Sliding or Session")

func (w Windower) check() error {
	if w.err != nil {
		return w.err
	}
	if !w.session && w.length == 0 {
		return errNoWindower
	}
	return nil
}

// LateID is the window id of items too late for any session.
const LateID = -1

// span is an open window of a key: its id, bounds and the ids merged into it.
type span struct {
	ID     int64
	Open   int64
	Close  int64 // exclusive for sliding windows; the last item's time for sessions
	Merged []int64
}

// floorDiv divides rounding toward minus infinity, so that times before alignTo get
// negative window ids.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// divFar returns q = floor((a-b)/d) and r = (a-b) - q*d, in [0, d), exactly for d > 0,
// and false if q does not fit an int64, for an a-b that does not fit an int64 (two
// instants more than 292 years apart), where saturating it would put an item in some
// other window. Each term is divided first: a = qa*d + ra and b = qb*d + rb, with
// remainders in [0, d).
func divFar(a, b, d int64) (q, r int64, ok bool) {
	qa, qb := floorDiv(a, d), floorDiv(b, d)
	r = (a - qa*d) - (b - qb*d) // exact although the products may wrap
	q = qa - qb
	if (q < qa) != (qb > 0) {
		return 0, 0, false
	}
	if r < 0 {
		if q == minInstant {
			return 0, 0, false
		}
		q, r = q-1, r+d
	}
	return q, r, true
}

// intersects returns the first and last ids of the sliding windows holding ts, and the
// open of the last one. It panics with a TimeRangeError if an id does not fit an int64,
// which takes a window of a few nanoseconds and a time centuries from alignTo.
func (w *Windower) intersects(ts int64) (first, last, lastOpen int64) {
	x := ts - w.align
	var rem int64
	if (x < ts) == (w.align > 0) { // no overflow: the common case
		last, rem = x/w.offset, x%w.offset
		if rem < 0 { // rounded toward zero: one down
			last, rem = last-1, rem+w.offset
		}
	} else {
		var ok bool
		if last, rem, ok = divFar(ts, w.align, w.offset); !ok {
			outOfRange("window id", timeOf(ts))
		}
	}
	first = last
	if w.offset != w.length { // tumbling: one window, and no second division
		// The windows holding ts open in (ts-length, ts], every offset back from the last.
		if first = last - (w.length-rem-1)/w.offset; first > last {
			outOfRange("window id", timeOf(ts))
		}
	}
	return first, last, sub(ts, rem)
}

// lastWindow remembers the tumbling window of the last timestamp a worker placed: the
// next one in it, the common case (a key's items come close in time, and so do the keys
// that share a batch), takes two comparisons instead of a division. It is the worker's
// scratch, never snapshotted: a pure memo of intersects.
type lastWindow struct {
	open, close int64 // the window's [open, close); empty at first
	id          int64
}

// intersectsVia is intersects, through m for tumbling windows.
func (w *Windower) intersectsVia(m *lastWindow, ts int64) (first, last, lastOpen int64) {
	if m == nil || w.offset != w.length {
		return w.intersects(ts)
	}
	if m.open <= ts && ts < m.close {
		return m.id, m.id, m.open
	}
	first, last, lastOpen = w.intersects(ts)
	// The window is [lastOpen, lastOpen+length), its close clamped to the last instant,
	// which no item has. An open clamped to the first instant is not the window's, and
	// neither would be a close counted from it: that window is not remembered.
	if lastOpen != minInstant {
		*m = lastWindow{open: lastOpen, close: add(lastOpen, w.length), id: last}
	}
	return first, last, lastOpen
}

// closeTrigger returns the watermark at which s closes.
func (w *Windower) closeTrigger(s *span) int64 {
	if w.session {
		return add(add(s.Close, w.gap), 1) // closes when Close < watermark - gap
	}
	return s.Close
}

// closed reports whether s is closed at watermark wm.
func (w *Windower) closed(s *span, wm int64) bool { return wm >= w.closeTrigger(s) }

// merge is a session merged into another one.
type merge struct{ from, into int64 }

// openFor returns the ids of the windows ts goes into, opening them as needed, and those
// it is too late for because they already closed at watermark done. Merges are appended
// to merges.
func (w *Windower) openFor(st *windows, ts, done int64, in, late []int64, merges []merge) ([]int64, []int64, []merge) {
	return w.openVia(nil, st, ts, done, in, late, merges)
}

// openVia is openFor with the worker's memo of the last tumbling window, m (nil for none).
func (w *Windower) openVia(m *lastWindow, st *windows, ts, done int64, in, late []int64, merges []merge) ([]int64, []int64, []merge) {
	if w.session {
		return w.openSession(st, ts, done, in, late, merges)
	}
	first, last, lastOpen := w.intersectsVia(m, ts)
	for id := first; id <= last; id++ {
		if i, ok := st.find(id); ok {
			in = append(in, st.Windows[i].ID)
			continue
		}
		// From the last open, not alignTo: id*offset may not fit an int64. A bound
		// beyond the instants is clamped to them; the close then comes at end of stream.
		back := (last - id) * w.offset
		s := span{ID: id, Open: sub(lastOpen, back), Close: add(lastOpen, w.length-back)}
		if w.closed(&s, done) {
			late = append(late, id)
			continue
		}
		st.insert(s)
		in = append(in, id)
	}
	return in, late, merges
}

func (w *Windower) openSession(st *windows, ts, done int64, in, late []int64, merges []merge) ([]int64, []int64, []merge) {
	for i := range st.Windows {
		s := &st.Windows[i]
		switch {
		case s.Open <= ts && ts <= s.Close:
			return append(in, s.ID), late, merges
		case ts < s.Open && sub(s.Open, ts) <= w.gap:
			s.Open = ts
		case ts > s.Close && sub(ts, s.Close) <= w.gap:
			s.Close = ts
		default:
			continue
		}
		id := s.ID
		merges = w.mergeSessions(st, merges)
		return append(in, id), late, merges
	}
	s := span{ID: st.NextID, Open: ts, Close: ts}
	if w.closed(&s, done) {
		return in, append(late, LateID), merges
	}
	st.NextID++
	st.insert(s)
	return append(in, s.ID), late, merges
}

// mergeSessions merges every session that comes within gap of the one before it (in
// open order) into that earlier one.
func (w *Windower) mergeSessions(st *windows, merges []merge) []merge {
	st.sortWindows()
	out := st.Windows[:1]
	for _, s := range st.Windows[1:] {
		last := &out[len(out)-1]
		if sub(s.Open, last.Close) <= w.gap {
			last.Close = max(last.Close, s.Close)
			last.Merged = append(append(last.Merged, s.ID), s.Merged...)
			merges = append(merges, merge{from: s.ID, into: last.ID})
			continue
		}
		out = append(out, s)
	}
	clear(st.Windows[len(out):])
	st.Windows = out
	return merges
}

// closeFor removes the windows closed at watermark wm and appends them to dst in the order
// they opened.
func (w *Windower) closeFor(st *windows, wm int64, dst []span) []span {
	i := 0
	for i < len(st.Windows) && !w.closed(&st.Windows[i], wm) {
		i++
	}
	if i == len(st.Windows) {
		return dst // the common case: nothing to close, nothing to move
	}
	kept := st.Windows[:0]
	for _, s := range st.Windows {
		if w.closed(&s, wm) {
			dst = append(dst, s)
		} else {
			kept = append(kept, s)
		}
	}
	clear(st.Windows[len(kept):])
	st.Windows = kept
	return dst
}

// nextClose returns the earliest watermark at which an open window closes.
func (w *Windower) nextClose(st *windows) (int64, bool) {
	if len(st.Windows) == 0 {
		return 0, false
	}
	at := int64(maxInstant)
	for i := range st.Windows {
		at = min(at, w.closeTrigger(&st.Windows[i]))
	}
	return at, true
}

// find returns the index of open window id.
func (st *windows) find(id int64) (int, bool) {
	for i := range st.Windows {
		if st.Windows[i].ID == id {
			return i, true
		}
	}
	return 0, false
}

// insert adds an open window, keeping them in open order (ids break ties).
func (st *windows) insert(s span) {
	i := len(st.Windows)
	if i == 0 || !spanLess(&s, &st.Windows[i-1]) {
		// The common case, a tumbling window opening after the key's others: an append,
		// which costs less than slices.Insert's general path.
		st.Windows = append(st.Windows, s)
		return
	}
	for i > 0 && spanLess(&s, &st.Windows[i-1]) {
		i--
	}
	st.Windows = slices.Insert(st.Windows, i, s)
}

func (st *windows) sortWindows() {
	slices.SortFunc(st.Windows, func(a, b span) int {
		if spanLess(&a, &b) {
			return -1
		}
		if spanLess(&b, &a) {
			return 1
		}
		return 0
	})
}

func spanLess(a, b *span) bool {
	if a.Open != b.Open {
		return a.Open < b.Open
	}
	return a.ID < b.ID
}
