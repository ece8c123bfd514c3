package keyed

import (
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/graph"
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

// SharedClock is implemented by Clocked logics whose SetNow keeps the time where every
// logic of their runtime sees it (all come from one per-worker builder: the window keeps
// it in the worker's scratch). The runtime then calls SetNow once per activation, on one
// of them, before any logic runs, instead of before every call: a call per key touched
// the key's entry and made an interface call for nothing.
type SharedClock interface {
	Clocked
	SharedClock()
}

// KeepsState is implemented by logics whose OnEOF either discards the key or leaves the
// state Snapshot returns as it was (op's StatefulMap and StatefulFlatMap: Bytewax's
// stateful_map keeps its state at the end of the stream). KeepsStateAtEOF answers for the
// logic as it is when asked, right after its OnEOF, so that a logic wrapping another
// (op.Stateful's) can answer for the one it holds. The runtime then flags for the final
// snapshot only the keys whose OnEOF discards: another key's state is what the store holds
// for it already (or it was touched earlier in the epoch and is flagged), so a resume after
// a clean end sees the same states without the end of the stream rewriting every key. What
// OnEOF emits does not matter: emitting changes no state. Logics that do not say so are
// flagged whatever their OnEOF does, as it may change their state.
type KeepsState interface{ KeepsStateAtEOF() bool }

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
//
// What every item touches (fold, or stamp, values and one) comes first, so that for small
// values it shares the entry's first cache line; the key order's and timer queue's slots
// follow.
type entry[V, W, S any] struct {
	fold   Folding[V]    // the logic, when it folds each item as it comes (Folding)
	try    TryFolding[V] // the logic, when it may take an item as it comes (TryFolding)
	stamp  uint64        // the activation that last gave it values
	values []V           // this activation's values; in one while there is one
	one    [1]V
	quiet  bool                      // the logic is Quiet
	timer  bool                      // the logic may ask for notifications (it is not Timeless)
	dirty  bool                      // in touched
	order  orderSlot[entry[V, W, S]] // the key, and its place in the key order
	timers timerSlot[entry[V, W, S]] // its notification time and place in the timer queue
	logic  Logic[V, W, S]            // nil until the key's first OnBatch
	clock  Clocked                   // the logic, if it wants the activation's time
	asked  uint64                    // the activation whose NotifyAt it is due for
}

func newEntry[V, W, S any](key string) *entry[V, W, S] { return initEntry(&entry[V, W, S]{}, key) }

// initEntry readies e, a zero entry, for key.
func initEntry[V, W, S any](e *entry[V, W, S], key string) *entry[V, W, S] {
	e.order = newOrderSlot(key, e)
	e.timers.owner = e
	e.values = e.one[:0] // most activations give a key one value: keep it beside the key
	return e
}

// key returns e's key.
func (e *entry[V, W, S]) key() string { return e.order.key }

// dead reports whether e's key was discarded: it has a new entry if it comes back.
func (e *entry[V, W, S]) dead() bool { return e.order.dead }

type stateful[V, W, S any] struct {
	build Builder[V, W, S]
	keys  map[string]*entry[V, W, S]
	codec codec.Typed[S] // chosen once: snapshots look nothing up

	clearValues bool   // V holds pointers
	act         uint64 // activation counter, for stamps

	// shared is the first SharedClock logic set, told the time of each activation for
	// every logic of the runtime (it is kept even if its key is discarded); now is the
	// current activation's time, for a shared clock first set within it.
	shared SharedClock
	now    time.Time

	resumed   entrySlab[V, W, S] // where Resume takes entries from
	unindexed int                // keys Preload restored, last in order.fresh, not yet in keys

	order  keyOrder[entry[V, W, S]]   // every key, for OnBatch and OnEOF in key order
	timers timerQueue[entry[V, W, S]] // the keys' notification times

	// touched lists the entries changed since the last snapshot, in the order they were
	// first touched: flagging an entry costs less than a set of keys, on every item.
	track   bool
	touched []*entry[V, W, S]
	perKey  int   // bytes of state per key in the last snapshot, to size the next one's buffer
	spare   spare // a written snapshot's memory, for the next

	// per-activation scratch, reused
	found []*entry[V, W, S] // lookUp's
	batch []*orderSlot[entry[V, W, S]]
	due   []*entry[V, W, S]
	ask   []*entry[V, W, S]
	out   []weir.KV[W]
}

func (s *stateful[V, W, S]) Track() { s.track = true }

// Held returns the keys the runtime holds and the notifications pending, for the engine's
// figures: both are counted as they change, so asking costs nothing.
func (s *stateful[V, W, S]) Held() (keys, timers int) { return len(s.keys), s.timers.armed }

func (s *stateful[V, W, S]) Activate(batch any, now time.Time, eof bool) (out any, err error) {
	s.act++
	s.out = s.out[:0]
	s.ask = s.ask[:0]
	s.now = now
	if s.shared != nil {
		s.shared.SetNow(now)
	}
	var cur *entry[V, W, S]
	defer func() {
		if r := recover(); r != nil {
			key := ""
			if cur != nil {
				key = cur.key()
			}
			err = &graph.KeyError{Key: key, Cause: &graph.PanicError{Value: r, Stack: debug.Stack()}}
		}
	}()

	// 1. OnBatch once per key, keys in byte-wise order, values in arrival order. A key whose
	// logic folds (Folding) takes each value as it comes instead: it is Quiet, so neither
	// the order of keys nor the grouping can be seen.
	if batch != nil {
		items := batch.([]weir.KV[V])
		nowNano := now.UnixNano()
		s.batch = s.batch[:0]
		ranked, quiet := true, true // a new key's logic is not built yet: not quiet
		found := s.lookUp(items)
		for i, e := range found {
			if e.fold != nil {
				cur = e
				e.fold.FoldOne(items[i].Value)
				if s.track && !e.dirty {
					s.touch(e)
				}
				continue
			}
			if e.try != nil && e.stamp != s.act {
				cur = e
				if e.try.TryFold(items[i].Value) {
					if e.timer && e.asked != s.act && !s.armNow(e, nowNano, eof) {
						e.asked = s.act
						s.ask = append(s.ask, e)
					}
					if s.track && !e.dirty {
						s.touch(e)
					}
					continue
				}
			}
			if e.stamp != s.act {
				e.stamp = s.act
				s.batch = append(s.batch, &e.order)
				ranked = ranked && e.order.rank >= 0
				quiet = quiet && e.quiet
			}
			e.values = append(e.values, items[i].Value)
		}
		clear(found) // not to keep discarded entries alive
		keys := s.batch
		if !quiet {
			keys = s.order.inOrder(keys, ranked)
		}
		for _, k := range keys {
			e := k.owner
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
	if due := s.timers.due(now.UnixNano(), s.due[:0]); len(due) > 0 {
		slices.SortFunc(due, func(a, b *entry[V, W, S]) int { return strings.Compare(a.key(), b.key()) })
		for _, e := range due {
			cur = e
			if e.clock != nil {
				e.clock.SetNow(now)
			}
			emit, discard := e.logic.OnNotify()
			s.finish(e, emit, discard)
		}
		clear(due)
		s.due = due[:0]
	}

	// 3. OnEOF for every live key, keys sorted.
	if eof {
		for _, k := range s.order.all() {
			if e := k.owner; e.logic != nil && !k.dead {
				cur = e
				if e.clock != nil {
					e.clock.SetNow(now)
				}
				emit, discard := e.logic.OnEOF()
				if !discard && keepsState(e.logic) {
					s.output(e, emit) // its stored state is still its own: no snapshot
					continue
				}
				s.finish(e, emit, discard)
			}
		}
		s.ask = s.ask[:0] // no notifications after the end of the stream
	}

	// 4. NotifyAt is asked again only of the keys touched in this activation.
	for _, e := range s.ask {
		if e.dead() {
			continue
		}
		cur = e
		var at int64
		var ok bool
		if e.try != nil {
			at, ok = e.try.NotifyAtNano()
		} else {
			var t time.Time
			t, ok = e.logic.NotifyAt()
			at = t.UnixNano()
		}
		if ok {
			s.timers.arm(&e.timers, at)
		} else {
			s.timers.disarm(&e.timers) // a logic may withdraw its notification
		}
	}
	if len(s.out) == 0 {
		return nil, nil
	}
	return s.out, nil
}

// armNow asks e's logic, which has just taken an item through TryFold, for its
// notification time and arms it at once, instead of listing e in s.ask to be asked after
// the activation's OnBatch and OnNotify calls: a key that takes five items in six then
// costs no append and no second visit of its entry. It does so, and reports true, only
// when that cannot be told from asking later: e's notification, if any, is not due by
// now (else OnNotify runs first, in this activation, and the logic is asked after it), the
// new time is after now (armed after the activation, it would fire in the next one, not in
// this one's OnNotify calls), and the stream does not end here (no notifications after
// it). Otherwise e is asked after the activation, as any key.
func (s *stateful[V, W, S]) armNow(e *entry[V, W, S], now int64, eof bool) bool {
	if eof || ((e.timers.early || e.timers.hpos > 0) && e.timers.want <= now) {
		return false
	}
	at, ok := e.try.NotifyAtNano()
	if !ok || at <= now {
		return false // withdrawn, or due at once: asked again after OnNotify, as before
	}
	s.timers.arm(&e.timers, at)
	return true
}

// lookUp returns the entries of items' keys, item by item, making those of new keys (in
// arrival order). Looking every key of a batch up before taking any value lets the
// processor overlap the cache misses of one lookup with the next ones', which the work
// on each entry between them would hold back.
func (s *stateful[V, W, S]) lookUp(items []weir.KV[V]) []*entry[V, W, S] {
	found := slices.Grow(s.found[:0], len(items))[:len(items)]
	for i := range items {
		e := s.keys[items[i].Key]
		if e == nil {
			e = newEntry[V, W, S](items[i].Key)
			s.keys[e.key()] = e
			s.order.add(&e.order)
		}
		found[i] = e
	}
	s.found = found
	return found
}

// keepsState reports whether l's OnEOF, which has just run without discarding, left its
// state as it was (KeepsState).
func keepsState[V, W, S any](l Logic[V, W, S]) bool {
	k, ok := l.(KeepsState)
	return ok && k.KeepsStateAtEOF()
}

// output appends what e's logic emitted to the activation's output, keyed with e's key.
func (s *stateful[V, W, S]) output(e *entry[V, W, S], emit []W) {
	for _, w := range emit {
		s.out = append(s.out, weir.KV[W]{Key: e.key(), Value: w})
	}
}

// finish records the outcome of one logic call for e.
func (s *stateful[V, W, S]) finish(e *entry[V, W, S], emit []W, discard bool) {
	s.output(e, emit)
	if discard {
		delete(s.keys, e.key())
		s.timers.disarm(&e.timers)
		s.order.discard(&e.order)
		e.logic = nil
	} else if e.timer && e.asked != s.act {
		e.asked = s.act
		s.ask = append(s.ask, e)
	}
	if s.track && !e.dirty {
		s.touch(e)
	}
}

// touch flags e as changed since the last snapshot.
func (s *stateful[V, W, S]) touch(e *entry[V, W, S]) {
	e.dirty = true
	if len(s.touched) == cap(s.touched) {
		// Doubled: append grows a long list by a quarter, and the first epoch's list grows
		// with its keys, to 4 MB of garbage for 100k keys against 1.6 doubled.
		s.touched = slices.Grow(s.touched, len(s.touched)+1)
	}
	s.touched = append(s.touched, e)
}

// NextNotify returns the earliest notification time asked for.
func (s *stateful[V, W, S]) NextNotify() (time.Time, bool) {
	if at, ok := s.timers.next(); ok {
		return time.Unix(0, at), true
	}
	return time.Time{}, false
}

// Resume restores key's logic from its snapshot and looks the key up at once (see
// Preload for keys whose number is not known yet).
func (s *stateful[V, W, S]) Resume(key string, state []byte) error {
	e, err := s.restore(key, state)
	if err != nil {
		return err
	}
	s.keys[key] = e
	return nil
}

func (s *stateful[V, W, S]) setLogic(e *entry[V, W, S], l Logic[V, W, S]) {
	_, timeless := l.(Timeless)
	clock, clocked := l.(Clocked)
	e.clock = clock
	if c, ok := l.(SharedClock); ok {
		e.clock = nil // told once per activation, through s.shared
		if s.shared == nil {
			s.shared = c
			if !s.now.IsZero() { // within an activation, not a resume's load
				c.SetNow(s.now)
			}
		}
	}
	_, e.quiet = l.(Quiet)
	e.logic, e.timer = l, !timeless
	// Like the flags above, fold follows the logic set last, so that an entry never folds
	// into a logic it no longer holds.
	e.fold, e.try = nil, nil
	if f, ok := l.(Folding[V]); ok && e.quiet && timeless && !clocked {
		e.fold = f
	} else if t, ok := l.(TryFolding[V]); ok && e.clock == nil {
		e.try = t // a clocked logic's time is set before any logic runs (SharedClock)
	}
}
