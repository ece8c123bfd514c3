package window_test

import (
	"context"
	"fmt"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
	"github.com/weirflow/weir/window"
)

// noon is the time the examples' events happen around.
var noon = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// click is a user's visit to a page at an event time.
type click struct {
	User string
	Page string
	At   time.Time
}

func (c click) String() string { return c.Page }

func clickTime(c click) time.Time { return c.At }

// minute is n minutes past noon.
func minute(n int) time.Time { return noon.Add(time.Duration(n) * time.Minute) }

// bounds formats a closed window's metadata.
func bounds(m window.Windowed[window.Meta]) string {
	s := fmt.Sprintf("window %d [%s, %s)", m.Window, m.Value.Open.Format("15:04"), m.Value.Close.Format("15:04"))
	if len(m.Value.Merged) > 0 {
		s += fmt.Sprintf(" merged %v", m.Value.Merged)
	}
	return s
}

// Pages each user visited, per minute of event time. The clock waits 30 seconds for
// clicks that arrive out of order, and Collect lists each window's clicks in event-time
// order.
func ExampleCollect() {
	sec := func(n int) time.Time { return noon.Add(time.Duration(n) * time.Second) }
	flow := weir.NewDataflow("pages")
	clicks := op.Input("in", flow, weirtest.NewSource(
		click{"ann", "/home", sec(5)},
		click{"bob", "/cart", sec(20)},
		click{"ann", "/shop", sec(50)},
		click{"ann", "/help", sec(30)}, // out of order, but within the wait
		click{"ann", "/cart", sec(70)},
	))
	byUser := op.KeyOn("user", clicks, func(c click) string { return c.User })
	clock := window.EventTime(clickTime, 30*time.Second)
	visits := window.Collect("per_minute", byUser, clock, window.Tumbling(time.Minute, noon))
	op.Inspect("visits", visits.Down)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// pages.visits: (ann, (0, [/home /help /shop]))
	// pages.visits: (ann, (1, [/cart]))
	// pages.visits: (bob, (0, [/cart]))
}

// Clicks per page and minute. A window closes as soon as the watermark (the latest
// event time minus the 5-second wait) reaches its end; a click for a closed window goes
// to the Late stream with the id of the window it missed.
func ExampleCount() {
	sec := func(n int) time.Time { return noon.Add(time.Duration(n) * time.Second) }
	flow := weir.NewDataflow("hits")
	clicks := op.Input("in", flow, weirtest.NewSource(
		click{"ann", "/home", sec(10)},
		click{"bob", "/cart", sec(20)},
		click{"cid", "/home", sec(40)},
		click{"ann", "/home", sec(75)}, // the watermark passes 12:01: window 0 closes
		click{"dan", "/home", sec(50)}, // too late for window 0
	))
	clock := window.EventTime(clickTime, 5*time.Second)
	hits := window.Count("per_minute", clicks, clock, window.Tumbling(time.Minute, noon), func(c click) string { return c.Page })
	op.Inspect("count", hits.Down)
	op.Inspect("late", hits.Late)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// hits.count: (/home, (0, 2))
	// hits.late: (/home, (0, /home))
	// hits.count: (/cart, (0, 1))
	// hits.count: (/home, (1, 1))
}

// trade is a number of shares traded at a time.
type trade struct {
	Shares int
	At     time.Time
}

// Shares traded over the last ten minutes, every five minutes: sliding windows overlap,
// so each trade counts in two of them. Window ids count from alignTo, negative before it.
func ExampleFold() {
	flow := weir.NewDataflow("volume")
	trades := op.Input("in", flow, weirtest.NewSource(
		weir.KV[trade]{Key: "ACME", Value: trade{3, minute(1)}},
		weir.KV[trade]{Key: "ACME", Value: trade{4, minute(6)}},
		weir.KV[trade]{Key: "ACME", Value: trade{5, minute(12)}},
	))
	clock := window.EventTime(func(t trade) time.Time { return t.At }, 0)
	volume := window.Fold("sum", trades, clock, window.Sliding(10*time.Minute, 5*time.Minute, noon),
		func() int { return 0 },
		func(sum int, t trade) int { return sum + t.Shares },
		func(a, b int) int { return a + b })
	op.Inspect("shares", volume.Down)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// volume.shares: (ACME, (-1, 3))
	// volume.shares: (ACME, (0, 7))
	// volume.shares: (ACME, (1, 9))
	// volume.shares: (ACME, (2, 5))
}

