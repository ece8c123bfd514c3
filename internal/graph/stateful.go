package graph

import (
	"container/heap"
	"fmt"
	"runtime/debug"
	"slices"
	"time"

	"github.com/weirflow/weir/internal/codec"
)

// Logic is the per-key logic of a StatefulBatch step. See op.Logic.
type Logic[V, W, S any] interface {
	OnBatch(values []V) (emit []W, discard bool)
	OnNotify() (emit []W, discard bool)
	OnEOF() (emit []W, discard bool)
	NotifyAt() (time.Time, bool)
	Snapshot() S
}

// Builder makes the logic of a key from its resume state (ok is false for a new key).
type Builder[V, W, S any] func(resume S, ok bool) Logic[V, W, S]

// NewStateful returns a StatefulRuntime running builder's logics.
func NewStateful[V, W, S any](builder Builder[V, W, S]) StatefulRuntime {
	return &stateful[V, W, S]{
		build:  builder,
		logics: map[string]Logic[V, W, S]{},
		armed:  map[string]time.Time{},
		groups: map[string]int{},
	}
}

type stateful[V, W, S any] struct {
	build  Builder[V, W, S]
	logics map[string]Logic[V, W, S]

	// armed holds each key's pending notification; timers is a heap over the same times
	// with stale entries skipped lazily, so NextNotify is cheap with many keys.
	armed  map[string]time.Time
	timers timerHeap

	track   bool
	touched map[string]struct{}

	// per-activation scratch, reused
	groups  map[string]int
	keys    []string
	values  [][]V
	visited []string
	out     []KV[W]
}

func (s *stateful[V, W, S]) Track() {
	s.track = true
	s.touched = map[string]struct{}{}
}

func (s *stateful[V, W, S]) Activate(batch any, now time.Time, eof bool) (out any, err error) {
	s.out = nil
	s.visited = s.visited[:0]
	var key string
	defer func() {
		if r := recover(); r != nil {
			err = &KeyError{Key: key, Cause: &PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()

	// 1. OnBatch once per key, keys in byte-wise order, values in arrival order.
	if batch != nil {
		items := batch.([]KV[V])
		s.keys = s.keys[:0]
		for i := range items {
			g, ok := s.groups[items[i].Key]
			if !ok {
				g = len(s.keys)
				s.groups[items[i].Key] = g
				s.keys = append(s.keys, items[i].Key)
				if g == len(s.values) {
					s.values = append(s.values, nil)
				}
			}
			s.values[g] = append(s.values[g], items[i].Value)
		}
		order := make([]int, len(s.keys))
		for i := range order {
			order[i] = i
		}
		slices.SortFunc(order, func(a, b int) int {
			switch ka, kb := s.keys[a], s.keys[b]; {
			case ka < kb:
				return -1
			case ka > kb:
				return 1
			}
			return 0
		})
		for _, g := range order {
			key = s.keys[g]
			l, ok := s.logics[key]
			if !ok {
				var zero S
				l = s.build(zero, false)
			}
			emit, discard := l.OnBatch(s.values[g])
			s.finish(key, l, emit, discard)
		}
		for i, k := range s.keys {
			delete(s.groups, k)
			clear(s.values[i])
			s.values[i] = s.values[i][:0]
		}
	}

	// 2. OnNotify for every key whose time has passed, keys sorted. A notification fires once.
	if len(s.armed) > 0 {
		var due []string
		for s.timers.Len() > 0 && !s.timers[0].at.After(now) {
			t := heap.Pop(&s.timers).(timer)
			if at, ok := s.armed[t.key]; ok && at.Equal(t.at) {
				delete(s.armed, t.key)
				due = append(due, t.key)
			}
		}
		slices.Sort(due)
		for _, k := range due {
			key = k
			if l, ok := s.logics[k]; ok {
				emit, discard := l.OnNotify()
				s.finish(k, l, emit, discard)
			}
		}
	}

	// 3. OnEOF for every live key, keys sorted.
	if eof {
		live := make([]string, 0, len(s.logics))
		for k := range s.logics {
			live = append(live, k)
		}
		slices.Sort(live)
		for _, k := range live {
			key = k
			l := s.logics[k]
			emit, discard := l.OnEOF()
			s.finish(k, l, emit, discard)
		}
	}

	// 4. NotifyAt is asked again only of the keys touched in this activation.
	if !eof {
		slices.Sort(s.visited)
		for _, k := range slices.Compact(s.visited) {
			key = k
			if l, ok := s.logics[k]; ok {
				if at, ok := l.NotifyAt(); ok {
					s.arm(k, at)
				} else {
					delete(s.armed, k) // a logic may withdraw its notification
				}
			}
		}
	}
	if len(s.out) == 0 {
		return nil, nil
	}
	return s.out, nil
}

// finish records the outcome of one logic call for key.
func (s *stateful[V, W, S]) finish(key string, l Logic[V, W, S], emit []W, discard bool) {
	for _, w := range emit {
		s.out = append(s.out, KV[W]{Key: key, Value: w})
	}
	if discard {
		delete(s.logics, key)
		delete(s.armed, key)
	} else {
		s.logics[key] = l
		s.visited = append(s.visited, key)
	}
	if s.track {
		s.touched[key] = struct{}{}
	}
}

func (s *stateful[V, W, S]) arm(key string, at time.Time) {
	if old, ok := s.armed[key]; ok && old.Equal(at) {
		return
	}
	s.armed[key] = at
	heap.Push(&s.timers, timer{at: at, key: key})
}

func (s *stateful[V, W, S]) NextNotify() (time.Time, bool) {
	for s.timers.Len() > 0 {
		t := s.timers[0]
		if at, ok := s.armed[t.key]; ok && at.Equal(t.at) {
			return t.at, true
		}
		heap.Pop(&s.timers)
	}
	return time.Time{}, false
}

func (s *stateful[V, W, S]) Snapshot() ([]Change, error) {
	if len(s.touched) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(s.touched))
	for k := range s.touched {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	changes := make([]Change, 0, len(keys))
	for _, k := range keys {
		l, ok := s.logics[k]
		if !ok {
			changes = append(changes, Change{Key: k, Deleted: true})
			continue
		}
		b, err := snapshotOf(k, l)
		if err != nil {
			return nil, err
		}
		changes = append(changes, Change{Key: k, State: b})
	}
	clear(s.touched)
	return changes, nil
}

func snapshotOf[V, W, S any](key string, l Logic[V, W, S]) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &KeyError{Key: key, Cause: &PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()
	b, err = codec.Marshal(l.Snapshot())
	if err != nil {
		return nil, &KeyError{Key: key, Cause: fmt.Errorf("encoding snapshot: %w", err)}
	}
	return b, nil
}

func (s *stateful[V, W, S]) Resume(key string, state []byte) (err error) {
	var st S
	if err := codec.Unmarshal(state, &st); err != nil {
		return &KeyError{Key: key, Cause: fmt.Errorf("decoding snapshot into %T: %w", st, err)}
	}
	defer func() {
		if r := recover(); r != nil {
			err = &KeyError{Key: key, Cause: &PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()
	l := s.build(st, true)
	s.logics[key] = l
	if at, ok := l.NotifyAt(); ok {
		s.arm(key, at)
	}
	return nil
}

type timer struct {
	at  time.Time
	key string
}

type timerHeap []timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timerHeap) Push(x any)        { *h = append(*h, x.(timer)) }
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
