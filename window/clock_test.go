package window

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/codec"
)

// t0 is the origin of the tests' event and system times.
var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// at is the instant d after t0.
func at(d time.Duration) int64 { return instant(t0.Add(d)) }

// fmtInstant shows an instant as an offset from t0, or as the ends of time.
func fmtInstant(i int64) string {
	switch i {
	case minInstant:
		return "min"
	case maxInstant:
		return "max"
	}
	if d := sub(i, minInstant); d < int64(1000*time.Hour) {
		return fmt.Sprintf("min+%v", time.Duration(d))
	}
	return time.Duration(i - at(0)).String()
}

// clockStep is one activation of a key: items with these event times (offsets from t0),
// or a notification when items is nil, at system time t0+now.
type clockStep struct {
	now   time.Duration
	items []time.Duration
	want  []string // the watermark after each item, or after the notification
}

func TestEventClockWatermark(t *testing.T) {
	s := time.Second
	tests := []struct {
		name  string
		wait  time.Duration
		steps []clockStep
	}{
		{"no item: the beginning of time", 5 * s, []clockStep{
			{now: 0, want: []string{"min"}},
			{now: 10 * s, want: []string{"min"}},
		}},
		{"item minus wait", 5 * s, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"2s"}},
		}},
		{"zero wait", 0, []clockStep{
			{now: 0, items: []time.Duration{7 * s, 7 * s}, want: []string{"7s", "7s"}},
		}},
		{"forwards by system time", 5 * s, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"2s"}},
			{now: 2 * s, want: []string{"4s"}},
			{now: 2500 * time.Millisecond, want: []string{"4.5s"}},
		}},
		{"advances within a batch", 5 * s, []clockStep{
			{now: 0, items: []time.Duration{7 * s, 10 * s}, want: []string{"2s", "5s"}},
		}},
		{"an earlier item does not lower it", 5 * s, []clockStep{
			{now: 0, items: []time.Duration{7 * s, 3 * s}, want: []string{"2s", "2s"}},
			{now: 2 * s, items: []time.Duration{3 * s}, want: []string{"4s"}},
		}},
		{"a new largest item slower than system time does not lower it", 5 * s, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"2s"}},
			{now: 2 * s, items: []time.Duration{8 * s}, want: []string{"4s"}}, // 8s-5s = 3s < 4s
			{now: 3 * s, want: []string{"5s"}},
			{now: 3 * s, items: []time.Duration{12 * s}, want: []string{"7s"}}, // 12s-5s = 7s > 5s
			{now: 4 * s, want: []string{"8s"}},
		}},
		{"system time running backwards holds it", 5 * s, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"2s"}},
			{now: 5 * s, want: []string{"7s"}},
			{now: 3 * s, want: []string{"7s"}},
			{now: 1 * s, items: []time.Duration{9 * s}, want: []string{"7s"}},
			{now: 6 * s, want: []string{"8s"}},
		}},
		{"before alignment and before 1970", 0, []clockStep{
			{now: 0, items: []time.Duration{-100 * 365 * 24 * time.Hour}, want: []string{"-876000h0m0s"}},
		}},
		{"a wait past the beginning of time saturates", Forever - 1, []clockStep{
			{now: 0, items: []time.Duration{-60 * 365 * 24 * time.Hour}, want: []string{"min"}}, // in 1964
			{now: 2 * s, items: []time.Duration{-59 * 365 * 24 * time.Hour}, want: []string{"min+2s"}},
			{now: 3 * s, want: []string{"min+3s"}},
		}},
		{"forever: the beginning of time whatever the system time", Forever, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"min"}},
			{now: time.Hour, items: []time.Duration{8 * s, -290 * 365 * 24 * time.Hour}, want: []string{"min", "min"}},
			{now: 2 * time.Hour, want: []string{"min"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := EventClock(func(d time.Duration) time.Time { return t0.Add(d) }, tt.wait)
			runClockSteps(t, c, tt.steps)
		})
	}
}

