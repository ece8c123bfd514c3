package keyed

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/weirflow/weir"
)

// alarm asks to be notified at the time its last value names (seconds); "-" withdraws.
type alarm struct{ at time.Time }

func (a *alarm) OnBatch(vs []string) ([]string, bool) {
	if v := vs[len(vs)-1]; v == "-" {
		a.at = time.Time{}
	} else {
		var s int
		fmt.Sscan(v, &s)
		a.at = time.Unix(int64(s), 0)
	}
	return nil, false
}
func (a *alarm) OnNotify() ([]string, bool)  { a.at = time.Time{}; return []string{"fired"}, false }
func (a *alarm) OnEOF() ([]string, bool)     { return nil, false }
func (a *alarm) NotifyAt() (time.Time, bool) { return a.at, !a.at.IsZero() }
func (a *alarm) Snapshot() int               { return 0 }

// The timer heap fires each key once at the time its logic last asked for: later
// (postponed lazily), earlier, or not at all when withdrawn.
func TestTimers(t *testing.T) {
	kv := func(k, v string) weir.KV[string] { return weir.KV[string]{Key: k, Value: v} }
	rt := New(func(int, bool) Logic[string, string, int] { return &alarm{} })
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	fire := func(now int) []string {
		out, err := rt.Activate(nil, at(now), false)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		if out != nil {
			for _, kv := range out.([]weir.KV[string]) {
				keys = append(keys, kv.Key)
			}
		}
		return keys
	}
	if _, err := rt.Activate([]weir.KV[string]{kv("a", "10"), kv("b", "20"), kv("c", "30"), kv("d", "40")}, at(0), false); err != nil {
		t.Fatal(err)
	}
	// a postponed to 25, c brought forward to 5, d withdrawn.
	if _, err := rt.Activate([]weir.KV[string]{kv("a", "25"), kv("c", "5"), kv("d", "-")}, at(1), false); err != nil {
		t.Fatal(err)
	}
	if next, _ := rt.NextNotify(); !next.Equal(at(5)) {
		t.Errorf("next notification %v, want 5s", next.Unix())
	}
	steps := []struct {
		now  int
		want []string
	}{{4, nil}, {5, []string{"c"}}, {15, nil}, {20, []string{"b"}}, {25, []string{"a"}}, {100, nil}}
	for _, st := range steps {
		if got := fire(st.now); !slices.Equal(got, st.want) {
			t.Errorf("at %ds fired %v, want %v", st.now, got, st.want)
		}
	}
	if _, ok := rt.NextNotify(); ok {
		t.Error("a notification is still armed")
	}
}

// NextNotify follows the earliest want when it is withdrawn or postponed before it was
// ever filed in the heap.
func TestTimersEarliestWithdrawn(t *testing.T) {
	rt := New(func(int, bool) Logic[string, string, int] { return &alarm{} })
	steps := []struct {
		batch []weir.KV[string]
		want  int64 // seconds; 0 for none
	}{
		{[]weir.KV[string]{{Key: "a", Value: "10"}, {Key: "b", Value: "20"}}, 10},
		{[]weir.KV[string]{{Key: "a", Value: "-"}}, 20},
		{[]weir.KV[string]{{Key: "b", Value: "30"}}, 30},
		{[]weir.KV[string]{{Key: "b", Value: "-"}}, 0},
	}
	for i, st := range steps {
		if _, err := rt.Activate(st.batch, time.Unix(1, 0), false); err != nil {
			t.Fatal(err)
		}
		next, ok := rt.NextNotify()
		if ok != (st.want > 0) || (ok && next.Unix() != st.want) {
			t.Errorf("step %d: next notification %d (%v), want %d", i, next.Unix(), ok, st.want)
		}
	}
}

// Keys armed, re-armed earlier or later and withdrawn at random, while time passes, fire
// exactly when a model of their last wants says, and NextNotify is always the earliest
// want. Rounds touch few keys or many, so that the early list is filed both ways (one by
// one and by rebuilding the heap), and due or not.
func TestTimersRandom(t *testing.T) {
	rt := New(func(int, bool) Logic[string, string, int] { return &alarm{} })
	r := rand.New(rand.NewPCG(1, 2))
	model := map[string]int{} // key -> the second it wants
	now := 0
	for round := range 400 {
		now += r.IntN(3)
		var batch []weir.KV[string]
		touch := 3
		if round%7 == 0 {
			touch = 150
		}
		for range touch {
			k := fmt.Sprint("k", r.IntN(300))
			v := fmt.Sprint(now + 1 + r.IntN(100))
			if r.IntN(10) == 0 {
				v = "-"
			}
			batch = append(batch, weir.KV[string]{Key: k, Value: v})
		}
		out, err := rt.Activate(batch, time.Unix(int64(now), 0), false)
		if err != nil {
			t.Fatal(err)
		}
		var fired []string
		if out != nil {
			for _, kv := range out.([]weir.KV[string]) {
				fired = append(fired, kv.Key)
			}
		}
		// What was due at now fires, after OnBatch and before NotifyAt is asked again, so
		// that a key of the batch that fires forgets the time its items named.
		var due []string
		for k, s := range model {
			if s <= now {
				due = append(due, k)
				delete(model, k)
			}
		}
		slices.Sort(due)
		for _, kv := range batch {
			switch {
			case slices.Contains(due, kv.Key):
			case kv.Value == "-":
				delete(model, kv.Key)
			default:
				model[kv.Key], _ = strconv.Atoi(kv.Value)
			}
		}
		if !slices.Equal(fired, due) {
			t.Fatalf("round %d at %ds: fired %v, want %v", round, now, fired, due)
		}
		next, ok := rt.NextNotify()
		want := -1
		for _, s := range model {
			if want < 0 || s < want {
				want = s
			}
		}
		if ok != (want >= 0) || (ok && next.Unix() != int64(want)) {
			t.Fatalf("round %d: next notification %v (%v), want %ds", round, next.Unix(), ok, want)
		}
	}
}

