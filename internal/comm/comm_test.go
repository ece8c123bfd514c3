package comm

import (
	"sync"
	"testing"
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
	if l.Congested(0) {
		t.Fatal("congested below the limit")
	}
	l.Send(1, Message{Bytes: 60})
	if !l.Congested(0) {
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
	if !l.Congested(0) {
		t.Fatal("not congested while the received messages are processed")
	}
	l.Done(1, 60)
	if l.Congested(0) {
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
	if !l.Congested(0) {
		t.Fatal("not congested with held bytes above the mesh's limit")
	}
	l.Report(1, 50, 1000)
	if l.Congested(0) {
		t.Fatal("congested below the limit")
	}
	select {
	case <-l.Wake(0):
	default:
		t.Error("a paused sender was not woken when held bytes fell")
	}
	l.Send(1, Message{Bytes: 30})
	l.Report(1, 50, 60)
	if !l.Congested(0) {
		t.Fatal("not congested above the reported limit")
	}
	l.Receive(1, nil)
	l.Done(1, 30)
	if l.Congested(0) {
		t.Error("congested with 50 bytes held and a limit of 60")
	}
	select {
	case <-l.Wake(0):
	default:
		t.Error("a paused sender was not woken when the load fell below the reported limit")
	}
}
