package engine

import (
	"runtime/debug"

	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
	"github.com/weirflow/weir/internal/state"
)

// A resume of many keys is the store's reading and the runtimes' taking every key in, and
// the two used to run one after the other: the keys went into blocks while the store read
// them, and each worker resumed its blocks when it opened. Now each worker's keys are
// resumed on a goroutine of its own (a resumer) while the store is still reading: the
// routing hands a block to the resumer as soon as it is full, so that the store's reading
// and the runtimes' inserting share the CPUs instead of adding up (on a resume of 1M keys
// the inserting was about half of the time to the first item). The runtimes are made by
// the resumer and handed to the workers' stateful steps when they are built, after the
// resumers are done (finishResume): the workers find them resumed, and a key's error
// comes out of the step's open as it did.

// loadBlockMin and loadBlockMax are the sizes of a worker's blocks of one step: a step
// with few keys keeps a small block, a large one hands blocks over every loadBlockMax
// keys, few enough for the handoff to cost nothing per key.
const (
	loadBlockMin = 16
	loadBlockMax = 4096
)

// resumeQueue is how many full blocks a resumer may have waiting: enough to keep it busy
// while the routing fills the next, without holding much more of the load in memory.
const resumeQueue = 4

// loaded is what one worker resumes of one stateful step: the block the routing is filling,
// and the runtime the resumer resumes it into.
type loaded struct {
	node  *plan.Node
	block []state.Change // being filled by the routing; handed over when full
	n     int            // keys routed

	// The resumer's alone until finishResume.
	rt  graph.StatefulRuntime
	pre preloader // rt, if it can take keys in before it looks them up
	err error     // the first failure resuming a key; the step's later keys are skipped
}

// loadBlock is a full block of keys of one step for a resumer.
type loadBlock struct {
	l    *loaded
	keys []state.Change
}

// resumer resumes one worker's loaded keys, a block at a time, in the order they were
// routed (for each step, the order of the store's Load).
type resumer struct {
	blocks chan loadBlock
	free   chan []state.Change // blocks of loadBlockMax done with, for the routing to fill again
	done   chan struct{}
	stop   chan struct{} // closed when the load failed: the remaining blocks are dropped
}

func newResumer() *resumer {
	rs := &resumer{blocks: make(chan loadBlock, resumeQueue), free: make(chan []state.Change, resumeQueue+1),
		done: make(chan struct{}), stop: make(chan struct{})}
	go rs.run()
	return rs
}

func (rs *resumer) run() {
	defer close(rs.done)
	var steps []*loaded // in the order of their first block
	for b := range rs.blocks {
		select {
		case <-rs.stop:
			continue
		default:
		}
		if b.l.rt == nil {
			steps = append(steps, b.l)
		}
		b.l.resume(b.keys)
		if cap(b.keys) == loadBlockMax {
			clear(b.keys) // let the loaded bytes go as keys resume
			select {
			case rs.free <- b.keys[:0]:
			default:
			}
		}
	}
	select {
	case <-rs.stop:
	default:
		for _, l := range steps {
			l.index() // the last key has come
		}
	}
}

// resume resumes keys into l's runtime, made at its first block, unless a key already
// failed.
func (l *loaded) resume(keys []state.Change) {
	l.guard(func() {
		if l.rt == nil {
			l.rt = l.node.Spec.(*graph.StatefulSpec).New()
			l.pre, _ = l.rt.(preloader)
		}
		for i := range keys {
			var err error
			if l.pre != nil {
				err = l.pre.Preload(keys[i].Key, keys[i].State)
			} else {
				err = l.rt.Resume(keys[i].Key, keys[i].State)
			}
			if err != nil {
				l.err = err
				return
			}
		}
	})
}

// index looks the preloaded keys up, once the last has come.
func (l *loaded) index() {
	if l.pre != nil {
		l.guard(l.pre.Index)
	}
}

// guard runs f unless a key of l's step already failed. A panic is the step's error, as
// it would be on the worker.
func (l *loaded) guard(f func()) {
	if l.err != nil {
		return
	}
	defer func() {
		if p := recover(); p != nil {
			if sp, ok := p.(graph.StepPanic); ok {
				l.err = sp.Err
			} else {
				l.err = &graph.StepError{Step: l.node.ID, Cause: &graph.PanicError{Value: p, Stack: debug.Stack()}}
			}
		}
	}()
	f()
}

// addLoaded routes a key of l's step to worker w's resumer, handing the block over when full.
func (r *runState) addLoaded(w int, l *loaded, c state.Change) {
	if len(l.block) == cap(l.block) {
		r.handOver(w, l)
		size := loadBlockMin
		if l.n > 0 {
			size = min(2*l.n, loadBlockMax)
		}
		var b []state.Change
		if size == loadBlockMax {
			select {
			case b = <-r.resumer(w).free:
			default:
			}
		}
		if b == nil {
			b = make([]state.Change, 0, size)
		}
		l.block = b
	}
	l.block = append(l.block, c)
	l.n++
}

// handOver gives l's block, if it holds keys, to worker w's resumer.
func (r *runState) handOver(w int, l *loaded) {
	if len(l.block) > 0 {
		r.resumer(w).blocks <- loadBlock{l, l.block}
		l.block = nil
	}
}

// resumer returns worker w's resumer, started at its first key.
func (r *runState) resumer(w int) *resumer {
	rs := r.resumers[w]
	if rs == nil {
		rs = newResumer()
		r.resumers[w] = rs
	}
	return rs
}

// finishResume hands the last blocks over and waits for the resumers to be done; with
// failed set (the load failed) they drop what they have not resumed yet. Either way no
// resumer runs after it returns.
func (r *runState) finishResume(failed bool) {
	if !failed {
		for w, states := range r.states {
			for _, l := range states {
				r.handOver(w, l)
			}
		}
	}
	for _, rs := range r.resumers {
		if rs != nil {
			if failed {
				close(rs.stop)
			}
			close(rs.blocks) // every resumer then indexes its keys at once
		}
	}
	for w, rs := range r.resumers {
		if rs != nil {
			<-rs.done
			r.resumers[w] = nil
		}
	}
}

// preloader is a stateful runtime that can take resumed keys in before it looks them up
// (the keyed runtime then makes its key map once, at its final size, which is known only
// when the load ends: growing it instead was a third of its resume of 1M keys).
type preloader interface {
	Preload(key string, state []byte) error
	Index()
}
