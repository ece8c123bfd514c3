package window

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

const s = time.Second

// ids lists the window ids from first to last.
func ids(first, last int64) []int64 {
	var out []int64
	for id := first; id <= last; id++ {
		out = append(out, id)
	}
	return out
}

// idsAt returns the ids of the windows of w holding ts, and checks the open of the last.
func idsAt(t *testing.T, w *Windower, ts int64) []int64 {
	t.Helper()
	first, last, open := w.intersects(ts)
	if want := w.align + last*w.offset; open != want {
		t.Errorf("at %s: open of window %d %s, want %s", fmtInstant(ts), last, fmtInstant(open), fmtInstant(want))
	}
	return ids(first, last)
}

func TestSlidingIntersects(t *testing.T) {
	tests := []struct {
		align, length, offset, ts time.Duration // align and ts are offsets from t0
		want                      []int64
	}{
		// Offset divides length: every instant is in two windows.
		{0, 10 * s, 5 * s, 13 * s, []int64{1, 2}},
		{0, 10 * s, 5 * s, 7 * s, []int64{0, 1}},
		{0, 10 * s, 5 * s, 3 * s, []int64{-1, 0}},
		{0, 10 * s, 5 * s, -3 * s, []int64{-2, -1}},
		{0, 10 * s, 5 * s, 0, []int64{-1, 0}},           // opens are inclusive
		{0, 10 * s, 5 * s, 10 * s, []int64{1, 2}},       // closes are exclusive
		{0, 10 * s, 5 * s, 15 * s, []int64{2, 3}},       // on both edges at once
		{0, 10 * s, 5 * s, -5 * s, []int64{-2, -1}},     // the same before alignTo
		{0, 10 * s, 5 * s, 10*s - 1, []int64{0, 1}},     // one nanosecond before a close
		{0, 10 * s, 5 * s, -10*s - 1, []int64{-4, -3}},  // and before alignTo
		{0, 10 * s, 5 * s, -10 * s, []int64{-3, -2}},    // on an edge before alignTo
		{0, 10 * s, 5 * s, -10*s + 1, []int64{-3, -2}},  // just after it
		{0, 10 * s, 5 * s, -1, []int64{-2, -1}},         // just before alignTo
		{0, 10 * s, 5 * s, 1, []int64{-1, 0}},           // just after alignTo
		{0, 10 * s, 5 * s, 1000 * s, []int64{199, 200}}, // far after
		// Offset does not divide length: three windows, or two near the edges.
		{0, 10 * s, 3 * s, 11 * s, []int64{1, 2, 3}},
		{0, 10 * s, 3 * s, 11500 * time.Millisecond, []int64{1, 2, 3}},
		{0, 10 * s, 3 * s, -1 * s, []int64{-3, -2, -1}},
		{0, 10 * s, 3 * s, -1500 * time.Millisecond, []int64{-3, -2, -1}},
		{0, 10 * s, 3 * s, 5 * s, []int64{-1, 0, 1}},
		{0, 10 * s, 3 * s, 0, []int64{-3, -2, -1, 0}}, // -9s, -6s, -3s, 0s all hold 0
		{0, 10 * s, 7 * s, 14 * s, []int64{1, 2}},
		{0, 10 * s, 7 * s, -7 * s, []int64{-2, -1}},
		{0, 10 * s, 7 * s, 0, []int64{-1, 0}},
		{0, 10 * s, 7 * s, 17 * s, []int64{2}}, // window 1 closed at 17s
		{0, 10 * s, 7 * s, -4 * s, []int64{-1}},
		{0, 10 * s, 7 * s, 10 * s, []int64{1}},
		// Tumbling: offset = length, one window each.
		{0, 10 * s, 10 * s, 15 * s, []int64{1}},
		{0, 10 * s, 10 * s, -5 * s, []int64{-1}},
		{0, 10 * s, 10 * s, 5 * s, []int64{0}},
		{0, 10 * s, 10 * s, 20 * s, []int64{2}},
		{0, 10 * s, 10 * s, -10 * s, []int64{-1}},
		{0, 10 * s, 10 * s, -10*s - 1, []int64{-2}},
		{0, 10 * s, 10 * s, 0, []int64{0}},
		{0, 10 * s, 10 * s, 10 * s, []int64{1}},
		// alignTo is not the origin: ids count from it.
		{3 * s, 10 * s, 10 * s, 0, []int64{-1}},
		{3 * s, 10 * s, 10 * s, 3 * s, []int64{0}},
		{3 * s, 10 * s, 4 * s, 0, []int64{-3, -2, -1}},
		{-7 * s, 10 * s, 5 * s, 0, []int64{0, 1}},
		{-7 * s, 10 * s, 5 * s, -7 * s, []int64{-1, 0}},
		{time.Hour, time.Minute, time.Minute, 0, []int64{-60}},
		// Sub-second windows.
		{0, 3 * time.Millisecond, time.Millisecond, 2500 * time.Microsecond, []int64{0, 1, 2}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("align%v/len%v/off%v/at%v", tt.align, tt.length, tt.offset, tt.ts), func(t *testing.T) {
			w := Sliding(tt.length, tt.offset, t0.Add(tt.align))
			if err := w.check(); err != nil {
				t.Fatal(err)
			}
			if got := idsAt(t, &w, at(tt.ts)); !slices.Equal(got, tt.want) {
				t.Errorf("ids %v, want %v", got, tt.want)
			}
		})
	}
}

