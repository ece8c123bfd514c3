package comm

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestLocalNoLostWake runs workers as the engine's do, on a small limit: each round a
// worker receives what is queued for it and is done with it, reports a load it holds
// (which changes from round to round, or stays, as Report's early return allows), and
// sends to a destination while its credit there is above 0. A worker that received
// nothing and may not send waits on its wake channel without a timeout, as a congested
// engine worker does without an epoch interval. Nothing but the mesh's wakes ends those
// waits: the run ends only if every message sent wakes its receiver and every credit that
// comes back above 0 wakes the senders paused on it. A lost wake is a hang, reported at
// the deadline with each worker's state.
//
// Before the credit was one word, Credit read the limit, the queued bytes and the held
// bytes one after another, and a Report between those reads (held and limit both raised)
// showed a credit used up that never was, which no crossing would wake: 2 to 7 in 50 runs
// of this test's 20 rounds hung (11 in 150), 5 in 10 under -race.
func TestLocalNoLostWake(t *testing.T) {
	const limit = 1000
	rounds := 50
	if testing.Short() {
		rounds = 5
	}
	for round := range rounds {
		noLostWake(t, round, NewLocal(5, limit), 5, 3000, limit, limit/4,
			func(rng *rand.Rand, _ int) int { return rng.IntN(5) },
			func(w, bytes int) Message { return Message{From: w, Bytes: bytes} })
	}
}

// noLostWake runs workers 0 to workers-1 of m as the engine's do: each round a worker
// receives what is queued for it and is done with it, reports a load it holds (which
// changes from round to round, or stays, as Report's early return allows), and sends each
// messages of 1 to most bytes, each to a worker dest picks, while its credit there is
// above 0. A worker that received nothing and may not send waits on its wake channel
// without a timeout, as a congested engine worker does without an epoch interval. A lost
// wake is a hang, reported at the deadline with each worker's state. It returns how many
// times a sender waited out of credit.
func noLostWake(t *testing.T, round int, m Mesh, workers, each, limit, most int, dest func(rng *rand.Rand, w int) int, msg func(w, bytes int) Message) int64 {
	t.Helper()
	var received atomic.Int64
	done := make(chan struct{})
	var closeDone sync.Once
	waiting := make([]atomic.Int32, workers) // 0 running, 1 waiting to send, 2 waiting with all sent
	var creditWaits atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
			var buf []Message
			sent, to := 0, -1
			for {
				buf = m.Receive(w, buf[:0])
				for _, msg := range buf {
					m.Done(w, msg.Bytes)
				}
				if n := received.Add(int64(len(buf))); n == int64(workers*each) {
					closeDone.Do(func() { close(done) })
				}
				// Held bytes that come and go, below half the limit, so that a worker's
				// own load never stops it for good; the same figures as the last round's
				// a third of the time.
				if rng.IntN(3) != 0 {
					m.Report(w, rng.IntN(limit/2), limit-rng.IntN(limit/4))
				}
				if sent < each {
					if to < 0 {
						to = dest(rng, w)
					}
					if m.Credit(w, to) > 0 {
						m.Send(to, msg(w, 1+rng.IntN(most)))
						sent, to = sent+1, -1
						continue
					}
				}
				if len(buf) > 0 {
					continue // as the engine: a round that handled messages looks again
				}
				state := int32(1)
				if sent == each {
					state = 2
				} else {
					creditWaits.Add(1)
				}
				waiting[w].Store(state)
				select {
				case <-m.Wake(w):
				case <-done:
					return
				}
				waiting[w].Store(0)
			}
		})
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		st := make([]int32, workers)
		credit := make([]int, workers)
		for w := range workers {
			st[w] = waiting[w].Load()
			credit[w] = m.Credit(0, w)
		}
		closeDone.Do(func() { close(done) })
		wg.Wait()
		t.Fatalf("round %d: hung with %d of %d messages received; workers waiting (1 to send, 2 all sent) %v, credit toward each %v",
			round, received.Load(), workers*each, st, credit)
	}
	wg.Wait()
	return creditWaits.Load()
}

// TestTCPNoLostWake is TestLocalNoLostWake across processes: two processes of two workers
// each, every message to a worker of the other process, on a small limit, so that the
// senders run out of the credit their peer granted and wait, without a timeout, for the
// grant that gives it back (granted's wake), and the receivers wait for the messages.
// Credit reads what was sent before the grant, so that a grant raised between its two
// reads cannot show a credit used up that no longer is (see TCP.Credit); this test did
// not catch the reads in the other order (30 runs, 10 under -race: that window is two
// loads wide), and guards the grants' wakes as a whole.
func TestTCPNoLostWake(t *testing.T) {
	const procs, perProc, limit = 2, 2, 64 << 10
	rounds := 3
	if testing.Short() {
		rounds = 1
	}
	for round := range rounds {
		meshes := cluster(t, procs, perProc, func(c *ClusterConfig) { c.Limit, c.Initial = limit, limit })
		// Each worker's goroutine drives its own process's mesh.
		m := &perWorker{meshes: meshes, perProc: perProc}
		waits := noLostWake(t, round, m, procs*perProc, 2000, limit, limit/8,
			func(rng *rand.Rand, w int) int { return (w/perProc+1)%procs*perProc + rng.IntN(perProc) },
			func(w, bytes int) Message { return Message{Edge: 1, From: w, Epoch: 1, Batch: []int{w}, Bytes: bytes} })
		if waits == 0 {
			t.Fatalf("round %d: no sender ran out of credit: the test waits for no grant", round)
		}
		t.Logf("round %d: %d waits for credit", round, waits)
		for p, err := range leaveAll(meshes) {
			if err != nil {
				t.Fatalf("round %d: process %d leaving: %v", round, p, err)
			}
		}
	}
}

// perWorker is the meshes of a test cluster seen as one Mesh by global worker id: each
// call goes to the mesh of the process that holds the worker making it.
type perWorker struct {
	meshes  []*TCP
	perProc int
}

func (p *perWorker) of(w int) *TCP                          { return p.meshes[w/p.perProc] }
func (p *perWorker) Send(to int, m Message)                 { p.of(m.From).Send(to, m) }
func (p *perWorker) Receive(w int, buf []Message) []Message { return p.of(w).Receive(w, buf) }
func (p *perWorker) Done(w, n int)                          { p.of(w).Done(w, n) }
func (p *perWorker) Report(w, held, limit int)              { p.of(w).Report(w, held, limit) }
func (p *perWorker) Wake(w int) <-chan struct{}             { return p.of(w).Wake(w) }
func (p *perWorker) Credit(from, to int) int                { return p.of(from).Credit(from, to) }
