package window

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Instants are nanoseconds since the Unix epoch: integer arithmetic on the hot path, and
// room for the end-of-stream watermark. An int64 of nanoseconds reaches only about 292
// years either side of 1970, so item times outside minTime..maxTime are refused with a
// TimeRangeError rather than wrapped around into other windows.
const (
	minInstant = math.MinInt64
	maxInstant = math.MaxInt64

	// The whole seconds whose every nanosecond is an instant strictly between the two
	// ends, which stay reserved for "no item yet" and "end of stream".
	minSecond = minInstant / int64(time.Second) // rounds toward zero: inside
	maxSecond = maxInstant/int64(time.Second) - 1
)

var (
	minTime = time.Unix(minSecond, 0).UTC()
	maxTime = time.Unix(maxSecond, int64(time.Second-1)).UTC()
)

// ErrTimeRange reports a time that windows cannot place: outside minTime..maxTime (from
// 1677-09-21 to 2262-04-11), the nanoseconds since 1970 that an int64 holds, or in a
// window whose id does not fit an int64.
var ErrTimeRange = errors.New("window: time out of range")

// TimeRangeError is an ErrTimeRange with the time and what it is. For an item's
// timestamp, the run fails with it (inside the step's and key's errors); for alignTo, it
// is a build error.
type TimeRangeError struct {
	What string // "timestamp", "alignTo" or "window id"
	Time time.Time
}

func (e *TimeRangeError) Error() string {
	if e.What == "window id" {
		return fmt.Sprintf("window: the window id of %v does not fit an int64", e.Time)
	}
	return fmt.Sprintf("window: %s %v is outside the times windows can hold, %v to %v",
		e.What, e.Time, minTime.Format(time.RFC3339), maxTime.Format(time.RFC3339))
}

func (e *TimeRangeError) Unwrap() error { return ErrTimeRange }

// instant returns t as an instant; t must be in range (the system time, tests).
func instant(t time.Time) int64 { return t.UnixNano() }

// instantOf returns t as an instant, and false if it is out of range.
func instantOf(t time.Time) (int64, bool) {
	sec := t.Unix()
	if sec < minSecond || sec > maxSecond {
		return 0, false
	}
	return sec*int64(time.Second) + int64(t.Nanosecond()), true
}

// outOfRange panics with a TimeRangeError, apart from the hot paths that call it so that
// they stay small.
//
//go:noinline
func outOfRange(what string, t time.Time) { panic(&TimeRangeError{What: what, Time: t}) }

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
// key's windows will see no more items. Build one with SystemClock, EventTime or
// EventClock.
type Clock[V any] struct {
	ts    func(V) time.Time // nil for the system clock
	wait  int64
	now   func() time.Time // set by WithNow; nil uses the activation's time
	set   bool             // made by a constructor, not the zero Clock
	event bool
	pure  bool // EventTime: the watermark follows event time only
	clockOptions
}

// clockOptions are the settings of EventTime's options.
type clockOptions struct {
	idle int64 // 0 for none
	err  error
}

// Forever is a wait that never runs out: the watermark stays at the beginning of time
// until the end of the stream, so no item is ever late, however old. (A wait of 292 years,
// the longest other time.Duration, would still make older items late.)
const Forever time.Duration = math.MaxInt64

// SystemClock stamps each item with the system time of the activation that sees it (one
// time for all the keys of an activation), which is also the watermark: no item is ever
// late.
func SystemClock[V any]() Clock[V] { return Clock[V]{set: true} }

// EventTime stamps each item with ts(item) and moves each key's watermark with event time
// only: it is the largest timestamp the key has seen minus wait, and jumps to the maximum
// at the end of the stream, so every window closes. An item whose timestamp is below the
// watermark (counting the item itself) is late. Nothing depends on the system time, so
// the same input gives the same output however fast it is read, on any number of
// workers, and however often the run is interrupted and resumed. The price is that a
// key's last windows wait for the key's next item or the end of the stream: add
// IdleTimeout to let them close after a while without one. See the package doc for how it
// differs from EventClock.
//
// A negative wait, a nil ts or a bad option is a build error of the operator that uses
// the clock. A wait of Forever makes no item late.
func EventTime[V any](ts func(V) time.Time, wait time.Duration, opts ...ClockOption) Clock[V] {
	c := Clock[V]{ts: ts, wait: int64(wait), set: true, event: true, pure: true}
	for _, o := range opts {
		o(&c.clockOptions)
	}
	return c
}

// ClockOption changes how EventTime's watermark moves. Each option states its default; an
// invalid one is a build error of the operator that uses the clock.
type ClockOption func(*clockOptions)

// IdleTimeout lets the watermark of a key that has received no item for d of system time
// advance with the system time, as EventClock's does, until its next item: so the last
// windows of a key that stops receiving data close some time after its last item instead
// of at the end of the stream. From then on the key's watermark is W + (now − last − d),
// where W is the watermark its last item left and last is the system time that item was
// seen: a window closing at event time c closes at system time last + d + (c − W). The
// next item stops it there, or raises it to its own timestamp minus the wait if that is
// higher, and starts the timeout again. This gives up some of EventTime's determinism:
// which items are late now depends on how long keys stay idle; and a key whose windows
// all closed frees its state, so that its next item starts a fresh watermark. Default: no
// idle timeout. A d that is not positive, or an idle timeout with a wait of
// Forever, is a build error.
func IdleTimeout(d time.Duration) ClockOption {
	return func(o *clockOptions) {
		if d <= 0 {
			o.err = fmt.Errorf("event time idle timeout must be positive, not %v", d)
			return
		}
		o.idle = int64(d)
	}
}

