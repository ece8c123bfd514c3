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
	if l.Congested(0) {
		t.Error("still congested after the queue drained")
	}
	select {
	case <-l.Wake(0):
	default:
		t.Error("a paused sender was not woken when the queue drained")
	}
}