// deadline asks, after each batch, to be notified at the time its last value names
// (Unix ns), as an event clock's windows do: every item of a key brings its deadline
// earlier or later.
type deadline struct{ at int64 }

func (d *deadline) OnBatch(vs []int64) ([]int64, bool) { d.at = vs[len(vs)-1]; return nil, false }
func (d *deadline) OnNotify() ([]int64, bool)          { return nil, false }
func (d *deadline) OnEOF() ([]int64, bool)             { return nil, false }
func (d *deadline) NotifyAt() (time.Time, bool)        { return time.Unix(0, d.at), true }
func (d *deadline) Snapshot() int                      { return 0 }

// BenchmarkTimerRearm measures the runtime when every item moves its key's deadline: 10k
// keys, batches of 1024 items of distinct keys, each deadline earlier than every other
// one (the pattern of per-key event-time windows, whose newest key closes first), and a
// new window every 60 batches that postpones every deadline.
func BenchmarkTimerRearm(b *testing.B) {
	const keys, batch = 10_000, 1024
	names := make([]string, keys)
	for i := range names {
		names[i] = fmt.Sprint("key-", i)
	}
	rt := New(func(int, bool) Logic[int64, int64, int] { return &deadline{} })
	items := make([]weir.KV[int64], batch)
	now := time.Unix(1, 0)
	at := int64(1 << 60)
	i := 0
	for b.Loop() {
		for j := range items {
			if i%(60*batch) == 0 {
				at += 1 << 40 // a new window: later than every deadline so far
			}
			at-- // every item's deadline is the earliest yet
			items[j] = weir.KV[int64]{Key: names[i%keys], Value: at}
			i++
		}
		if _, err := rt.Activate(items, now, false); err != nil {
			b.Fatal(err)
		}
		rt.NextNotify()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*batch), "ns/item")
}

// forget counts its values and discards its key after the third.
type forget struct{ n int }

func (f *forget) OnBatch(vs []int) ([]int, bool) { f.n += len(vs); return []int{f.n}, f.n >= 3 }
func (f *forget) OnNotify() ([]int, bool)        { return nil, false }
func (f *forget) OnEOF() ([]int, bool)           { return []int{f.n}, false }
func (f *forget) NotifyAt() (time.Time, bool)    { return time.Time{}, false }
func (f *forget) Snapshot() int                  { return f.n }

// Keys that come and go, in batches of every size, still run in key order, and the
// runtime's lists of them stay bounded by the keys alive.
func TestKeysComeAndGo(t *testing.T) {
	rt := New(func(int, bool) Logic[int, int, int] { return &forget{} }).(*stateful[int, int, int])
	r := rand.New(rand.NewPCG(3, 4))
	order := func(out any) []string {
		var keys []string
		if out != nil {
			for _, kv := range out.([]weir.KV[int]) {
				keys = append(keys, kv.Key)
			}
		}
		return keys
	}
	for round := range 300 {
		size := []int{1, 50, 500, 3000}[round%4]
		batch := make([]weir.KV[int], size)
		for i := range batch {
			batch[i] = weir.KV[int]{Key: fmt.Sprintf("k%05d", r.IntN(20_000)+round*100), Value: 1}
		}
		out, err := rt.Activate(batch, time.Unix(0, 0), false)
		if err != nil {
			t.Fatal(err)
		}
		if keys := order(out); !slices.IsSorted(keys) {
			t.Fatalf("round %d: OnBatch ran out of key order", round)
		}
		if live, held := len(rt.keys), len(rt.order.sorted)+len(rt.order.fresh); held > 2*live+2048 {
			t.Fatalf("round %d: %d entries held for %d live keys", round, held, live)
		}
	}
	out, err := rt.Activate(nil, time.Unix(0, 0), true)
	if err != nil {
		t.Fatal(err)
	}
	keys := order(out)
	if len(keys) != len(rt.keys) || !slices.IsSorted(keys) {
		t.Errorf("end of stream: %d keys, sorted %v; want the %d live keys in order", len(keys), slices.IsSorted(keys), len(rt.keys))
	}
}
