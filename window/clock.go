package window

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Instants are nanoseconds since the Unix epoch: integer arithmetic on the hot path, and
// room for the end-of-stream watermark.
const (
	minInstant = math.MinInt64
	maxInstant = math.MaxInt64
)

func instant(t time.Time) int64 { return t.UnixNano() }

// timeOf returns the time of an instant, in UTC.
func timeOf(i int64) time.Time { return time.Unix(0, i).UTC() }

// sub returns a-b, saturating instead of wrapping around.
func sub(a, b int64) int64 {
	if b > 0 && a < minInstant+b {
		return minInstant
	}
	if b < 0 && a > maxInstant+b {
		return maxInstant
	}
	return a - b
}

// add returns a+b, saturating. (Not sub(a, -b): -minInstant wraps around.)
func add(a, b int64) int64 {
	if b > 0 && a > maxInstant-b {
		return maxInstant
	}
	if b < 0 && a < minInstant-b {
		return minInstant
	}
	return a + b
}

// Clock gives each item a timestamp and each key a watermark: the time before which the
// key's windows will see no more items. Build one with SystemClock or EventClock.
type Clock[V any] struct {
	ts    func(V) time.Time // nil for the system clock
	wait  int64
	now   func() time.Time // set by WithNow; nil uses the activation's time
	set   bool             // made by SystemClock or EventClock, not the zero Clock
	event bool
}

// SystemClock stamps each item with the system time of the activation that sees it (one
// time for all the keys of an activation), which is also the watermark: no item is ever
// late.
func SystemClock[V any]() Clock[V] { return Clock[V]{set: true} }

// EventClock stamps each item with ts(item). Per key, the watermark is the largest
// timestamp seen minus wait, plus the system time elapsed since that timestamp was seen;
// an item whose timestamp is below the watermark (counting the item itself) is late. The
// watermark never goes back: a new largest timestamp that arrives after more system time
// than it advances event time leaves the watermark where it was. At the end of the stream
// the watermark jumps to the maximum, so every window closes.
//
// A negative wait, or a nil ts, is a build error of the operator that uses the clock.
func EventClock[V any](ts func(V) time.Time, wait time.Duration) Clock[V] {
	return Clock[V]{ts: ts, wait: int64(wait), set: true, event: true}
}

// clockOf returns c as a clock of U, reading the timestamp of a U from the V that value
// gives.
func clockOf[V, U any](c Clock[V], value func(U) V) Clock[U] {
	u := Clock[U]{wait: c.wait, now: c.now, set: c.set, event: c.event}
	if ts := c.ts; ts != nil {
		u.ts = func(x U) time.Time { return ts(value(x)) }
	}
	return u
}

// check returns the clock's build error, if any.
func (c Clock[V]) check() error {
	switch {
	case !c.set:
		return errors.New("no clock: use window.SystemClock or EventClock")
	case c.event && c.ts == nil:
		return errors.New("event clock without a timestamp function")
	case c.wait < 0:
		return fmt.Errorf("event clock wait must not be negative, not %v", time.Duration(c.wait))
	}
	return nil
}

// WithNow returns the clock with its notion of the system time replaced, for tests. By
// default a clock uses the time of the activation, which comes from time.Now (and so
// follows testing/synctest's fake time).
func (c Clock[V]) WithNow(now func() time.Time) Clock[V] {
	c.now = now
	return c
}

// clockState is the part of a key's clock that is snapshotted.
type clockState struct {
	Now      int64 // system time of the activation; it never runs backwards
	HasEvent bool
	// Base is the watermark at system time SeenAt: an event timestamp minus wait, the one
	// that gives the highest watermark so far, so that the watermark never goes back.
	Base   int64
	SeenAt int64
}

// beforeBatch fixes the system time for one activation, at now unless WithNow replaced it.
func (c *Clock[V]) beforeBatch(st *clockState, now int64) {
	if c.now != nil {
		now = instant(c.now())
	}
	st.Now = max(st.Now, now)
}

// onItem returns the item's timestamp and the watermark that counts it.
func (c *Clock[V]) onItem(st *clockState, v V) (ts, wm int64) {
	if c.ts == nil {
		return st.Now, st.Now
	}
	ts = instant(c.ts(v))
	base := sub(ts, c.wait)
	if !st.HasEvent {
		st.HasEvent, st.Base, st.SeenAt = true, base, st.Now
		return ts, base
	}
	// A larger timestamp raises the watermark only if its own (ts - wait) is above the
	// current one, which has moved on with system time since the base was set: the
	// watermark never goes back, so nothing behind it can come back on time (Bytewax
	// holds the same line).
	wm = c.watermark(st)
	if base > wm {
		st.Base, st.SeenAt, wm = base, st.Now, base
	}
	return ts, wm
}

func (c *Clock[V]) watermark(st *clockState) int64 {
	if c.ts == nil {
		return st.Now
	}
	if !st.HasEvent {
		return minInstant
	}
	return add(st.Base, sub(st.Now, st.SeenAt))
}

// toSystem returns the system time at which the watermark reaches event time ts.
func (c *Clock[V]) toSystem(st *clockState, ts int64) int64 {
	if c.ts == nil || !st.HasEvent {
		return ts
	}
	return add(st.SeenAt, sub(ts, st.Base))
}

// monotonic reports whether timestamps never go backwards, so ordering adds nothing.
func (c *Clock[V]) monotonic() bool { return c.ts == nil }
