package keyed

import (
	"slices"
	"testing"
)

// clocked is an owner of a timer slot, as the runtime's entries are.
type clocked struct {
	timers timerSlot[clocked]
	id     int
}

// FuzzTimerQueue checks timerQueue against a model, a map from slot to the time it wants
// scanned whole: the fuzz bytes are a sequence of operations on 300 slots (arm one of the first 64 at a time
// near now, arm earlier or later than the slot's time, disarm, arm many at once, postpone
// every armed slot as a new window does, pop what is due as time passes, ask for the next
// time), and after every one the heap, the early list and the slots must agree with the
// model. The seeds run as a unit test.
func FuzzTimerQueue(f *testing.F) {
	f.Add([]byte{0, 5, 10, 0, 6, 20, 4, 0, 5, 0, 4, 15, 4, 31})
	f.Add([]byte{6, 200, 4, 3, 2, 7, 9, 1, 9, 100, 5, 0, 3, 9, 5, 0, 7, 90, 5, 0, 4, 31, 5, 0})
	f.Add([]byte{6, 255, 6, 255, 7, 255, 5, 0, 1, 3, 50, 4, 2, 5, 0, 6, 40, 4, 20, 5, 0})
	f.Add([]byte{0, 1, 40, 0, 2, 0, 3, 2, 0, 5, 0, 0, 4, 0, 99}) // the earliest withdrawn before it is filed
	// A listed slot moved earlier, but not before its filed time, then later: earlyMin
	// must follow it (TestTimerNextNotEarly).
	f.Add([]byte{0, 1, 116, 0, 2, 106, 0, 3, 66, 4, 0, 31, 4, 0, 19, 1, 1, 40, 2, 1, 60, 5, 0, 0, 1, 1, 15, 2, 1, 25, 3, 2, 0, 5, 0, 0})
	// Long runs: many slots armed, moved and withdrawn while time passes.
	addRandomSeeds(f, 77, 1500)
	f.Fuzz(func(t *testing.T, ops []byte) {
		const n = 300
		var q timerQueue[clocked]
		cs := make([]clocked, n)
		for i := range cs {
			cs[i] = clocked{id: i}
			cs[i].timers.owner = &cs[i]
		}
		model := map[int]int64{} // slot -> the time it wants
		now := int64(1000)
		arm := func(i int, want int64) {
			q.arm(&cs[i].timers, want)
			model[i] = want
		}
		for p := 0; p+2 < len(ops); p += 3 {
			i, arg := int(ops[p+1])%64, int64(ops[p+2]) // single slots among 64, so that they meet
			switch ops[p] % 8 {
			case 0: // arm at a time near now, some of them past
				arm(i, now+arg-16)
			case 1: // arm earlier than the slot's time
				if w, ok := model[i]; ok {
					arm(i, w-arg)
				} else {
					arm(i, now+arg)
				}
			case 2: // arm later than the slot's time
				if w, ok := model[i]; ok {
					arm(i, w+arg)
				} else {
					arm(i, now+arg)
				}
			case 3:
				q.disarm(&cs[i].timers)
				delete(model, i)
			case 4: // time passes: what is due fires once
				now += arg % 32
				var got, want []int
				for _, c := range q.due(now, nil) {
					got = append(got, c.id)
				}
				for j, w := range model {
					if w <= now {
						want = append(want, j)
						delete(model, j)
					}
				}
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("due at %d: %v, want %v", now, got, want)
				}
			case 5:
				got, ok := q.next()
				want, armed := int64(0), false
				for _, w := range model {
					if !armed || w < want {
						want, armed = w, true
					}
				}
				if ok != armed || got != want {
					t.Fatalf("next: %d (%v), want %d (%v)", got, ok, want, armed)
				}
			case 6: // arm up to 2*arg slots, each earlier than the one before
				for k := range 2 * int(arg) {
					arm((i+k*13)%n, now+1000-int64(k))
				}
			case 7: // a new window: every armed slot moves later
				for j, w := range model {
					arm(j, w+1000+arg)
				}
			}
			checkTimers(t, &q, cs, model)
		}
	})
}