// visits is a Window logic: it announces a session when its first click comes in and
// reports the number of clicks when the session ends.
type visits struct{ n int }

func (v *visits) OnValue(click) []string {
	if v.n++; v.n == 1 {
		return []string{"started"}
	}
	return nil
}

func (v *visits) OnMerge(n int) []string { v.n += n; return nil }
func (v *visits) OnClose() []string      { return []string{fmt.Sprintf("ended after %d clicks", v.n)} }
func (v *visits) Snapshot() int          { return v.n }

// The generic Window runs a logic per window: here per user session, which ends after
// five minutes without a click. With no wait, a click is applied once the watermark has
// passed it, so "started" comes out with the next click.
func ExampleWindow() {
	flow := weir.NewDataflow("sessions")
	clicks := op.Input("in", flow, weirtest.NewSource(
		click{"ann", "/home", minute(0)},
		click{"ann", "/shop", minute(2)},
		click{"ann", "/cart", minute(20)},
	))
	byUser := op.KeyOn("user", clicks, func(c click) string { return c.User })
	clock := window.EventTime(clickTime, 0)
	out := window.Window("visits", byUser, clock, window.Session(5*time.Minute), func(n int, _ bool) window.Logic[click, string, int] {
		return &visits{n: n}
	})
	op.Inspect("session", out.Down)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// sessions.session: (ann, (0, started))
	// sessions.session: (ann, (0, ended after 2 clicks))
	// sessions.session: (ann, (1, started))
	// sessions.session: (ann, (1, ended after 1 clicks))
}

