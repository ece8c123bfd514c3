package window

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/keyed"
	"github.com/weirflow/weir/op"
)

// Windowed is an item of a window operator's output streams: the id of a window and a
// value (a result on Down, a late item on Late, metadata on Meta).
type Windowed[T any] struct {
	Window int64
	Value  T
}

func (w Windowed[T]) String() string { return fmt.Sprintf("(%d, %v)", w.Window, w.Value) }

// Meta describes a closed window: its bounds and, for sessions, the ids merged into it.
// A session's Close is the time of its last item.
type Meta struct {
	Open, Close time.Time
	Merged      []int64
}

// Bounded is a result emitted when its window closed, with the window's metadata: a
// line of Down and the Meta line that follows it, together. As in Meta, a session's
// Close is the time of its last item, not that plus the gap.
type Bounded[W any] struct {
	Window int64
	Meta
	Value W
}

func (b Bounded[W]) String() string {
	s := fmt.Sprintf("(%d, %s..%s", b.Window, b.Open.Format(time.RFC3339Nano), b.Close.Format(time.RFC3339Nano))
	if len(b.Merged) > 0 {
		s += fmt.Sprintf(" merged %v", b.Merged)
	}
	return fmt.Sprintf("%s, %v)", s, b.Value)
}

// Out holds the three streams of a window operator, and gives on demand a fourth:
// WithBounds.
type Out[V, W any] struct {
	// Down has the windows' results, keyed, with their window id.
	Down weir.KeyedStream[Windowed[W]]
	// Late has the items too late for their windows, with the window id they missed
	// (LateID for sessions).
	Late weir.KeyedStream[Windowed[V]]
	// Meta has each window's metadata, right after its last result, when it closes.
	Meta weir.KeyedStream[Windowed[Meta]]

	// bounded declares the step of WithBounds in scope sc: nil for the zero Out.
	bounded func(sc *weir.Scope, id string) weir.KeyedStream[Bounded[W]]
}

// WithBounds returns the results a window emits as it closes, each with the window's
// metadata, so that "a count, start and end per session" needs no join of Down and Meta:
// every result of Collect, Fold, Reduce, Count, Max, Min and of a Join in op.EmitFinal
// mode, and what a Window logic's OnClose returns, in the order they come on Down. The
// results a logic emits before its window closes (OnValue, OnMerge, a complete or
// running Join's rows) are only on Down: a session's bounds are not final until it
// closes.
//
// It declares step "id" in the scope of o's streams, which splits the operator's events
// as Down and Meta do: a step, not a field, so that an operator whose bounded results
// nobody asked for does not pay for them.
func (o Out[V, W]) WithBounds(id string) weir.KeyedStream[Bounded[W]] {
	if o.bounded == nil {
		return weir.KeyedStream[Bounded[W]]{}
	}
	return o.bounded(o.Down.Scope(), id)
}

// Logic is the logic of one window of one key, for Window.
//
// OnValue gets the window's values (in timestamp order in ordered mode); OnMerge gets the
// snapshot of a window merged into this one, which is then dropped; OnClose runs when the
// window closes. What they return is emitted on Down with the window's id.
type Logic[V, W, S any] interface {
	OnValue(v V) []W
	OnMerge(original S) []W
	OnClose() []W
	Snapshot() S
}

// Option changes a window operator: Ordered for every operator, JoinModes for the joins.
// Options apply in order, so a later one overrides an earlier one of the same setting; an
// invalid one is a build error of the operator.
type Option func(*config)

type config struct {
	ordered  bool
	modes    []op.JoinOption // JoinModes: only the joins take them
	hasModes bool            // JoinModes was given, even with no option
}

