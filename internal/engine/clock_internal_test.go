package engine

import (
	"testing"
	"testing/synctest"
	"time"
)

// A worker's clock reads the wall clock in full at most every anchorEvery and otherwise
// advances its last reading by the monotonic clock: its times never go back, stay with
// time.Now, and take a new full reading once anchorEvery has passed.
func TestWorkerClock(t *testing.T) {
	w := &worker{}
	prev := w.clock()
	first := w.anchor
	for range 10_000 {
		now := w.clock()
		if now.Before(prev) {
			t.Fatalf("the clock went back: %v after %v", now, prev)
		}
		// Both the monotonic reading (Sub) and the wall clock (Round(0) strips the
		// monotonic one) stay with time.Now.
		if d := time.Since(now); d < 0 || d > time.Second {
			t.Fatalf("clock %v, time.Now %v apart", now, d)
		}
		if d := time.Now().Round(0).Sub(now.Round(0)); d < -time.Millisecond || d > time.Second {
			t.Fatalf("clock's wall time %v off time.Now's", d)
		}
		prev = now
	}
	if w.anchor != first && time.Since(first) < anchorEvery {
		t.Errorf("a full reading %v after the first, before anchorEvery", w.anchor.Sub(first))
	}
	synctest.Test(t, func(t *testing.T) {
		w := &worker{}
		w.clock()
		first := w.anchor
		time.Sleep(anchorEvery / 2)
		if now := w.clock(); w.anchor != first || now.Sub(first) != anchorEvery/2 {
			t.Errorf("half an anchorEvery on: anchor moved %v, clock %v after the anchor", w.anchor.Sub(first), now.Sub(first))
		}
		time.Sleep(anchorEvery / 2)
		if w.clock(); w.anchor == first {
			t.Errorf("no full reading after anchorEvery")
		}
	})
}