// EventTime's watermark moves with event time only, or also with system time once a key
// has been idle for the idle timeout.
func TestEventTimeWatermark(t *testing.T) {
	tests := []struct {
		name  string
		wait  time.Duration
		idle  time.Duration // 0 for none
		steps []clockStep
	}{
		{"no item: the beginning of time", 5 * s, 0, []clockStep{
			{now: 0, want: []string{"min"}},
			{now: 10 * s, want: []string{"min"}},
		}},
		{"item minus wait", 5 * s, 0, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"2s"}},
		}},
		{"system time does not move it", 5 * s, 0, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"2s"}},
			{now: time.Hour, want: []string{"2s"}},
			{now: 2 * time.Hour, items: []time.Duration{3 * s, 8 * s}, want: []string{"2s", "3s"}},
		}},
		{"an earlier item does not lower it", 5 * s, 0, []clockStep{
			{now: 0, items: []time.Duration{7 * s, 3 * s, 6 * s}, want: []string{"2s", "2s", "2s"}},
		}},
		{"forever: nothing is ever late", Forever, 0, []clockStep{
			{now: 0, items: []time.Duration{7 * s, -290 * 365 * 24 * time.Hour}, want: []string{"min", "min"}},
			{now: time.Hour, want: []string{"min"}},
		}},
		{"idle: moves with system time after the timeout", 5 * s, 10 * s, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"2s"}},
			{now: 9 * s, want: []string{"2s"}},
			{now: 10 * s, want: []string{"2s"}},
			{now: 13 * s, want: []string{"5s"}},
		}},
		{"idle: an item stops it, and restarts the timeout", 5 * s, 10 * s, []clockStep{
			{now: 0, items: []time.Duration{7 * s}, want: []string{"2s"}},
			{now: 13 * s, items: []time.Duration{4 * s}, want: []string{"5s"}}, // 4s is late
			{now: 20 * s, want: []string{"5s"}},
			{now: 25 * s, items: []time.Duration{20 * s}, want: []string{"15s"}},
			{now: 36 * s, want: []string{"16s"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []ClockOption
			if tt.idle > 0 {
				opts = append(opts, IdleTimeout(tt.idle))
			}
			c := EventTime(func(d time.Duration) time.Time { return t0.Add(d) }, tt.wait, opts...)
			if err := c.check(); err != nil {
				t.Fatal(err)
			}
			runClockSteps(t, c, tt.steps)
		})
	}
}

// runClockSteps runs steps through c, checking the watermark after each item or
// notification.
func runClockSteps(t *testing.T, c Clock[time.Duration], steps []clockStep) {
	t.Helper()
	now := t0
	c.now = func() time.Time { return now }
	var st clockState
	for i, step := range steps {
		now = t0.Add(step.now)
		c.beforeBatch(&st, 0)
		var got []string
		if step.items == nil {
			got = append(got, fmtInstant(c.watermark(&st)))
		}
		for _, it := range step.items {
			_, wm := c.onItem(&st, it)
			got = append(got, fmtInstant(wm))
		}
		if fmt.Sprint(got) != fmt.Sprint(step.want) {
			t.Fatalf("step %d (now %v, items %v): watermarks %v, want %v", i, step.now, step.items, got, step.want)
		}
	}
}

// The watermark depends only on the snapshotted state: a clock restored from a snapshot
// carries on where the old one left off.
func TestEventClockResume(t *testing.T) {
	now := t0
	c := EventClock(func(d time.Duration) time.Time { return t0.Add(d) }, 5*time.Second).WithNow(func() time.Time { return now })
	var st clockState
	c.beforeBatch(&st, 0)
	c.onItem(&st, 7*time.Second)
	now = t0.Add(2 * time.Second)
	c.beforeBatch(&st, 0)
	c.onItem(&st, 8*time.Second)

	b, err := codec.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	var restored clockState
	if err := codec.Unmarshal(b, &restored); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(10 * time.Second)
	c.beforeBatch(&restored, 0)
	if got := fmtInstant(c.watermark(&restored)); got != "12s" {
		t.Errorf("watermark after resume = %s, want 12s", got)
	}
}

// toSystem inverts the watermark: the system time at which it reaches an event time.
func TestEventClockToSystem(t *testing.T) {
	s := time.Second
	now := t0
	c := EventClock(func(d time.Duration) time.Time { return t0.Add(d) }, 5*s).WithNow(func() time.Time { return now })
	var st clockState
	c.beforeBatch(&st, 0)
	if sys, ok := c.toSystem(&st, at(10*s)); !ok || fmtInstant(sys) != "10s" {
		t.Errorf("before any item: %s (%v), want 10s", fmtInstant(sys), ok)
	}
	c.onItem(&st, 7*s) // watermark 2s at system time 0
	now = t0.Add(2 * s)
	c.beforeBatch(&st, 0)
	c.onItem(&st, 8*s) // keeps the watermark's base: 4s now
	for _, tc := range []struct{ event, want time.Duration }{{10 * s, 8 * s}, {4 * s, 2 * s}, {2 * s, 0}} {
		if sys, ok := c.toSystem(&st, at(tc.event)); !ok || fmtInstant(sys) != tc.want.String() {
			t.Errorf("watermark reaches %v at system time %s (%v), want %v", tc.event, fmtInstant(sys), ok, tc.want)
		}
	}
}

