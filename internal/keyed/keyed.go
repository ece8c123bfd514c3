package keyed

import (
	"fmt"
	"math/bits"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/state"
)

// Logic is the per-key logic of a StatefulBatch step. See op.Logic.
type Logic[V, W, S any] interface {
	OnBatch(values []V) (emit []W, discard bool)
	OnNotify() (emit []W, discard bool)
	OnEOF() (emit []W, discard bool)
	NotifyAt() (time.Time, bool)
	Snapshot() S
}

// Timeless is implemented by logics whose NotifyAt never asks for a notification, so that
// the runtime need not ask it after every activation. The operators of package op that
// have no timers implement it; user logics need not.
type Timeless interface{ Timeless() }

// Quiet is implemented by logics whose OnBatch emits nothing and reaches nothing but the
// key's own state (the folds of op's Final operators), so that the order in which keys run
// OnBatch cannot be seen: the runtime then need not put them in key order.
type Quiet interface{ Quiet() }

// Clocked is implemented by logics that want the system time of the activation, the same
// for every key of it, before each OnBatch, OnNotify and OnEOF.
type Clocked interface{ SetNow(now time.Time) }

// Builder makes the logic of a key from its resume state (ok is false for a new key).
type Builder[V, W, S any] func(resume S, ok bool) Logic[V, W, S]

// New returns the runtime of one worker's half of a StatefulBatch step, running builder's
// logics.
func New[V, W, S any](builder Builder[V, W, S]) graph.StatefulRuntime {
	return &stateful[V, W, S]{build: builder, keys: map[string]*entry[V, W, S]{},
		clearValues: hasPointers(reflect.TypeFor[V]()), codec: codec.For[S]()}
}

// hasPointers reports whether values of t hold pointers, which a reused buffer must clear
// so that it does not keep garbage alive.
func hasPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	case reflect.Array:
		return t.Len() > 0 && hasPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	}
	return true
}

// entry is everything the runtime holds for one key, so that an item costs one map lookup.
type entry[V, W, S any] struct {
	key    string
	stamp  uint64 // the activation that last gave it values
	values []V    // this activation's values; in one while there is one
	one    [1]V
	logic  Logic[V, W, S] // nil until the key's first OnBatch
	timer  bool           // the logic may ask for notifications (it is not Timeless)
	quiet  bool           // the logic is Quiet
	dead   bool           // discarded: the key has a new entry if it comes back
	dirty  bool           // in touched
	clock  Clocked        // the logic, if it wants the activation's time
	asked  uint64         // the activation whose NotifyAt it is due for
	want   int64          // the notification time the logic asked for (Unix ns); see timers
	hpos   int            // 1 + index in the timer heap, 0 when not in it
	rank   int            // index in the runtime's sorted list, -1 until it is swept in
	early  bool           // in the runtime's early list: want is not yet filed in the heap
}

func newEntry[V, W, S any](key string) *entry[V, W, S] {
	e := &entry[V, W, S]{key: key, rank: -1}
	e.values = e.one[:0] // most activations give a key one value: keep it beside the key
	return e
}

type stateful[V, W, S any] struct {
	build Builder[V, W, S]
	keys  map[string]*entry[V, W, S]
	codec codec.Typed[S] // chosen once: snapshots look nothing up

	clearValues bool   // V holds pointers
	act         uint64 // activation counter, for stamps

	// sorted holds live entries in key order, plus the dead ones not yet swept, and fresh
	// the entries made since it was last brought up to date. An activation that touches
	// many of the keys walks sorted instead of sorting its keys again.
	sorted []*entry[V, W, S]
	fresh  []*entry[V, W, S]
	dead   int

	// timers is a min-heap of armed entries on the time filed for each (each entry knows
	// its place). An entry's want may differ from the time filed: a later want is filed
	// again when its slot reaches the top, and an earlier want (or a new entry) waits in
	// early, with earlyMin their smallest want, until the early list is filed all at
	// once: when it is due or long. Logics that move their deadline on every activation
	// (an event clock's windows move theirs earlier with every event) then cost a flag and
	// an append, not a sift through the heap.
	timers     []timer[V, W, S]
	early      []*entry[V, W, S]
	earlyMin   int64
	earlyStale bool // the entry whose want was earlyMin has withdrawn or postponed it

	// touched lists the entries changed since the last snapshot, in the order they were
	// first touched: flagging an entry costs less than a set of keys, on every item.
	track   bool
	touched []*entry[V, W, S]

	// per-activation scratch, reused
	batch []*entry[V, W, S]
	ranks []uint64 // a bit per rank
	ask   []*entry[V, W, S]
	out   []graph.KV[W]
}

func (s *stateful[V, W, S]) Track() { s.track = true }