// Over a grid of windowers and times, the ids are exactly the windows whose
// [open, close) holds the time.
func TestSlidingIntersectsGrid(t *testing.T) {
	for _, align := range []time.Duration{-7 * s, 0, 3 * s, 1} {
		for _, length := range []time.Duration{s, 5 * s, 10 * s, 7*s + 1} {
			for _, offset := range []time.Duration{s, 2 * s, 3 * s, 5 * s, 10 * s, length} {
				if offset > length {
					continue
				}
				w := Sliding(length, offset, t0.Add(align))
				for ts := -25 * s; ts <= 25*s; ts += 250 * time.Millisecond {
					for _, d := range []time.Duration{-1, 0, 1} {
						var want []int64
						for id := int64(-100); id <= 100; id++ {
							open := at(align) + id*int64(offset)
							if open <= at(ts+d) && at(ts+d) < open+int64(length) {
								want = append(want, id)
							}
						}
						if got := idsAt(t, &w, at(ts+d)); !slices.Equal(got, want) {
							t.Fatalf("align %v, length %v, offset %v, at %v: ids %v, want %v", align, length, offset, ts+d, got, want)
						}
					}
				}
			}
		}
	}
	// With a one-nanosecond offset, every instant of the last length starts a window.
	w := Sliding(s, 1, t0)
	if first, last, _ := w.intersects(at(5 * s)); first != int64(4*s)+1 || last != int64(5*s) {
		t.Errorf("1ns offset: ids %d to %d, want %d to %d", first, last, int64(4*s)+1, int64(5*s))
	}
}

// spans formats open windows as id[open,close] (offsets from t0) with their merged ids.
func spans(ws []span) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%d[%s,%s]", w.ID, fmtInstant(w.Open), fmtInstant(w.Close))
		if len(w.Merged) > 0 {
			fmt.Fprintf(&b, "%v", w.Merged)
		}
	}
	return b.String()
}

func TestSlidingOpenFor(t *testing.T) {
	w := Sliding(10*s, 5*s, t0)
	st := windows{Done: minInstant}
	var in, late []int64
	step := func(ts time.Duration, done int64, wantIn, wantLate []int64, wantOpen string) {
		t.Helper()
		in, late, _ = w.openFor(&st, at(ts), done, in[:0], late[:0], nil)
		if !slices.Equal(in, wantIn) || !slices.Equal(late, wantLate) || spans(st.Windows) != wantOpen {
			t.Fatalf("at %v: in %v late %v open %s, want in %v late %v open %s", ts, in, late, spans(st.Windows), wantIn, wantLate, wantOpen)
		}
	}
	step(7*s, minInstant, []int64{0, 1}, nil, "0[0s,10s] 1[5s,15s]")
	step(8*s, minInstant, []int64{0, 1}, nil, "0[0s,10s] 1[5s,15s]")
	step(-3*s, minInstant, []int64{-2, -1}, nil, "-2[-10s,0s] -1[-5s,5s] 0[0s,10s] 1[5s,15s]")
	// A window not open and already closed at done (close <= done) takes the item as late.
	step(-7*s, at(10*s), []int64{-2}, []int64{-3}, "-2[-10s,0s] -1[-5s,5s] 0[0s,10s] 1[5s,15s]")

	var closed []span
	closed = w.closeFor(&st, at(5*s), closed)
	if got := spans(closed); got != "-2[-10s,0s] -1[-5s,5s]" {
		t.Errorf("closed at 5s: %s", got)
	}
	if next, ok := w.nextClose(&st); !ok || next != at(10*s) {
		t.Errorf("next close %s, %v; want 10s", fmtInstant(next), ok)
	}
	closed = w.closeFor(&st, at(10*s-1), closed[:0])
	if len(closed) != 0 {
		t.Errorf("closed before 10s: %s", spans(closed))
	}
	closed = w.closeFor(&st, maxInstant, closed[:0])
	if got := spans(closed); got != "0[0s,10s] 1[5s,15s]" {
		t.Errorf("closed at the end: %s", got)
	}
	if _, ok := w.nextClose(&st); ok || len(st.Windows) != 0 {
		t.Errorf("windows left: %s", spans(st.Windows))
	}
}

