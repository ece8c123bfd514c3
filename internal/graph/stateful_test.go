package graph

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
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
	kv := func(k, v string) KV[string] { return KV[string]{Key: k, Value: v} }
	rt := NewStateful(func(int, bool) Logic[string, string, int] { return &alarm{} })
	at := func(s int) time.Time { return time.Unix(int64(s), 0) }
	fire := func(now int) []string {
		out, err := rt.Activate(nil, at(now), false)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		if out != nil {
			for _, kv := range out.([]KV[string]) {
				keys = append(keys, kv.Key)
			}
		}
		return keys
	}
	if _, err := rt.Activate([]KV[string]{kv("a", "10"), kv("b", "20"), kv("c", "30"), kv("d", "40")}, at(0), false); err != nil {
		t.Fatal(err)
	}
	// a postponed to 25, c brought forward to 5, d withdrawn.
	if _, err := rt.Activate([]KV[string]{kv("a", "25"), kv("c", "5"), kv("d", "-")}, at(1), false); err != nil {
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

// Many keys re-armed at random fire in time order, each at its last time.
func TestTimersRandom(t *testing.T) {
	rt := NewStateful(func(int, bool) Logic[string, string, int] { return &alarm{} }).(*stateful[string, string, int])
	r := rand.New(rand.NewPCG(1, 2))
	want := map[string]int{}
	for round := range 50 {
		var batch []KV[string]
		for range 40 {
			k := fmt.Sprint("k", r.IntN(200))
			s := 1000 + r.IntN(1000)
			batch = append(batch, KV[string]{Key: k, Value: fmt.Sprint(s)})
			want[k] = s
		}
		if _, err := rt.Activate(batch, time.Unix(int64(round), 0), false); err != nil {
			t.Fatal(err)
		}
	}
	got := map[string]int{}
	last := 0
	for now := 1000; now <= 2000; now++ {
		out, _ := rt.Activate(nil, time.Unix(int64(now), 0), false)
		if out == nil {
			continue
		}
		for _, kv := range out.([]KV[string]) {
			if _, dup := got[kv.Key]; dup {
				t.Fatalf("%s fired twice", kv.Key)
			}
			got[kv.Key] = now
		}
		last = now
	}
	if !maps.Equal(got, want) {
		t.Errorf("fired %d keys (last at %d), want %d at their last times", len(got), last, len(want))
	}
}