// next reports the earliest time a slot wants, not an earlier one that a slot wanted
// once: a slot on the early list that moves earlier, though no earlier than the time filed
// for it, and then later, took earlyMin's value with it while earlyMin stayed. The engine
// sleeps until next: a time earlier than every want costs a round for nothing (a later one
// would miss a notification).
func TestTimerNextNotEarly(t *testing.T) {
	var q timerQueue[clocked]
	a, b, c := &clocked{id: 0}, &clocked{id: 1}, &clocked{id: 2}
	for _, x := range []*clocked{a, b, c} {
		x.timers.owner = x
	}
	q.arm(&a.timers, 100)
	q.arm(&c.timers, 90)
	q.arm(&b.timers, 50)
	if due := q.due(50, nil); len(due) != 1 || due[0] != b {
		t.Fatalf("due at 50: %v, want slot 1", due)
	}
	// a is filed at 100 and c at 90. a moves earlier than its filed time (listed, earlyMin
	// 60), then past it (earlyMin stale).
	q.arm(&a.timers, 60)
	q.arm(&a.timers, 120)
	if at, ok := q.next(); !ok || at != 90 {
		t.Fatalf("next: %d %v, want 90", at, ok)
	}
	// earlyMin is 120, a's want; a moves to 105, earlier but after its filed 100, then to 130.
	q.arm(&a.timers, 105)
	q.arm(&a.timers, 130)
	q.disarm(&c.timers)
	if at, ok := q.next(); !ok || at != 130 {
		t.Fatalf("next: %d %v, want 130, the only want", at, ok)
	}
}

// checkTimers checks the rules of q against the model: a heap ordered on the times filed,
// with each slot knowing its place; the count of armed slots; a slot armed exactly when the model has it, at the
// model's time; every early slot listed; and each armed slot's want accounted for, by a
// time filed no later than it or by the early list with earlyMin no later than it.
func checkTimers(t *testing.T, q *timerQueue[clocked], cs []clocked, model map[int]int64) {
	t.Helper()
	for i, h := range q.heap {
		if int(h.s.hpos) != i+1 {
			t.Fatalf("heap[%d] (slot %d) knows place %d", i, h.s.owner.id, h.s.hpos)
		}
		if p := (i - 1) / 2; i > 0 && q.heap[p].at > h.at {
			t.Fatalf("heap[%d] at %d above heap[%d] at %d", p, q.heap[p].at, i, h.at)
		}
	}
	if q.armed != len(model) {
		t.Fatalf("%d slots counted armed, want %d", q.armed, len(model))
	}
	listed := map[*timerSlot[clocked]]bool{}
	for _, s := range q.early {
		listed[s] = true
	}
	for i := range cs {
		s := &cs[i].timers
		want, armed := model[i]
		if armed != (s.hpos > 0 || s.early) {
			t.Fatalf("slot %d armed %v, want %v", i, !armed, armed)
		}
		if !armed {
			continue
		}
		if s.want != want {
			t.Fatalf("slot %d wants %d, want %d", i, s.want, want)
		}
		// The slot's want is accounted for by the heap, filed no later than it (a later
		// want is filed again when its slot reaches the top), or by the early list.
		filed := s.hpos > 0 && q.heap[s.hpos-1].at <= s.want
		if s.early && !listed[s] {
			t.Fatalf("slot %d early but not listed", i)
		}
		if !filed && !(s.early && q.earlyMin <= s.want) {
			t.Fatalf("slot %d wants %d, neither filed before it (place %d) nor early (%v, earlyMin %d)", i, s.want, s.hpos, s.early, q.earlyMin)
		}
		// earlyMin bounds every listed want, and is one of them unless flagged stale.
		if s.early && q.earlyMin > s.want {
			t.Fatalf("slot %d listed wanting %d, before earlyMin %d", i, s.want, q.earlyMin)
		}
	}
	if !q.earlyStale {
		live, owned := false, false
		for _, s := range q.early {
			if s.early {
				live, owned = true, owned || s.want == q.earlyMin
			}
		}
		if live && !owned {
			t.Fatalf("earlyMin %d, not stale, is the want of no listed slot", q.earlyMin)
		}
	}
}