// Windows that close together come out in the order they opened, whatever the order
// their items came in.
func TestCloseInOpenOrder(t *testing.T) {
	tests := []struct {
		name  string
		w     Windower
		items []time.Duration
		want  string
	}{
		{"tumbling", Tumbling(10*s, t0), []time.Duration{25 * s, 5 * s, -15 * s, 15 * s}, "-2[-20s,-10s] 0[0s,10s] 1[10s,20s] 2[20s,30s]"},
		{"sliding", Sliding(10*s, 5*s, t0), []time.Duration{12 * s, 2 * s}, "-1[-5s,5s] 0[0s,10s] 1[5s,15s] 2[10s,20s]"},
		{"session", Session(time.Second), []time.Duration{20 * s, 0, 10 * s, -5 * s}, "3[-5s,-5s] 1[0s,0s] 2[10s,10s] 0[20s,20s]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := windows{Done: minInstant}
			for _, ts := range tt.items {
				tt.w.openFor(&st, at(ts), minInstant, nil, nil, nil)
			}
			if got := spans(tt.w.closeFor(&st, maxInstant, nil)); got != tt.want {
				t.Errorf("closed %s, want %s", got, tt.want)
			}
		})
	}
}

func TestSession(t *testing.T) {
	tests := []struct {
		name   string
		gap    time.Duration
		items  []time.Duration
		ids    []int64 // the session of each item
		merges string  // from>into, in order
		open   string  // the sessions left, in open order
	}{
		{"first item opens session 0", 10 * s, []time.Duration{0}, []int64{0}, "", "0[0s,0s]"},
		{"extend forward within gap", 10 * s, []time.Duration{0, 5 * s}, []int64{0, 0}, "", "0[0s,5s]"},
		{"extend forward by exactly gap", 10 * s, []time.Duration{0, 10 * s}, []int64{0, 0}, "", "0[0s,10s]"},
		{"new session just past gap", 10 * s, []time.Duration{0, 10*s + 1}, []int64{0, 1}, "", "0[0s,0s] 1[10.000000001s,10.000000001s]"},
		{"extend backward within gap", 10 * s, []time.Duration{0, -5 * s}, []int64{0, 0}, "", "0[-5s,0s]"},
		{"extend backward by exactly gap", 10 * s, []time.Duration{0, -10 * s}, []int64{0, 0}, "", "0[-10s,0s]"},
		{"new session before gap", 10 * s, []time.Duration{0, -10*s - 1}, []int64{0, 1}, "", "1[-10.000000001s,-10.000000001s] 0[0s,0s]"},
		{"within an existing session", 10 * s, []time.Duration{0, 10 * s, 5 * s, 0, 10 * s}, []int64{0, 0, 0, 0, 0}, "", "0[0s,10s]"},
		{"extend chain", 10 * s, []time.Duration{0, 10 * s, 20 * s, 30 * s}, []int64{0, 0, 0, 0}, "", "0[0s,30s]"},
		{"bridge merges into the earlier one", 10 * s, []time.Duration{0, 20 * s, 10 * s}, []int64{0, 1, 0}, "1>0", "0[0s,20s][1]"},
		{"bridge backwards merges into the earlier one", 10 * s, []time.Duration{20 * s, 0, 10 * s}, []int64{0, 1, 1}, "0>1", "1[0s,20s][0]"},
		{"no merge beyond gap", 10 * s, []time.Duration{0, 30 * s, 8 * s, 18 * s}, []int64{0, 1, 0, 0}, "", "0[0s,18s] 1[30s,30s]"},
		{"successive merges", 10 * s, []time.Duration{0, 15 * s, 30 * s, 7 * s, 22 * s}, []int64{0, 1, 2, 0, 0}, "1>0 2>0", "0[0s,30s][1 2]"},
		{"merges carry earlier merges", 10 * s, []time.Duration{0, 20 * s, 40 * s, 30 * s, 10 * s}, []int64{0, 1, 2, 1, 0}, "2>1 1>0", "0[0s,40s][1 2]"},
		{"merge only the neighbours", 10 * s, []time.Duration{0, 20 * s, 32 * s, 50 * s, 26 * s}, []int64{0, 1, 2, 3, 1}, "2>1", "0[0s,0s] 1[20s,32s][2] 3[50s,50s]"},
		{"zero gap: equal times only", 0, []time.Duration{0, 0, 1, 1}, []int64{0, 0, 1, 1}, "", "0[0s,0s] 1[1ns,1ns]"},
		{"before 1970", 10 * s, []time.Duration{-60 * 365 * 24 * time.Hour, -60*365*24*time.Hour + 5*s}, []int64{0, 0}, "", "0[-525600h0m0s,-525599h59m55s]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := Session(tt.gap)
			if err := w.check(); err != nil {
				t.Fatal(err)
			}
			st := windows{Done: minInstant}
			var got []int64
			var merges []merge
			for _, ts := range tt.items {
				var in, late []int64
				in, late, merges = w.openFor(&st, at(ts), minInstant, nil, nil, merges)
				if len(in) != 1 || len(late) != 0 {
					t.Fatalf("at %v: in %v, late %v; want one session", ts, in, late)
				}
				got = append(got, in[0])
			}
			var ms []string
			for _, m := range merges {
				ms = append(ms, fmt.Sprintf("%d>%d", m.from, m.into))
			}
			if !slices.Equal(got, tt.ids) {
				t.Errorf("ids %v, want %v", got, tt.ids)
			}
			if g := strings.Join(ms, " "); g != tt.merges {
				t.Errorf("merges %q, want %q", g, tt.merges)
			}
			if g := spans(st.Windows); g != tt.open {
				t.Errorf("sessions %s, want %s", g, tt.open)
			}
		})
	}
}