func (s *stateful[V, W, S]) Activate(batch any, now time.Time, eof bool) (out any, err error) {
	s.act++
	s.out = s.out[:0]
	s.ask = s.ask[:0]
	var cur *entry[V, W, S]
	defer func() {
		if r := recover(); r != nil {
			key := ""
			if cur != nil {
				key = cur.key
			}
			err = &graph.KeyError{Key: key, Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()

	// 1. OnBatch once per key, keys in byte-wise order, values in arrival order.
	if batch != nil {
		items := batch.([]graph.KV[V])
		s.batch = s.batch[:0]
		ranked, quiet := true, true // a new key's logic is not built yet: not quiet
		for i := range items {
			e := s.keys[items[i].Key]
			if e == nil {
				e = newEntry[V, W, S](items[i].Key)
				s.keys[e.key] = e
				s.fresh = append(s.fresh, e)
			}
			if e.stamp != s.act {
				e.stamp = s.act
				s.batch = append(s.batch, e)
				ranked = ranked && e.rank >= 0
				quiet = quiet && e.quiet
			}
			e.values = append(e.values, items[i].Value)
		}
		keys := s.batch
		if !quiet {
			keys = s.inOrder(keys, ranked)
		}
		for _, e := range keys {
			cur = e
			if e.logic == nil {
				var zero S
				s.setLogic(e, s.build(zero, false))
			}
			if e.clock != nil {
				e.clock.SetNow(now)
			}
			emit, discard := e.logic.OnBatch(e.values)
			s.finish(e, emit, discard) // before values are cleared: emit may be values itself
			if cap(e.values) > 256 {
				e.values = e.one[:0] // don't keep one burst's buffer for the key's lifetime
			} else {
				if s.clearValues {
					clear(e.values)
				}
				e.values = e.values[:0]
			}
		}
	}

	// 2. OnNotify for every key whose time has passed, keys sorted. A notification fires once.
	nowNs := now.UnixNano()
	if s.refreshEarly(); len(s.early) > 0 && s.earlyMin <= nowNs {
		s.fileEarly(false)
	}
	if len(s.timers) > 0 && s.timers[0].at <= nowNs {
		var due []*entry[V, W, S]
		for len(s.timers) > 0 && s.timers[0].at <= nowNs {
			e := s.timers[0].e
			if e.want > nowNs { // postponed since it was filed: file it again
				s.setAt(0, e.want)
				s.down(0)
				continue
			}
			s.disarm(e)
			due = append(due, e)
		}
		slices.SortFunc(due, byKey)
		for _, e := range due {
			cur = e
			if e.clock != nil {
				e.clock.SetNow(now)
			}
			emit, discard := e.logic.OnNotify()
			s.finish(e, emit, discard)
		}
	}

	// 3. OnEOF for every live key, keys sorted.
	if eof {
		s.sweep()
		for _, e := range s.sorted {
			if e.logic != nil && !e.dead {
				cur = e
				if e.clock != nil {
					e.clock.SetNow(now)
				}
				emit, discard := e.logic.OnEOF()
				s.finish(e, emit, discard)
			}
		}
		s.ask = s.ask[:0] // no notifications after the end of the stream
	}

	// 4. NotifyAt is asked again only of the keys touched in this activation.
	for _, e := range s.ask {
		if e.dead {
			continue
		}
		cur = e
		if at, ok := e.logic.NotifyAt(); ok {
			s.arm(e, at)
		} else {
			s.disarm(e) // a logic may withdraw its notification
		}
	}
	if len(s.out) == 0 {
		return nil, nil
	}
	return s.out, nil
}

func byKey[V, W, S any](a, b *entry[V, W, S]) int { return strings.Compare(a.key, b.key) }

// inOrder returns the entries of batch in key order. A few keys are sorted. Many keys
// that all have a rank in the sorted list are put in order by their ranks, a bit each in a
// bitmap; when some have none yet, a batch with a good share of all keys sweeps them in
// and walks the sorted list, and a smaller one is sorted.
func (s *stateful[V, W, S]) inOrder(batch []*entry[V, W, S], ranked bool) []*entry[V, W, S] {
	// Keys that come and go would pile up in fresh, and dead ones in sorted: sweep them
	// when they are many, which gives every live key a rank.
	if len(s.fresh)+s.dead > 1024+len(s.sorted)/2 {
		s.sweep()
		ranked = true
	}
	switch {
	case len(batch) < 64:
	case ranked:
		s.ranks = slices.Grow(s.ranks[:0], (len(s.sorted)+63)/64)[:(len(s.sorted)+63)/64]
		clear(s.ranks)
		for _, e := range batch {
			s.ranks[e.rank/64] |= 1 << (e.rank % 64)
		}
		batch = batch[:0]
		for i, word := range s.ranks {
			for word != 0 {
				batch = append(batch, s.sorted[i*64+bits.TrailingZeros64(word)])
				word &= word - 1
			}
		}
		return batch
	case len(batch)*8 >= len(s.keys):
		s.sweep()
		batch = batch[:0]
		for _, e := range s.sorted {
			if e.stamp == s.act && !e.dead {
				batch = append(batch, e)
			}
		}
		return batch
	}
	slices.SortFunc(batch, byKey)
	return batch
}

// sweep brings sorted up to date: fresh entries merged in, dead ones dropped.
func (s *stateful[V, W, S]) sweep() {
	if len(s.fresh) == 0 && s.dead == 0 {
		return
	}
	slices.SortFunc(s.fresh, byKey)
	merged := make([]*entry[V, W, S], 0, len(s.sorted)+len(s.fresh)-s.dead)
	i, j := 0, 0
	for i < len(s.sorted) || j < len(s.fresh) {
		var e *entry[V, W, S]
		if j == len(s.fresh) || (i < len(s.sorted) && s.sorted[i].key < s.fresh[j].key) {
			e, i = s.sorted[i], i+1
		} else {
			e, j = s.fresh[j], j+1
		}
		if !e.dead {
			e.rank = len(merged)
			merged = append(merged, e)
		}
	}
	clear(s.fresh)
	s.sorted, s.fresh, s.dead = merged, s.fresh[:0], 0
}

// finish records the outcome of one logic call for e.
func (s *stateful[V, W, S]) finish(e *entry[V, W, S], emit []W, discard bool) {
	for _, w := range emit {
		s.out = append(s.out, graph.KV[W]{Key: e.key, Value: w})
	}
	if discard {
		delete(s.keys, e.key)
		s.disarm(e)
		e.dead, e.logic = true, nil
		s.dead++
	} else if e.timer && e.asked != s.act {
		e.asked = s.act
		s.ask = append(s.ask, e)
	}
	if s.track && !e.dirty {
		e.dirty = true
		s.touched = append(s.touched, e)
	}
}

// timer is a slot of the timer heap: the time is kept beside the entry so that sifting
// compares without loading entries.
type timer[V, W, S any] struct {
	at int64
	e  *entry[V, W, S]
}

// arm sets e's notification time. A later time than the one filed leaves the heap alone
// (the entry is filed again when it reaches the top); an earlier one, or a first one, goes
// to the early list (see timers).
func (s *stateful[V, W, S]) arm(e *entry[V, W, S], t time.Time) {
	want := t.UnixNano()
	if e.early && e.want == s.earlyMin && want > e.want {
		s.earlyStale = true
	}
	e.want = want
	if e.hpos > 0 && want >= s.timers[e.hpos-1].at {
		return
	}
	if len(s.early) == 0 || want < s.earlyMin {
		s.earlyMin = want
	}
	if !e.early {
		e.early = true
		s.early = append(s.early, e)
		// The list holds each entry once, but an entry disarmed and armed again is listed
		// anew: file the list before it outgrows the keys.
		if len(s.early) > 64+2*len(s.timers) {
			s.fileEarly(false)
		}
	}
}

// fileEarly files the wants of the early list into the heap: one by one when they are
// few, else all at once and the heap rebuilt, which costs about a pass over it. With all,
// every entry of the heap is filed again at its want too.
func (s *stateful[V, W, S]) fileEarly(all bool) {
	if all {
		for i := range s.timers {
			s.setAt(i, s.timers[i].e.want)
		}
	}
	few := !all && len(s.early)*bits.Len(uint(len(s.timers))) < len(s.timers)
	for _, e := range s.early {
		if !e.early { // disarmed since it was listed
			continue
		}
		e.early = false
		if e.hpos == 0 {
			s.timers = append(s.timers, timer[V, W, S]{at: e.want, e: e})
			e.hpos = len(s.timers)
		} else {
			s.setAt(e.hpos-1, e.want)
		}
		if few {
			s.fix(e.hpos - 1)
		}
	}
	clear(s.early)
	s.early, s.earlyStale = s.early[:0], false
	if !few {
		for i := len(s.timers)/2 - 1; i >= 0; i-- {
			s.down(i)
		}
	}
}

func (s *stateful[V, W, S]) setAt(i int, at int64) { s.timers[i].at = at }

// disarm withdraws e's notification: out of the heap, and out of the early list (lazily).
func (s *stateful[V, W, S]) disarm(e *entry[V, W, S]) {
	if e.early && e.want == s.earlyMin {
		s.earlyStale = true
	}
	e.early = false
	if e.hpos == 0 {
		return
	}
	i, last := e.hpos-1, len(s.timers)-1
	if i != last {
		s.swap(i, last)
	}
	s.timers[last] = timer[V, W, S]{}
	s.timers = s.timers[:last]
	e.hpos = 0
	if i != last {
		s.fix(i)
	}
}

func (s *stateful[V, W, S]) swap(i, j int) {
	t := s.timers
	t[i], t[j] = t[j], t[i]
	t[i].e.hpos, t[j].e.hpos = i+1, j+1
}

func (s *stateful[V, W, S]) fix(i int) {
	if !s.down(i) {
		s.up(i)
	}
}

func (s *stateful[V, W, S]) up(i int) {
	t := s.timers
	for i > 0 {
		p := (i - 1) / 2
		if t[p].at <= t[i].at {
			return
		}
		s.swap(i, p)
		i = p
	}
}

// down sifts i toward the leaves and reports whether it moved.
func (s *stateful[V, W, S]) down(i int) bool {
	t := s.timers
	start, n := i, len(t)
	for {
		c := 2*i + 1
		if c >= n {
			break
		}
		if r := c + 1; r < n && t[r].at < t[c].at {
			c = r
		}
		if t[i].at <= t[c].at {
			break
		}
		s.swap(i, c)
		i = c
	}
	return i > start
}

// refreshEarly recomputes earlyMin when it is stale, dropping the entries disarmed since
// they were listed.
func (s *stateful[V, W, S]) refreshEarly() {
	if !s.earlyStale {
		return
	}
	s.earlyStale = false
	live := s.early[:0]
	for _, e := range s.early {
		if e.early {
			if len(live) == 0 || e.want < s.earlyMin {
				s.earlyMin = e.want
			}
			live = append(live, e)
		}
	}
	clear(s.early[len(live):])
	s.early = live
}

// NextNotify returns the earliest time filed or waiting in the early list.
func (s *stateful[V, W, S]) NextNotify() (time.Time, bool) {
	s.refreshEarly()
	// Postponed entries on top are filed again at their wants; when many are, as when
	// every key moved on to a later window, the heap is rebuilt instead.
	for refiled := 0; len(s.timers) > 0 && s.timers[0].at < s.timers[0].e.want; refiled++ {
		if refiled > bits.Len(uint(len(s.timers))) {
			s.fileEarly(true)
			break
		}
		s.setAt(0, s.timers[0].e.want)
		s.down(0)
	}
	switch {
	case len(s.early) > 0 && (len(s.timers) == 0 || s.earlyMin < s.timers[0].at):
		return time.Unix(0, s.earlyMin), true
	case len(s.timers) == 0:
		return time.Time{}, false
	}
	return time.Unix(0, s.timers[0].at), true
}

func (s *stateful[V, W, S]) Snapshot() ([]state.Change, error) {
	if len(s.touched) == 0 {
		return nil, nil
	}
	changes := make([]state.Change, 0, len(s.touched))
	for _, e := range s.touched {
		e.dirty = false
		if e.dead {
			// A key discarded and started again in this epoch: its new entry has the say.
			if live := s.keys[e.key]; live != nil && live.dirty {
				continue
			}
			changes = append(changes, state.Change{Key: e.key, Deleted: true})
			continue
		}
		b, err := snapshotOf(s.codec, e.key, e.logic)
		if err != nil {
			return nil, err
		}
		changes = append(changes, state.Change{Key: e.key, State: b})
	}
	clear(s.touched)
	s.touched = s.touched[:0]
	return changes, nil
}

func snapshotOf[V, W, S any](c codec.Typed[S], key string, l Logic[V, W, S]) (b []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &graph.KeyError{Key: key, Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()
	b, err = c.Encode(l.Snapshot())
	if err != nil {
		return nil, &graph.KeyError{Key: key, Cause: fmt.Errorf("encoding snapshot: %w", err)}
	}
	return b, nil
}

func (s *stateful[V, W, S]) Resume(key string, state []byte) (err error) {
	st, err := s.codec.Decode(state)
	if err != nil {
		return &graph.KeyError{Key: key, Cause: err} // a *codec.DecodeError, naming S
	}
	defer func() {
		if r := recover(); r != nil {
			err = &graph.KeyError{Key: key, Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()
	e := newEntry[V, W, S](key)
	s.setLogic(e, s.build(st, true))
	s.keys[key] = e
	s.fresh = append(s.fresh, e)
	if e.timer {
		if at, ok := e.logic.NotifyAt(); ok {
			s.arm(e, at)
		}
	}
	return nil
}

func (s *stateful[V, W, S]) setLogic(e *entry[V, W, S], l Logic[V, W, S]) {
	_, timeless := l.(Timeless)
	e.clock, _ = l.(Clocked)
	_, e.quiet = l.(Quiet)
	e.logic, e.timer = l, !timeless
}
