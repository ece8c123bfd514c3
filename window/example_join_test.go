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

// reading is a temperature measured at a time.
type reading struct {
	At      time.Time
	Celsius float64
}

func (r reading) String() string { return fmt.Sprintf("%.1f@%s", r.Celsius, r.At.Format("15:04")) }

// Two thermometers per room: every 10 minutes, the last reading of each, with a missing
// one shown as <none>.
func ExampleJoin() {
	t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	flow := weir.NewDataflow("rooms")
	wall := op.Input("wall", flow, weirtest.NewSource(
		weir.KV[reading]{Key: "hall", Value: reading{at(1), 19.5}},
		weir.KV[reading]{Key: "hall", Value: reading{at(4), 19.8}},
		weir.KV[reading]{Key: "hall", Value: reading{at(12), 20.1}},
	))
	ceiling := op.Input("ceiling", flow, weirtest.NewSource(
		weir.KV[reading]{Key: "hall", Value: reading{at(3), 21.0}},
		weir.KV[reading]{Key: "attic", Value: reading{at(5), 25.2}},
	))
	clock := window.EventTime(func(r reading) time.Time { return r.At }, time.Minute)
	out := window.Join("join", []weir.KeyedStream[reading]{wall, ceiling}, clock, window.Tumbling(10*time.Minute, t0))
	op.Inspect("rows", out.Down)
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// rooms.rows: (hall, (0, [19.8@12:04 21.0@12:03]))
	// rooms.rows: (attic, (0, [<none> 25.2@12:05]))
	// rooms.rows: (hall, (1, [20.1@12:12 <none>]))
}

type visit struct {
	At   time.Time
	Page string
}

type order struct {
	At    time.Time
	Cents int
}

// The pages a user visited in the same session as an order, as soon as the session has
// both: sessions end after 30 minutes without a visit or an order. The clock reads
// the time of each side's values with its own function.
func ExampleJoin2() {
	t0 := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	flow := weir.NewDataflow("shop")
	visits := op.Input("visits", flow, weirtest.NewSource(
		weir.KV[visit]{Key: "ann", Value: visit{at(0), "shoes"}},
		weir.KV[visit]{Key: "ann", Value: visit{at(5), "hats"}},
		weir.KV[visit]{Key: "bob", Value: visit{at(7), "socks"}},
		weir.KV[visit]{Key: "ann", Value: visit{at(90), "bags"}},
	))
	orders := op.Input("orders", flow, weirtest.NewSource(
		weir.KV[order]{Key: "ann", Value: order{at(10), 4500}},
	))
	clock := window.EventTime(window.RowTime2(
		func(v visit) time.Time { return v.At },
		func(o order) time.Time { return o.At },
	), 10*time.Minute)
	out := window.Join2("join", visits, orders, clock, window.Session(30*time.Minute),
		window.JoinModes(op.InsertMode(op.InsertProduct), op.EmitMode(op.EmitComplete)))
	op.Inspect("bought", op.MapValue("pages", out.Down, func(w window.Windowed[op.Row2[visit, order]]) string {
		return fmt.Sprintf("session %d: %s then %d cents", w.Window, w.Value.A.Value.Page, w.Value.B.Value.Cents)
	}))
	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// shop.bought: (ann, session 0: shoes then 4500 cents)
	// shop.bought: (ann, session 0: hats then 4500 cents)
}