// A session closes once close < watermark - gap; a new session for an item that is
// already past that is late, with LateID.
func TestSessionClose(t *testing.T) {
	w := Session(5 * s)
	st := windows{Done: minInstant}
	w.openFor(&st, at(0), minInstant, nil, nil, nil)
	w.openFor(&st, at(10*s), minInstant, nil, nil, nil)
	if next, ok := w.nextClose(&st); !ok || next != at(5*s)+1 {
		t.Errorf("next close %s, want 5.000000001s", fmtInstant(next))
	}
	for _, tc := range []struct {
		wm   int64
		want string
	}{
		{at(5 * s), ""},
		{at(5*s) + 1, "0[0s,0s]"},
		{at(15 * s), ""},
		{at(15*s) + 1, "1[10s,10s]"},
	} {
		if got := spans(w.closeFor(&st, tc.wm, nil)); got != tc.want {
			t.Errorf("closed at %s: %q, want %q", fmtInstant(tc.wm), got, tc.want)
		}
	}
	if _, ok := w.nextClose(&st); ok {
		t.Error("no session left, yet a close")
	}

	// Ids go on from the last one; an item whose session would already be closed is late.
	in, late, _ := w.openFor(&st, at(20*s), at(20*s), nil, nil, nil)
	if !slices.Equal(in, []int64{2}) || len(late) != 0 {
		t.Errorf("at the watermark: in %v late %v, want in [2]", in, late)
	}
	in, late, _ = w.openFor(&st, at(3*s), at(20*s), nil, nil, nil)
	if len(in) != 0 || !slices.Equal(late, []int64{LateID}) {
		t.Errorf("past close: in %v late %v, want late [-1]", in, late)
	}
}