// EventClock stamps each item with ts(item), as Bytewax's event clock does. Per key, the
// watermark is the largest timestamp seen minus wait, plus the system time elapsed since
// that timestamp was seen; an item whose timestamp is below the watermark (counting the
// item itself) is late. The watermark never goes back: a new largest timestamp that
// arrives after more system time than it advances event time leaves the watermark where
// it was. At the end of the stream the watermark jumps to the maximum, so every window
// closes.
//
// Because the watermark moves with the system time, which items are late depends on how
// fast the input is read: a slow machine, a pause of the source or a run interrupted and
// resumed later makes more of them late. Use EventTime when the output must depend on the
// input only, such as when replaying a file.
//
// A negative wait, or a nil ts, is a build error of the operator that uses the clock. A
// wait of Forever makes no item late.
func EventClock[V any](ts func(V) time.Time, wait time.Duration) Clock[V] {
	return Clock[V]{ts: ts, wait: int64(wait), set: true, event: true}
}

// clockOf returns c as a clock of U, reading the timestamp of a U from the V that value
// gives.
func clockOf[V, U any](c Clock[V], value func(U) V) Clock[U] {
	u := Clock[U]{wait: c.wait, now: c.now, set: c.set, event: c.event, pure: c.pure, clockOptions: c.clockOptions}
	if ts := c.ts; ts != nil {
		u.ts = func(x U) time.Time { return ts(value(x)) }
	}
	return u
}

// check returns the clock's build error, if any.
func (c Clock[V]) check() error {
	switch {
	case !c.set:
		return errors.New("no clock: use window.SystemClock, EventTime or EventClock")
	case c.err != nil:
		return c.err
	case c.event && c.ts == nil:
		return errors.New("event clock without a timestamp function")
	case c.wait < 0:
		return fmt.Errorf("event clock wait must not be negative, not %v", time.Duration(c.wait))
	case c.idle > 0 && c.forever():
		return errors.New("event time idle timeout with a wait of Forever: the wait holds the watermark for ever")
	}
	return nil
}

func (c *Clock[V]) forever() bool { return c.wait == int64(Forever) }

// WithNow returns the clock with its notion of the system time replaced, for tests. By
// default a clock uses the time of the activation, which comes from time.Now (and so
// follows testing/synctest's fake time).
func (c Clock[V]) WithNow(now func() time.Time) Clock[V] {
	c.now = now
	return c
}

// clockState is the part of a key's clock that is snapshotted. Its fields keep their
// meaning for both event clocks, so a state stored by either reads back into either.
type clockState struct {
	Now      int64 // system time of the activation; it never runs backwards
	HasEvent bool
	// Base is the watermark at system time SeenAt. For EventClock it is an event
	// timestamp minus wait, the one that gives the highest watermark so far, so that the
	// watermark never goes back; for EventTime it is the watermark the last item left,
	// and SeenAt that item's system time, from which an idle timeout counts.
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
	return c.onStamp(st, c.stamp(st, v))
}

// stamp returns the item's timestamp: the system time for the system clock.
func (c *Clock[V]) stamp(st *clockState, v V) int64 {
	if c.ts == nil {
		return st.Now
	}
	// A timestamp out of range fails the run: the panic reaches the runtime, which fails
	// the step with it for the key. (instantOf is inlined: no call on the hot path.)
	t := c.ts(v)
	ts, ok := instantOf(t)
	if !ok {
		outOfRange("timestamp", t)
	}
	return ts
}

// onStamp moves the clock on for an item stamped ts, and returns ts and the watermark that
// counts it.
func (c *Clock[V]) onStamp(st *clockState, ts int64) (_, wm int64) {
	if c.ts == nil {
		return st.Now, st.Now
	}
	base := sub(ts, c.wait)
	if c.forever() {
		base = minInstant
	}
	if !st.HasEvent {
		st.HasEvent, st.Base, st.SeenAt = true, base, st.Now
		return ts, base
	}
	// A larger timestamp raises the watermark only if its own (ts - wait) is above the
	// current one, which may have moved on with system time since the base was set: the
	// watermark never goes back, so nothing behind it can come back on time (Bytewax
	// holds the same line).
	wm = c.watermark(st)
	if c.pure {
		// Every item restarts the idle timeout from the watermark it leaves.
		st.Base, st.SeenAt = max(wm, base), st.Now
		return ts, st.Base
	}
	if base > wm {
		st.Base, st.SeenAt, wm = base, st.Now, base
	}
	return ts, wm
}

func (c *Clock[V]) watermark(st *clockState) int64 {
	switch {
	case c.ts == nil:
		return st.Now
	case !st.HasEvent || c.forever():
		return minInstant
	case !c.pure:
		return add(st.Base, sub(st.Now, st.SeenAt))
	case c.idle == 0:
		return st.Base
	}
	return add(st.Base, max(0, sub(st.Now, add(st.SeenAt, c.idle))))
}

// toSystem returns the system time at which the watermark reaches event time ts, and
// false if only an item or the end of the stream can take it there.
func (c *Clock[V]) toSystem(st *clockState, ts int64) (int64, bool) {
	switch {
	case c.ts == nil:
		return ts, true
	case c.forever():
		return 0, false
	case !st.HasEvent:
		return ts, !c.pure
	case !c.pure:
		return add(st.SeenAt, sub(ts, st.Base)), true
	case c.idle == 0:
		return 0, false
	}
	return add(add(st.SeenAt, c.idle), max(0, sub(ts, st.Base))), true
}

// monotonic reports whether timestamps never go backwards, so ordering adds nothing.
func (c *Clock[V]) monotonic() bool { return c.ts == nil }