// newConfig applies opts over an operator's defaults: ordered is its default order.
func newConfig(ordered bool, opts []Option) config {
	cfg := config{ordered: ordered}
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// notJoin returns the build error of join modes given to an operator that is not a join,
// which would ignore them.
func (c config) notJoin() error {
	if c.hasModes {
		return errors.New("join modes (window.JoinModes) given to a window operator that is not a join")
	}
	return nil
}

// Ordered sets whether on-time items wait until the watermark passes them and are then
// applied in timestamp order (true), or are applied as they arrive (false). Default true
// for Collect, Fold, Join, Join2, Join3 and Window; false for Count, Reduce, Max and Min.
func Ordered(on bool) Option { return func(c *config) { c.ordered = on } }

// JoinModes gives a windowed join (Join, Join2, Join3) the join options of package op,
// op.InsertMode and op.EmitMode, which apply in order after the window join's defaults:
// op.InsertLast and op.EmitFinal (a plain op join's emit default, op.EmitComplete, does
// not apply here). An unknown mode, or JoinModes given to an operator that is not a join,
// is a build error.
//
//	window.Join2("j", a, b, clock, windower, window.JoinModes(op.EmitMode(op.EmitComplete)))
func JoinModes(opts ...op.JoinOption) Option {
	return func(c *config) { c.modes, c.hasModes = append(c.modes, opts...), true }
}

// Window is the generic window operator: builder makes the logic of each window of each
// key, from the window's resume state (ok is false for a new window).
//
// After each batch, notification or end of stream, the items that are due are applied,
// each followed by the merges of the sessions it bridges, then windows close: each closed
// window emits its results, then its metadata, windows that close together in the order
// they opened. A key whose windows are all closed, with nothing queued, frees its state.
func Window[V, W, S any](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, builder func(resume S, ok bool) Logic[V, W, S], opts ...Option) Out[V, W] {
	return window(id, up, clock, windower, builder, true, opts)
}

// window declares the composite: "id.stateful_batch" runs the windows, and three steps
// unwrap its events into Down, Late and Meta (and WithBounds a fourth).
func window[V, W, S any](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, builder func(S, bool) Logic[V, W, S], ordered bool, opts []Option) Out[V, W] {
	outer := up.Scope()
	if outer == nil {
		return Out[V, W]{}
	}
	cfg := newConfig(ordered, opts)
	err := check(clock, windower)
	if err == nil {
		err = cfg.notJoin()
	}
	if err != nil {
		outer.Flow().Fail(fmt.Errorf("weir: step %s.%s: %w", outer.Path(), id, err))
	}
	k := &kind[V, W, S]{clock: clock, windower: windower, build: builder, ordered: cfg.ordered && !clock.monotonic()}
	inner := outer.Nest(id)
	events := keyed.Add("stateful_batch", weir.In(inner, up), k.perWorker)
	return Out[V, W]{
		Down: weir.In(outer, op.FilterMapValue("unwrap_down", events, func(e event[V, W]) (Windowed[W], bool) {
			return Windowed[W]{Window: e.id, Value: e.down}, e.kind&downEvent != 0
		})),
		Late: weir.In(outer, op.FilterMapValue("unwrap_late", events, func(e event[V, W]) (Windowed[V], bool) {
			if e.kind != lateEvent {
				return Windowed[V]{}, false
			}
			return Windowed[V]{Window: e.id, Value: *e.late}, true
		})),
		Meta: weir.In(outer, op.FilterMapValue("unwrap_meta", events, func(e event[V, W]) (Windowed[Meta], bool) {
			if e.kind&metaEvent == 0 {
				return Windowed[Meta]{}, false
			}
			return Windowed[Meta]{Window: e.id, Value: e.meta.public()}, true
		})),
		// A closing result carries the span its Meta event carries, so that pairing them
		// takes a stateless split of the events, not a stateful join.
		bounded: func(sc *weir.Scope, id string) weir.KeyedStream[Bounded[W]] {
			return op.FilterMapValue(id, weir.In(sc, events), func(e event[V, W]) (Bounded[W], bool) {
				if e.kind&downEvent == 0 || e.meta == nil {
					return Bounded[W]{}, false
				}
				m := e.meta.public()
				m.Merged = slices.Clone(m.Merged) // each result its own, apart from Meta's
				return Bounded[W]{Window: e.id, Meta: m, Value: e.down}, true
			})
		},
	}
}

// check returns the build error of a clock and windower, if any.
func check[V any](clock Clock[V], windower Windower) error {
	if err := clock.check(); err != nil {
		return err
	}
	return windower.check()
}

// kind is a window operator's configuration, shared by the logics of all its keys.
type kind[V, W, S any] struct {
	clock    Clock[V]
	windower Windower
	build    func(S, bool) Logic[V, W, S]
	ordered  bool
}

// The kinds of event, bits of event.kind: a window's last result as it closes is both a
// result and its Meta line, one event instead of two.
const (
	downEvent uint8 = 1 << iota
	lateEvent
	metaEvent
)

// event is what the stateful step emits: a result, a late item or a closed window's span.
// A result emitted as its window closes carries the span too, for WithBounds; the last of
// them is the window's Meta event too (its Meta line comes right after it on Meta).
type event[V, W any] struct {
	kind uint8
	id   int64
	down W
	late *V // rare: kept out of line so that results stay small
	// meta is its own copy, as the key's scratch is reused and events may cross workers,
	// shared by the window's closing events and never changed.
	meta *span
}

// windows is the windower's state for one key.
type windows struct {
	Windows []span // open, in open order
	NextID  int64  // the next session id
	Done    int64  // the watermark at which windows were last closed
}

// queued is an on-time item waiting for the watermark in ordered mode.
type queued[V any] struct {
	TS    int64
	Value V
}

// snapshot is the state of one key: everything needed to continue its windows.
type snapshot[V, S any] struct {
	Clock   clockState
	Windows windows
	Logics  map[int64]S
	Queue   []queued[V]
}

// keyLogic runs the windows of one key as a StatefulBatch logic.
type keyLogic[V, W, S any] struct {
	*kind[V, W, S]
	clockSt clockState
	now     int64 // the activation's system time
	win     windows
	logics  windowLogics[V, W, S]
	queue   []queued[V]

	*scratch[V, W, S]
	sortedQueued bool

	// The first open window and its logic are kept here, beside the rest of the key, so
	// that an item costs fewer cache lines: a tumbling window has only one open at a time.
	oneSpan  [1]span
	oneLogic [1]windowLogic[V, W, S]
}

// scratch is the space a logic needs only during one of its calls, shared by the logics
// of one worker, one of which runs at a time: in its own cache lines, each key's buffers
// would cost cache misses on every item. The runtime copies what a logic emits before it
// calls the next one.
type scratch[V, W, S any] struct {
	out      []event[V, W]
	in, late []int64
	merges   []merge
	closed   []span
	last     lastWindow

	// spare holds the logics of closed windows that a new window can take over (the
	// folds' own, which reset), so that a key's stream of windows allocates none each.
	spare []Logic[V, W, S]
	// spans is the unused rest of a block of closed spans that events point to: one
	// allocation per block rather than per window. Nothing keeps these pointers beyond
	// the events, which downstream steps copy out of at once.
	spans []span
}

// maxSpare bounds the spare logics a worker keeps: many windows closing together (the end
// of the stream, a watermark jump) would otherwise leave one per key for the run's life.
const maxSpare = 256

// spanBlock is how many closed spans one allocation holds.
const spanBlock = 64

// newLogic returns the logic of a new window: a spare one if there is one.
func (sc *scratch[V, W, S]) newLogic(build func(S, bool) Logic[V, W, S]) Logic[V, W, S] {
	if n := len(sc.spare); n > 0 {
		lg := sc.spare[n-1]
		sc.spare[n-1] = nil
		sc.spare = sc.spare[:n-1]
		lg.(resetter).reset()
		return lg
	}
	var zero S
	return build(zero, false)
}

// retire keeps the logic of a window that is gone, merged or closed with its results
// emitted, for a new window, if it can be reset for one. A user's logic (Window) cannot:
// it implements no unexported method.
func (sc *scratch[V, W, S]) retire(lg Logic[V, W, S]) {
	if _, ok := lg.(resetter); ok && len(sc.spare) < maxSpare {
		sc.spare = append(sc.spare, lg)
	}
}

// resetter is a window logic of this package that can start a new window.
type resetter interface{ reset() }

// closedSpan returns a pointer to a copy of s, from the current block of spans.
func (sc *scratch[V, W, S]) closedSpan(s *span) *span {
	if len(sc.spans) == 0 {
		sc.spans = make([]span, spanBlock)
	}
	p := &sc.spans[0]
	*p = *s
	sc.spans = sc.spans[1:]
	return p
}

// perWorker returns the builder of the key logics of one worker.
func (k *kind[V, W, S]) perWorker() func(snapshot[V, S], bool) op.Logic[V, event[V, W], snapshot[V, S]] {
	sc := new(scratch[V, W, S])
	return func(resume snapshot[V, S], ok bool) op.Logic[V, event[V, W], snapshot[V, S]] {
		return k.logic(sc, resume, ok)
	}
}

func (k *kind[V, W, S]) logic(sc *scratch[V, W, S], resume snapshot[V, S], ok bool) op.Logic[V, event[V, W], snapshot[V, S]] {
	l := &keyLogic[V, W, S]{kind: k, scratch: sc}
	l.logics = l.oneLogic[:0]
	if !ok {
		l.win.Done = minInstant
		l.win.Windows = l.oneSpan[:0]
		return l
	}
	l.clockSt, l.win, l.queue = resume.Clock, resume.Windows, resume.Queue
	for id, s := range resume.Logics {
		l.logics.put(id, k.build(s, true))
	}
	return l
}

func (l *keyLogic[V, W, S]) OnBatch(values []V) ([]event[V, W], bool) {
	l.out = l.out[:0]
	l.clock.beforeBatch(&l.clockSt, l.now)
	for _, v := range values {
		ts, wm := l.clock.onItem(&l.clockSt, v)
		switch {
		case ts < wm:
			l.lateFor(ts, v)
		case l.ordered:
			l.queue = append(l.queue, queued[V]{TS: ts, Value: v})
			l.sortedQueued = false
		default:
			l.apply(ts, v)
		}
	}
	return l.advance(l.clock.watermark(&l.clockSt))
}

func (l *keyLogic[V, W, S]) OnNotify() ([]event[V, W], bool) {
	l.out = l.out[:0]
	l.clock.beforeBatch(&l.clockSt, l.now)
	return l.advance(l.clock.watermark(&l.clockSt))
}

func (l *keyLogic[V, W, S]) OnEOF() ([]event[V, W], bool) {
	l.out = l.out[:0]
	return l.advance(maxInstant)
}

// SetNow gets the activation's system time from the stateful runtime (keyed.Clocked).
func (l *keyLogic[V, W, S]) SetNow(now time.Time) { l.now = now.UnixNano() }

// lateFor emits v as late for the windows its timestamp belongs to.
func (l *keyLogic[V, W, S]) lateFor(ts int64, v V) {
	if l.windower.session {
		l.out = append(l.out, event[V, W]{kind: lateEvent, id: LateID, late: ptr(v)})
		return
	}
	first, last, _ := l.windower.intersects(ts)
	for id := first; id <= last; id++ {
		l.out = append(l.out, event[V, W]{kind: lateEvent, id: id, late: ptr(v)})
	}
}

// apply puts an on-time item into its windows.
func (l *keyLogic[V, W, S]) apply(ts int64, v V) {
	l.in, l.late, l.merges = l.windower.openVia(&l.last, &l.win, ts, l.win.Done, l.in[:0], l.late[:0], l.merges)
	for _, id := range l.late {
		l.out = append(l.out, event[V, W]{kind: lateEvent, id: id, late: ptr(v)})
	}
	for _, id := range l.in {
		lg, ok := l.logics.get(id)
		if !ok {
			lg = l.newLogic(l.build)
			l.logics.put(id, lg)
		}
		l.emit(id, lg.OnValue(v), nil)
	}
	// Merge before the next item: a merge waiting for the end of the batch would let the
	// next items reach the surviving window first, so that its values (and what a
	// non-commutative fold makes of them) would depend on how items were batched.
	l.mergeWindows()
}

// mergeWindows hands the logic of each session merged away to the window it merged into.
func (l *keyLogic[V, W, S]) mergeWindows() {
	for _, m := range l.merges {
		orig, ok := l.logics.take(m.from)
		if !ok {
			continue
		}
		if into, ok := l.logics.get(m.into); ok {
			l.emit(m.into, into.OnMerge(orig.Snapshot()), nil)
			l.retire(orig)
		} else {
			l.logics.put(m.into, orig)
		}
	}
	l.merges = l.merges[:0]
}

// emit appends the results ws of window id; meta is the window's span for the results of
// OnClose, nil for those emitted while it is open.
func (l *keyLogic[V, W, S]) emit(id int64, ws []W, meta *span) {
	for _, w := range ws {
		l.out = append(l.out, event[V, W]{kind: downEvent, id: id, down: w, meta: meta})
	}
}

// advance moves the key to watermark wm: due items (each followed by the merges it
// causes), then closes.
func (l *keyLogic[V, W, S]) advance(wm int64) ([]event[V, W], bool) {
	if len(l.queue) > 0 {
		if !l.sortedQueued {
			slices.SortStableFunc(l.queue, func(a, b queued[V]) int { return cmp.Compare(a.TS, b.TS) })
			l.sortedQueued = true
		}
		n := 0
		for n < len(l.queue) && l.queue[n].TS < wm {
			l.apply(l.queue[n].TS, l.queue[n].Value)
			n++
		}
		clear(l.queue[:n])
		l.queue = l.queue[n:]
		if len(l.queue) == 0 {
			l.queue = nil
		}
	}
	if wm > l.win.Done {
		l.win.Done = wm
	}
	l.closed = l.windower.closeFor(&l.win, wm, l.closed[:0])
	for i := range l.closed {
		s := &l.closed[i]
		meta := l.closedSpan(s)
		n := len(l.out)
		if lg, ok := l.logics.take(s.ID); ok {
			l.emit(s.ID, lg.OnClose(), meta)
			l.retire(lg)
		}
		if len(l.out) > n {
			l.out[len(l.out)-1].kind |= metaEvent
		} else {
			l.out = append(l.out, event[V, W]{kind: metaEvent, id: s.ID, meta: meta})
		}
	}
	// Nothing open and nothing queued: free the key (Bytewax keeps sessions for ever).
	return l.out, len(l.win.Windows) == 0 && len(l.queue) == 0
}

// NotifyAt asks to be woken when the next window closes or the next queued item is due.
func (l *keyLogic[V, W, S]) NotifyAt() (time.Time, bool) {
	at, ok := l.windower.nextClose(&l.win)
	if len(l.queue) > 0 {
		due := add(l.queue[0].TS, 1)
		if !l.sortedQueued {
			for _, q := range l.queue {
				due = min(due, add(q.TS, 1))
			}
		}
		if !ok || due < at {
			at, ok = due, true
		}
	}
	if !ok {
		return time.Time{}, false
	}
	sys, ok := l.clock.toSystem(&l.clockSt, at)
	if !ok {
		return time.Time{}, false // only an item or the end of the stream moves it there
	}
	return timeOf(sys), true
}

func (l *keyLogic[V, W, S]) Snapshot() snapshot[V, S] {
	s := snapshot[V, S]{Clock: l.clockSt, Windows: l.win, Queue: l.queue, Logics: make(map[int64]S, len(l.logics))}
	for _, w := range l.logics {
		s.Logics[w.id] = w.logic.Snapshot()
	}
	return s
}

// windowLogics holds a key's window logics by id: a key has few windows open, so a slice
// is faster than a map.
type windowLogics[V, W, S any] []windowLogic[V, W, S]

type windowLogic[V, W, S any] struct {
	id    int64
	logic Logic[V, W, S]
}

func (ws windowLogics[V, W, S]) get(id int64) (Logic[V, W, S], bool) {
	for i := range ws {
		if ws[i].id == id {
			return ws[i].logic, true
		}
	}
	return nil, false
}

func (ws *windowLogics[V, W, S]) put(id int64, l Logic[V, W, S]) {
	for i := range *ws {
		if (*ws)[i].id == id {
			(*ws)[i].logic = l
			return
		}
	}
	*ws = append(*ws, windowLogic[V, W, S]{id: id, logic: l})
}

// take removes and returns the logic of window id.
func (ws *windowLogics[V, W, S]) take(id int64) (Logic[V, W, S], bool) {
	for i := range *ws {
		if (*ws)[i].id == id {
			l := (*ws)[i].logic
			*ws = slices.Delete(*ws, i, i+1)
			return l, true
		}
	}
	return nil, false
}

// ptr returns a pointer to a copy of v: taking &v of a parameter would move it to the heap
// on every call, not only on the rare ones that keep it.
func ptr[V any](v V) *V {
	p := new(V)
	*p = v
	return p
}