// Invalid windowers and clocks are build errors of the flow that name the step; running
// the flow returns them.
func TestBuildErrors(t *testing.T) {
	ts := func(v int) time.Time { return t0 }
	tests := []struct {
		name    string
		windows Windower
		clock   Clock[int]
		want    string
	}{
		{"zero length", Sliding(0, s, t0), EventClock(ts, 0), "weir: step f.win: sliding window length must be positive, not 0s"},
		{"negative length", Tumbling(-s, t0), EventClock(ts, 0), "weir: step f.win: sliding window length must be positive, not -1s"},
		{"zero offset", Sliding(s, 0, t0), EventClock(ts, 0), "weir: step f.win: sliding window offset must be positive, not 0s"},
		{"offset longer than length", Sliding(5*s, 10*s, t0), EventClock(ts, 0), "weir: step f.win: sliding window offset 10s is longer than its length 5s"},
		{"negative gap", Session(-s), EventClock(ts, 0), "weir: step f.win: session window gap must not be negative, not -1s"},
		{"zero windower", Windower{}, EventClock(ts, 0), "weir: step f.win: no windower"},
		{"zero clock", Tumbling(s, t0), Clock[int]{}, "weir: step f.win: no clock"},
		{"negative wait", Tumbling(s, t0), EventClock(ts, -s), "weir: step f.win: event clock wait must not be negative, not -1s"},
		{"no timestamps", Tumbling(s, t0), EventClock[int](nil, 0), "weir: step f.win: event clock without a timestamp function"},
		{"no event time timestamps", Tumbling(s, t0), EventTime[int](nil, 0), "weir: step f.win: event clock without a timestamp function"},
		{"negative event time wait", Tumbling(s, t0), EventTime(ts, -s), "weir: step f.win: event clock wait must not be negative, not -1s"},
		{"zero idle timeout", Tumbling(s, t0), EventTime(ts, s, IdleTimeout(0)), "weir: step f.win: event time idle timeout must be positive, not 0s"},
		{"idle timeout and forever", Tumbling(s, t0), EventTime(ts, Forever, IdleTimeout(s)), "weir: step f.win: event time idle timeout with a wait of Forever"},
		{"alignTo in year 1", Tumbling(s, time.Time{}), EventTime(ts, 0), "weir: step f.win: window: alignTo 0001-01-01 00:00:00 +0000 UTC is outside the times windows can hold, 1677-09-21T00:12:44Z to 2262-04-11T23:47:15Z"},
		{"alignTo in year 9000", Sliding(2*s, s, time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC)), EventTime(ts, 0), "weir: step f.win: window: alignTo 9000-01-01"},
	}
	type build func(up weir.KeyedStream[int], c Clock[int], w Windower)
	ops := map[string]build{
		"collect": func(up weir.KeyedStream[int], c Clock[int], w Windower) { Collect("win", up, c, w) },
		"count": func(up weir.KeyedStream[int], c Clock[int], w Windower) {
			Count("win", op.KeyRm("unkey", up), c, w, func(int) string { return "k" })
		},
		"max": func(up weir.KeyedStream[int], c Clock[int], w Windower) {
			Max("win", up, c, w, func(v int) int { return v })
		},
	}
	for _, tt := range tests {
		for name, b := range ops {
			t.Run(tt.name+"/"+name, func(t *testing.T) {
				flow := weir.NewDataflow("f")
				b(op.Input("in", flow, weirtest.NewSource[weir.KV[int]]()), tt.clock, tt.windows)
				err := flow.Err()
				if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
					t.Fatalf("build error %v, want %q", err, tt.want)
				}
				if strings.Contains(tt.want, "alignTo") && !errors.Is(err, ErrTimeRange) {
					t.Errorf("build error %v is not an ErrTimeRange", err)
				}
				if rerr := run.Run(context.Background(), flow); rerr == nil || rerr.Error() != err.Error() {
					t.Errorf("run error %v, want %v", rerr, err)
				}
			})
		}
	}
	// Valid edge cases build.
	for _, w := range []Windower{Sliding(s, s, t0), Sliding(s, 1, t0), Session(0)} {
		flow := weir.NewDataflow("f")
		Collect("win", op.Input("in", flow, weirtest.NewSource[weir.KV[int]]()), EventClock(ts, 0), w)
		if err := flow.Err(); err != nil {
			t.Errorf("%+v: %v", w, err)
		}
	}
}

