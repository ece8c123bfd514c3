package comm

import (
	"sync"
	"testing"
	"time"
)

// Each sender's messages arrive in the order it sent them, whatever other senders do.
func TestLocalKeepsSenderOrder(t *testing.T) {
	const senders, per = 4, 1000
	l := NewLocal(senders+1, 1<<30)
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range per {
				l.Send(senders, Message{From: s, Epoch: uint64(i), Batch: []int{i}})
			}
		}()
	}
	next := make([]uint64, senders)
	got := 0
	for got < senders*per {
		<-l.Wake(senders)
		for _, m := range l.Receive(senders, nil) {
			if m.Epoch != next[m.From] {
				t.Fatalf("from %d: got %d, want %d", m.From, m.Epoch, next[m.From])
			}
			next[m.From]++
			got++
		}
	}
	wg.Wait()
}

// A worker's load counts its messages from Send until it is Done with them: a batch being
// processed holds memory as much as a queued one.
func TestLocalCongestion(t *testing.T) {
	l := NewLocal(2, 100)
	l.Send(1, Message{Bytes: 60})
	if congested(l, 0) {
		t.Fatal("congested below the limit")
	}
	l.Send(1, Message{Bytes: 60})
	if !congested(l, 0) {
		t.Fatal("not congested above the limit")
	}
	select { // drain worker 0's wake signal from nothing: it has none yet
	case <-l.Wake(0):
		t.Fatal("worker 0 woken before the queue drained")
	default:
	}
	if n := len(l.Receive(1, nil)); n != 2 {
		t.Fatalf("received %d messages, want 2", n)
	}
	if !congested(l, 0) {
		t.Fatal("not congested while the received messages are processed")
	}
	l.Done(1, 60)
	if congested(l, 0) {
		t.Error("still congested after the receiver was done with enough")
	}
	select {
	case <-l.Wake(0):
	default:
		t.Error("a paused sender was not woken when the load fell below the limit")
	}
}

// Held bytes count toward the load, and a worker may ask for less than the mesh's limit,
// never more.
func TestLocalReport(t *testing.T) {
	l := NewLocal(2, 100)
	l.Report(1, 101, 1000)
	if !congested(l, 0) {
		t.Fatal("not congested with held bytes above the mesh's limit")
	}
	l.Report(1, 50, 1000)
	if congested(l, 0) {
		t.Fatal("congested below the limit")
	}
	select {
	case <-l.Wake(0):
	default:
		t.Error("a paused sender was not woken when held bytes fell")
	}
	l.Send(1, Message{Bytes: 30})
	l.Report(1, 50, 60)
	if !congested(l, 0) {
		t.Fatal("not congested above the reported limit")
	}
	l.Receive(1, nil)
	l.Done(1, 30)
	if congested(l, 0) {
		t.Error("congested with 50 bytes held and a limit of 60")
	}
	select {
	case <-l.Wake(0):
	default:
		t.Error("a paused sender was not woken when the load fell below the reported limit")
	}
}

// woken reports whether w's wake channel has a signal, and takes it.
func woken(l *Local, w int) bool {
	select {
	case <-l.Wake(w):
		return true
	default:
		return false
	}
}

// The credit toward a worker is its limit less its load: it falls as bytes are queued for
// it and as it holds bytes parked, and returns as it is done with them or lets them go,
// waking the senders when it comes back above 0.
func TestLocalCredit(t *testing.T) {
	l := NewLocal(3, 100)
	check := func(step string, want int) {
		t.Helper()
		for from := range 3 {
			if got := l.Credit(from, 1); got != want {
				t.Fatalf("%s: Credit(%d, 1) = %d, want %d", step, from, got, want)
			}
		}
		if got := l.Credit(0, 2); got != 100 {
			t.Fatalf("%s: credit toward an idle worker = %d, want 100", step, got)
		}
	}
	check("start", 100)
	l.Send(1, Message{From: 0, Bytes: 30})
	check("queued 30", 70)
	woken(l, 1) // the message's own signal
	l.Report(1, 40, 1000)
	check("queued 30, held 40", 30)
	l.Send(1, Message{From: 2, Bytes: 30})
	check("queued 60, held 40", 0)
	if !congested(l, 0) || !congested(l, 2) {
		t.Fatal("not congested with no credit left")
	}
	if woken(l, 0) || woken(l, 2) {
		t.Fatal("a sender woken before credit returned")
	}
	if n := len(l.Receive(1, nil)); n != 2 {
		t.Fatalf("received %d messages, want 2", n)
	}
	check("received, not done", 0)
	l.Done(1, 10)
	check("done with 10", 10)
	if !woken(l, 0) || !woken(l, 2) {
		t.Fatal("the senders were not woken when credit returned")
	}
	if congested(l, 0) {
		t.Fatal("congested with credit left")
	}
	l.Done(1, 20)
	check("done with 30", 30)
	if woken(l, 0) {
		t.Fatal("a sender woken though its credit never ran out")
	}
	l.Report(1, 90, 1000)
	check("held 90", -20)
	if !woken(l, 0) || !woken(l, 2) {
		t.Fatal("the others were not woken when held bytes used the credit up")
	}
	l.Report(1, 0, 1000)
	check("held 0", 70)
	if !woken(l, 0) || !woken(l, 2) {
		t.Fatal("the senders were not woken when held bytes were let go")
	}
	l.Report(1, 0, 50)
	check("limit 50", 20)
	l.Done(1, 30)
	check("all done, limit 50", 50)
}

// A worker's own parked bytes count: with its own credit used up it is congested, as it
// was when the mesh compared every worker's load with its limit.
func TestLocalCongestedBySelf(t *testing.T) {
	l := NewLocal(2, 100)
	l.Report(0, 100, 100)
	if got := l.Credit(1, 0); got != 0 {
		t.Fatalf("credit = %d, want 0", got)
	}
	if !congested(l, 0) {
		t.Error("worker 0 not congested by its own held bytes")
	}
	if !congested(l, 1) {
		t.Error("worker 1 not congested toward worker 0")
	}
}

// congested is the engine's rule: a worker pauses its sources when its credit toward
// any worker, itself included, is used up.
func congested(m Mesh, w int) bool {
	for d := range m.(*Local).boxes {
		if m.Credit(w, d) <= 0 {
			return true
		}
	}
	return false
}

// TestLocalReceiveEmptyTakesNoLock checks that a worker polling its empty box does not
// take the box's lock (it does so every round), and that it still gets what was sent.
func TestLocalReceiveEmptyTakesNoLock(t *testing.T) {
	l := NewLocal(2, 1<<20)
	b := l.boxes[1]
	b.mu.Lock()
	done := make(chan int)
	go func() { done <- len(l.Receive(1, nil)) }()
	select {
	case n := <-done:
		if n != 0 {
			t.Errorf("an empty box gave %d messages", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Receive on an empty box waited for the box's lock")
	}
	b.mu.Unlock()
	l.Send(1, Message{Edge: 1, Batch: []int{1}, Bytes: 8})
	l.Send(1, Message{Edge: 2, Frontier: 3})
	if got := l.Receive(1, nil); len(got) != 2 || got[0].Edge != 1 || got[1].Edge != 2 {
		t.Errorf("got %v, want the two messages sent", got)
	}
	if got := l.Receive(1, nil); len(got) != 0 {
		t.Errorf("a second Receive got %v, want nothing", got)
	}
}