// The system clock stamps items with the activation's system time, which is also the
// watermark, and never goes back.
func TestSystemClock(t *testing.T) {
	s := time.Second
	now := t0
	c := SystemClock[string]().WithNow(func() time.Time { return now })
	var st clockState
	for _, tc := range []struct {
		now  time.Duration
		want string
	}{{1 * s, "1s"}, {3 * s, "3s"}, {2 * s, "3s"}, {4 * s, "4s"}} {
		now = t0.Add(tc.now)
		c.beforeBatch(&st, 0)
		ts, wm := c.onItem(&st, "x")
		if fmtInstant(ts) != tc.want || fmtInstant(wm) != tc.want {
			t.Errorf("at %v: timestamp %s, watermark %s, want both %s", tc.now, fmtInstant(ts), fmtInstant(wm), tc.want)
		}
		if got := fmtInstant(c.watermark(&st)); got != tc.want {
			t.Errorf("at %v: notified watermark %s, want %s", tc.now, got, tc.want)
		}
	}
	if !c.monotonic() {
		t.Error("the system clock's timestamps never go back: ordering adds nothing")
	}
	if ev := EventClock(func(string) time.Time { return t0 }, 0); ev.monotonic() {
		t.Error("an event clock is not monotonic")
	}
}

func TestSaturatingArithmetic(t *testing.T) {
	tests := []struct {
		a, b, sub, add int64
	}{
		{5, 3, 2, 8},
		{minInstant, 1, minInstant, minInstant + 1},
		{maxInstant, -1, maxInstant, maxInstant - 1},
		{maxInstant, 1, maxInstant - 1, maxInstant},
		{minInstant, -1, minInstant + 1, minInstant},
		{0, minInstant, maxInstant, minInstant},
		{-1, maxInstant, minInstant, maxInstant - 1},
	}
	for _, tt := range tests {
		if got := sub(tt.a, tt.b); got != tt.sub {
			t.Errorf("sub(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.sub)
		}
		if got := add(tt.a, tt.b); got != tt.add {
			t.Errorf("add(%d, %d) = %d, want %d", tt.a, tt.b, got, tt.add)
		}
	}
}

// The watermark onItem returns is the clock's watermark once the item is counted, at the
// same system time: TryFold compares it with the key's next close without asking the
// clock again, as OnBatch's advance would after that item alone.
func TestOnItemWatermark(t *testing.T) {
	s := time.Second
	ts := func(d time.Duration) time.Time { return t0.Add(d) }
	id := func(d time.Duration) time.Time { return ts(d) }
	clocks := map[string]Clock[time.Duration]{
		"event clock":         EventClock(id, 0),
		"event clock wait":    EventClock(id, 3*s),
		"event clock forever": EventClock(id, Forever),
		"event time":          EventTime(id, 2*s),
		"event time idle":     EventTime(id, 0, IdleTimeout(4*s)),
		"event time forever":  EventTime(id, Forever),
		"system clock":        SystemClock[time.Duration](),
	}
	for name, c := range clocks {
		r := rand.New(rand.NewPCG(1, 2))
		var st clockState
		now, last := time.Duration(0), time.Duration(0)
		for i := range 2000 {
			now += time.Duration(r.IntN(3000)) * time.Millisecond * time.Duration(r.IntN(2))
			v := last + time.Duration(r.IntN(8000)-1000)*time.Millisecond
			if r.IntN(10) == 0 {
				v -= time.Duration(r.IntN(30)) * s // late
			}
			last = max(last, v)
			c.beforeBatch(&st, at(now))
			_, wm := c.onItem(&st, v)
			if got := c.watermark(&st); wm != got {
				t.Fatalf("%s, item %d: onItem's watermark %s, the clock's after it %s", name, i, fmtInstant(wm), fmtInstant(got))
			}
		}
	}
}