// Window ids are exact for times and alignments centuries apart, where ts-alignTo does not
// fit an int64 of nanoseconds: a saturated difference would put such items in a window
// near the end of time.
func TestSlidingIntersectsFarFromAlign(t *testing.T) {
	year := func(y int) time.Time { return time.Date(y, 3, 14, 15, 9, 26, 535897932, time.UTC) }
	tests := []struct {
		align, ts      time.Time
		length, offset time.Duration
	}{
		{year(1700), year(2260), time.Hour, time.Hour},
		{year(2260), year(1700), time.Hour, time.Hour},
		{year(1700), year(2260), 10 * time.Minute, 3 * time.Minute},
		{year(2260), year(1700), 10 * time.Minute, 3 * time.Minute},
		{minTime, maxTime, 7 * s, 7 * s},
		{maxTime, minTime, 7*s + 1, 3 * s},
		{maxTime, minTime, 2, 2},
		{time.Unix(0, 0), maxTime, 1, 1},
		{time.Unix(0, 0), minTime, 1, 1},
		{maxTime, minTime, Forever, Forever},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d-%d/%v/%v", tt.align.Year(), tt.ts.Year(), tt.length, tt.offset), func(t *testing.T) {
			w := Sliding(tt.length, tt.offset, tt.align)
			if err := w.check(); err != nil {
				t.Fatal(err)
			}
			ts := instant(tt.ts)
			// The reference: window i holds ts when align + i*offset <= ts < that + length.
			diff := new(big.Int).Sub(big.NewInt(ts), big.NewInt(w.align))
			off, length := big.NewInt(w.offset), big.NewInt(w.length)
			last := new(big.Int).Div(diff, off) // Euclidean: floors for a positive divisor
			first := new(big.Int).Div(new(big.Int).Sub(diff, length), off)
			first.Add(first, big.NewInt(1))
			gotFirst, gotLast, gotOpen := w.intersects(ts)
			if gotFirst != first.Int64() || gotLast != last.Int64() {
				t.Errorf("ids %d to %d, want %v to %v", gotFirst, gotLast, first, last)
			}
			open := new(big.Int).Add(big.NewInt(w.align), new(big.Int).Mul(last, off))
			// An open before the first instant is clamped to it.
			if open.Cmp(big.NewInt(minInstant)) < 0 {
				open.SetInt64(minInstant)
			}
			if gotOpen != open.Int64() {
				t.Errorf("open of the last window %d, want %v", gotOpen, open)
			}
		})
	}
	// Past an int64 of ids (1ns windows, ts-alignTo above 2^63 ns): an error, not a wrong id.
	w := Sliding(1, 1, minTime)
	defer func() {
		err, _ := recover().(error)
		if !errors.Is(err, ErrTimeRange) {
			t.Errorf("ids beyond int64: %v, want ErrTimeRange", err)
		}
	}()
	first, last, _ := w.intersects(instant(maxTime))
	t.Errorf("ids beyond int64: %d to %d, want a panic with ErrTimeRange", first, last)
}

// An item's timestamp outside the times windows can hold (years 1 and 9000 here, with
// alignTo at the Unix epoch) fails the run with a TimeRangeError naming the step, the key
// and the time, instead of wrapping around into some other window.
func TestTimestampOutOfRange(t *testing.T) {
	epoch := time.Unix(0, 0).UTC()
	for _, tc := range []struct {
		name string
		at   time.Time
	}{
		{"year 1", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{"year 9000", time.Date(9000, 6, 1, 0, 0, 0, 0, time.UTC)},
	} {
		for _, clock := range []struct {
			name string
			c    Clock[time.Time]
		}{
			{"event time", EventTime(func(t time.Time) time.Time { return t }, Forever)},
			{"event clock", EventClock(func(t time.Time) time.Time { return t }, 0)},
		} {
			t.Run(tc.name+"/"+clock.name, func(t *testing.T) {
				flow := weir.NewDataflow("f")
				in := op.Input("in", flow, weirtest.NewSource(
					weir.KV[time.Time]{Key: "k", Value: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)},
					weir.KV[time.Time]{Key: "k", Value: tc.at}))
				out := Count("win", op.KeyRm("unkey", in), clock.c, Tumbling(time.Hour, epoch), func(time.Time) string { return "k" })
				op.Output("out", out.Down, weirtest.NewSink[weir.KV[Windowed[int]]]())
				err := run.Run(context.Background(), flow)
				var tre *TimeRangeError
				if !errors.As(err, &tre) || !tre.Time.Equal(tc.at) || tre.What != "timestamp" {
					t.Fatalf("run error %v, want a TimeRangeError for %v", err, tc.at)
				}
				if msg := err.Error(); !strings.Contains(msg, "f.win.sum.stateful_batch") || !strings.Contains(msg, `key "k"`) ||
					!strings.Contains(msg, "window: timestamp "+tc.at.String()+" is outside the times windows can hold") {
					t.Errorf("run error %q does not say the step, the key and the time", msg)
				}
			})
		}
	}
}