// Page count, start and end per session, in pure event time: WithBounds gives each count
// with its session's bounds, with no join of Down and Meta. A session's end is the time
// of its last click; ann's /cart, out of order but within the 10-minute wait, bridges her
// first two sessions, and the merged one lists the other's id.
func ExampleOut_WithBounds() {
	flow := weir.NewDataflow("visits")
	clicks := op.Input("in", flow, weirtest.NewSource(
		click{"ann", "/home", minute(0)},
		click{"bob", "/home", minute(2)},
		click{"ann", "/shop", minute(8)},
		click{"ann", "/cart", minute(4)},
		click{"bob", "/shop", minute(5)},
		click{"ann", "/help", minute(30)}, // ann's watermark passes 12:13: her first session closes
	))
	clock := window.EventTime(clickTime, 10*time.Minute)
	sessions := window.Count("sessions", clicks, clock, window.Session(5*time.Minute), func(c click) string { return c.User })
	op.Inspect("session", op.MapValue("fmt", sessions.WithBounds("bounds"), func(b window.Bounded[int]) string {
		s := fmt.Sprintf("pages %d, %s to %s", b.Value, b.Open.Format("15:04"), b.Close.Format("15:04"))
		if len(b.Merged) > 0 {
			s += fmt.Sprintf(", merged %v", b.Merged)
		}
		return s
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// visits.session: (ann, pages 3, 12:00 to 12:08, merged [1])
	// visits.session: (ann, pages 1, 12:30 to 12:30)
	// visits.session: (bob, pages 2, 12:02 to 12:05)
}

// Tumbling windows cover time without gaps or overlaps: each click is in exactly one.
// The Meta stream gives each window's bounds when it closes: window -1 as soon as the
// watermark (the latest click minus an hour's wait) reaches noon, the others at the end.
func ExampleTumbling() {
	flow := weir.NewDataflow("hourly")
	clicks := op.Input("in", flow, weirtest.NewSource(
		click{"ann", "/home", minute(-10)},
		click{"ann", "/shop", minute(0)},
		click{"ann", "/cart", minute(59)},
		click{"ann", "/help", minute(60)},
	))
	byUser := op.KeyOn("user", clicks, func(c click) string { return c.User })
	clock := window.EventTime(clickTime, time.Hour)
	out := window.Collect("per_hour", byUser, clock, window.Tumbling(time.Hour, noon))
	op.Inspect("pages", out.Down)
	op.Inspect("bounds", op.MapValue("fmt", out.Meta, bounds))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// hourly.pages: (ann, (-1, [/home]))
	// hourly.bounds: (ann, window -1 [11:00, 12:00))
	// hourly.pages: (ann, (0, [/shop /cart]))
	// hourly.pages: (ann, (1, [/help]))
	// hourly.bounds: (ann, window 0 [12:00, 13:00))
	// hourly.bounds: (ann, window 1 [13:00, 14:00))
}

// Sliding windows of ten minutes starting every five: window i covers
// [noon + i*5m, noon + i*5m + 10m), so each click is in two windows.
func ExampleSliding() {
	flow := weir.NewDataflow("recent")
	clicks := op.Input("in", flow, weirtest.NewSource(
		click{"ann", "/home", minute(3)},
		click{"ann", "/shop", minute(7)},
		click{"ann", "/cart", minute(12)},
	))
	byUser := op.KeyOn("user", clicks, func(c click) string { return c.User })
	clock := window.EventTime(clickTime, time.Hour)
	out := window.Collect("last_10m", byUser, clock, window.Sliding(10*time.Minute, 5*time.Minute, noon))
	op.Inspect("pages", out.Down)
	op.Inspect("bounds", op.MapValue("fmt", out.Meta, bounds))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// recent.pages: (ann, (-1, [/home]))
	// recent.pages: (ann, (0, [/home /shop]))
	// recent.pages: (ann, (1, [/shop /cart]))
	// recent.pages: (ann, (2, [/cart]))
	// recent.bounds: (ann, window -1 [11:55, 12:05))
	// recent.bounds: (ann, window 0 [12:00, 12:10))
	// recent.bounds: (ann, window 1 [12:05, 12:15))
	// recent.bounds: (ann, window 2 [12:10, 12:20))
}

// Session windows end after a gap without clicks. Applied as they arrive (not ordered),
// the click at 12:04 bridges the sessions opened at 12:00 and 12:08, which merge into
// the earlier one; its metadata lists the merged session. A session's close is the time
// of its last click.
func ExampleSession() {
	flow := weir.NewDataflow("visits")
	clicks := op.Input("in", flow, weirtest.NewSource(
		click{"ann", "/home", minute(0)},
		click{"ann", "/shop", minute(8)},
		click{"ann", "/cart", minute(4)},
		click{"ann", "/help", minute(30)},
	))
	byUser := op.KeyOn("user", clicks, func(c click) string { return c.User })
	clock := window.EventTime(clickTime, time.Hour)
	out := window.Collect("sessions", byUser, clock, window.Session(5*time.Minute), window.Ordered(false))
	op.Inspect("pages", out.Down)
	op.Inspect("bounds", op.MapValue("fmt", out.Meta, bounds))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// visits.pages: (ann, (0, [/home /cart /shop]))
	// visits.pages: (ann, (2, [/help]))
	// visits.bounds: (ann, window 0 [12:00, 12:08) merged [1])
	// visits.bounds: (ann, window 2 [12:30, 12:30))
}

// With EventTime, a key's watermark is its latest event time minus the wait, whatever
// the system time does: the source's pause changes nothing, and the reading taken at
// 12:00:00.950, 50ms older than the newest, is on time (the same input with EventClock
// makes it late). Both readings count in the minute from noon.
func ExampleEventTime() {
	ms := func(n int) time.Time { return noon.Add(time.Duration(n) * time.Millisecond) }
	flow := weir.NewDataflow("replay")
	readings := op.Input("in", flow, weirtest.NewSource(
		weir.KV[time.Time]{Key: "boiler", Value: ms(1000)}).
		Pause(200*time.Millisecond).
		Then(weir.KV[time.Time]{Key: "boiler", Value: ms(950)}))
	clock := window.EventTime(func(t time.Time) time.Time { return t }, 100*time.Millisecond)
	out := window.Count("per_minute", op.KeyRm("unkey", readings), clock, window.Tumbling(time.Minute, noon),
		func(time.Time) string { return "boiler" })
	op.Inspect("readings", out.Down)
	op.Inspect("late", op.MapValue("fmt", out.Late, func(w window.Windowed[time.Time]) string {
		return fmt.Sprintf("window %d: %s", w.Window, w.Value.Format("15:04:05.000"))
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// replay.readings: (boiler, (0, 2))
}

// EventClock, Bytewax's event clock, also moves a key's watermark on with the system
// time: during the source's pause of 200ms it passes 12:00:01, so that the reading at
// 12:00:00.950 that comes after the pause is late. Which items are late thus depends on
// how fast the input comes.
func ExampleEventClock() {
	ms := func(n int) time.Time { return noon.Add(time.Duration(n) * time.Millisecond) }
	flow := weir.NewDataflow("live")
	readings := op.Input("in", flow, weirtest.NewSource(
		weir.KV[time.Time]{Key: "boiler", Value: ms(1000)}).
		Pause(200*time.Millisecond).
		Then(weir.KV[time.Time]{Key: "boiler", Value: ms(950)}))
	clock := window.EventClock(func(t time.Time) time.Time { return t }, 100*time.Millisecond)
	out := window.Count("per_minute", op.KeyRm("unkey", readings), clock, window.Tumbling(time.Minute, noon),
		func(time.Time) string { return "boiler" })
	op.Inspect("readings", out.Down)
	op.Inspect("late", op.MapValue("fmt", out.Late, func(w window.Windowed[time.Time]) string {
		return fmt.Sprintf("window %d: %s", w.Window, w.Value.Format("15:04:05.000"))
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// live.late: (boiler, window 0: 12:00:00.950)
	// live.readings: (boiler, (0, 1))
}

// purchase is an amount spent by a customer at a time.
type purchase struct {
	Cents int
	At    time.Time
}

func (p purchase) String() string { return fmt.Sprintf("%d@%s", p.Cents, p.At.Format("15:04")) }

func purchaseTime(p purchase) time.Time { return p.At }

// purchases is the input of the Reduce, Max and Min examples: two customers' purchases
// over two hours.
func purchases(flow *weir.Dataflow) weir.KeyedStream[purchase] {
	return op.Input("in", flow, weirtest.NewSource(
		weir.KV[purchase]{Key: "ann", Value: purchase{1200, minute(5)}},
		weir.KV[purchase]{Key: "ann", Value: purchase{300, minute(40)}},
		weir.KV[purchase]{Key: "bob", Value: purchase{999, minute(50)}},
		weir.KV[purchase]{Key: "ann", Value: purchase{4500, minute(70)}},
		weir.KV[purchase]{Key: "ann", Value: purchase{700, minute(65)}},
	))
}

// Reduce combines a window's values with no initial accumulator, the first value taking
// its place: here the total each customer spent per hour, stamped with the time of the
// hour's first purchase. Ann's first hour closes when her purchase at 13:10 takes her
// watermark to 13:00; the other windows close at the end of the stream.
func ExampleReduce() {
	flow := weir.NewDataflow("spend")
	total := window.Reduce("hourly", purchases(flow), window.EventTime(purchaseTime, 10*time.Minute), window.Tumbling(time.Hour, noon),
		func(sum, p purchase) purchase { return purchase{Cents: sum.Cents + p.Cents, At: sum.At} })
	op.Inspect("total", total.Down)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// spend.total: (ann, (0, 1500@12:05))
	// spend.total: (ann, (1, 5200@13:10))
	// spend.total: (bob, (0, 999@12:50))
}

// Max keeps the value with the largest key of each window: each customer's biggest
// purchase per hour. The wait of Forever holds every window open until the end of the
// stream, so none of the purchases can be late.
func ExampleMax() {
	flow := weir.NewDataflow("biggest")
	top := window.Max("hourly", purchases(flow), window.EventTime(purchaseTime, window.Forever), window.Tumbling(time.Hour, noon),
		func(p purchase) int { return p.Cents })
	op.Inspect("max", top.Down)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// biggest.max: (ann, (0, 1200@12:05))
	// biggest.max: (ann, (1, 4500@13:10))
	// biggest.max: (bob, (0, 999@12:50))
}

// Min keeps the value with the smallest key of each window: each customer's earliest
// purchase per session of purchases at most 30 minutes apart. The purchase at 13:05
// comes after the one at 13:10, within the hour's wait.
func ExampleMin() {
	flow := weir.NewDataflow("first")
	first := window.Min("visit", purchases(flow), window.EventTime(purchaseTime, time.Hour), window.Session(30*time.Minute),
		func(p purchase) int64 { return p.At.Unix() })
	op.Inspect("min", first.Down)
	op.Inspect("bounds", op.MapValue("fmt", first.Meta, bounds))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// first.min: (ann, (0, 1200@12:05))
	// first.min: (ann, (1, 300@12:40))
	// first.min: (bob, (0, 999@12:50))
	// first.bounds: (ann, window 0 [12:05, 12:05))
	// first.bounds: (ann, window 1 [12:40, 13:10))
	// first.bounds: (bob, window 0 [12:50, 12:50))
}
