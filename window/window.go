package window

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/graph"
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
	return window(id, up, clock, windower, builder, nil, true, opts)
}

// window declares the composite: "id.stateful_batch" runs the windows, and three steps
// unwrap its events into Down, Late and Meta (and WithBounds a fourth). The windows run
// builder's logics, or for a fold (builder nil), fold's functions.
func window[V, W, S any](id string, up weir.KeyedStream[V], clock Clock[V], windower Windower, builder func(S, bool) Logic[V, W, S], fold *folds[V, W, S], ordered bool, opts []Option) Out[V, W] {
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
	k := newKind(clock, windower, builder, fold, cfg.ordered)
	inner := outer.Nest(id)
	events := keyed.Add("stateful_batch", weir.In(inner, up), k.perWorker)
	// The splits are pure: one whose stream nothing reads (often Late and Meta) is not run.
	return Out[V, W]{
		Down: weir.In(outer, pure(op.FilterMapValue("unwrap_down", events, func(e event[V, W]) (Windowed[W], bool) {
			return Windowed[W]{Window: e.id, Value: e.down}, e.kind&downEvent != 0
		}))),
		Late: weir.In(outer, pure(op.FilterMapValue("unwrap_late", events, func(e event[V, W]) (Windowed[V], bool) {
			if e.kind != lateEvent {
				return Windowed[V]{}, false
			}
			return Windowed[V]{Window: e.id, Value: *e.late}, true
		}))),
		Meta: weir.In(outer, pure(op.FilterMapValue("unwrap_meta", events, func(e event[V, W]) (Windowed[Meta], bool) {
			if e.kind&metaEvent == 0 {
				return Windowed[Meta]{}, false
			}
			return Windowed[Meta]{Window: e.id, Value: e.meta()}, true
		}))),
		// A closing result carries the span its Meta event carries, so that pairing them
		// takes a stateless split of the events, not a stateful join.
		bounded: func(sc *weir.Scope, id string) weir.KeyedStream[Bounded[W]] {
			return pure(op.FilterMapValue(id, weir.In(sc, events), func(e event[V, W]) (Bounded[W], bool) {
				if e.kind&(downEvent|closeEvent) != downEvent|closeEvent {
					return Bounded[W]{}, false
				}
				m := e.meta()
				m.Merged = slices.Clone(m.Merged) // each result its own, apart from Meta's
				return Bounded[W]{Window: e.id, Meta: m, Value: e.down}, true
			}))
		},
	}
}

// pure marks the step that declared s, one of the operator's splits of its events, as
// pure (graph.FlatMapSpec.Pure): it only unwraps events, so when no step reads s the
// engine need not run it. Every event goes through each split that runs, so an unread
// Meta, say, would cost a pass over all of them (about 5% of a windowed count).
func pure[V any](s weir.KeyedStream[V]) weir.KeyedStream[V] {
	if n := graph.PortOf(s).Node; n != nil {
		if spec, ok := n.Spec.(*graph.FlatMapSpec); ok {
			spec.Pure = true
		}
	}
	return s
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
	build    func(S, bool) Logic[V, W, S] // the logic of each window; nil for a fold
	fold     *folds[V, W, S]              // a fold's functions; nil for the others
	ordered  bool
	tumbling bool // an open window that holds a time is the time's only window
	// tryFold: a key may take an item at once (keyed.TryFolding) when it falls in the key's
	// newest window and closes nothing: a fold of tumbling windows applying items as they
	// come, on a clock whose time is the activation's (WithNow's function would be called
	// again by the OnBatch that follows a refusal).
	tryFold bool
}

// newKind returns the configuration of a window operator running build's logics, or
// fold's functions when build is nil.
func newKind[V, W, S any](clock Clock[V], windower Windower, build func(S, bool) Logic[V, W, S], fold *folds[V, W, S], ordered bool) *kind[V, W, S] {
	k := &kind[V, W, S]{clock: clock, windower: windower, build: build, fold: fold,
		ordered:  ordered && !clock.monotonic(),
		tumbling: !windower.session && windower.offset == windower.length}
	k.tryFold = k.fold != nil && k.tumbling && !k.ordered && clock.now == nil
	return k
}

// The kinds of event, bits of event.kind: a window's last result as it closes is both a
// result and its Meta line, one event instead of two.
const (
	downEvent  uint8 = 1 << iota
	lateEvent        // the item is in late
	metaEvent        // the window's Meta line
	closeEvent       // emitted as the window closed: open, close and merged are its span's
)

// event is what the stateful step emits: a result, a late item or a closed window's span.
// A result emitted as its window closes carries the span too (closeEvent), for WithBounds;
// the last of them is the window's Meta event too (its Meta line comes right after it on
// Meta). The span's bounds are in the event itself, so that a closing window allocates
// nothing for them; its merged ids are the closed span's, which nothing changes any more.
type event[V, W any] struct {
	kind        uint8
	id          int64
	down        W
	late        *V // rare: kept out of line so that results stay small
	open, close int64
	merged      []int64
}

// meta returns the Meta of a closing event. Merged is shared with the closed span.
func (e *event[V, W]) meta() Meta {
	return Meta{Open: timeOf(e.open), Close: timeOf(e.close), Merged: e.merged}
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
//
// A key's first two open windows and their logics are kept in it: a key of tumbling
// windows, which has one open (two for a moment, as an item opens the next before the
// last closes), is then one object, which allocates nothing as its windows come and go.
// The fields an item reads come first, the inline windows' logics before their spans (a
// fold's window is an id and an accumulator): with the key's clock, an item of a tumbling
// count reads four cache lines of it (it is 320 bytes, a size class whose objects start
// on a line).
type keyLogic[V, W, S any] struct {
	*scratch[V, W, S] // the worker's, and through it the operator's kind
	clockSt           clockState
	closes            int64 // the watermark at which the first of the open windows closes
	win               windows
	logics            windowLogics[V, W, S]
	queue             *queue[V] // nil until an item waits
	// stamped is set when TryFold refused an item after reading its timestamp, ts: the
	// runtime gives the item to OnBatch next, first of its values, which takes ts rather
	// than call the timestamp function again.
	stamped bool
	ts      int64

	logics2 [2]windowLogic[V, W, S]
	spans2  [2]span
}

// queue holds the on-time items of a key waiting for the watermark, in ordered mode.
type queue[V any] struct {
	items  []queued[V]
	sorted bool // items are in timestamp order
}

// waiting returns the items waiting for the watermark.
func (l *keyLogic[V, W, S]) waiting() []queued[V] {
	if l.queue == nil {
		return nil
	}
	return l.queue.items
}

// scratch is the space a logic needs only during one of its calls, shared by the logics
// of one worker, one of which runs at a time: in its own cache lines, each key's buffers
// would cost cache misses on every item. The runtime copies what a logic emits before it
// calls the next one.
type scratch[V, W, S any] struct {
	*kind[V, W, S]
	now      int64 // the activation's system time (keyed.Clocked), the same for every key
	out      []event[V, W]
	in, late []int64
	merges   []merge
	closed   []span
	last     lastWindow
}

// perWorker returns the builder of the key logics of one worker.
func (k *kind[V, W, S]) perWorker() func(snapshot[V, S], bool) op.Logic[V, event[V, W], snapshot[V, S]] {
	sc := &scratch[V, W, S]{kind: k}
	return func(resume snapshot[V, S], ok bool) op.Logic[V, event[V, W], snapshot[V, S]] {
		return k.logic(sc, resume, ok)
	}
}

func (k *kind[V, W, S]) logic(sc *scratch[V, W, S], resume snapshot[V, S], ok bool) op.Logic[V, event[V, W], snapshot[V, S]] {
	var l *keyLogic[V, W, S]
	var out op.Logic[V, event[V, W], snapshot[V, S]]
	if k.tryFold {
		t := new(tryLogic[V, W, S])
		l, out = &t.keyLogic, t
	} else {
		l = new(keyLogic[V, W, S])
		out = l
	}
	l.scratch, l.closes = sc, maxInstant
	l.logics = l.logics2[:0]
	l.win.Windows = l.spans2[:0]
	if !ok {
		l.win.Done = minInstant
		return out
	}
	l.clockSt = resume.Clock
	if len(resume.Queue) > 0 {
		l.queue = &queue[V]{items: resume.Queue}
	}
	l.win.NextID, l.win.Done = resume.Windows.NextID, resume.Windows.Done
	l.win.Windows = append(l.win.Windows, resume.Windows.Windows...)
	l.closes, _ = l.windower.nextClose(&l.win)
	for id, s := range resume.Logics {
		w := windowLogic[V, W, S]{id: id}
		if k.fold != nil {
			w.acc, w.has = k.fold.resume(s)
		} else {
			w.logic = k.build(s, true)
		}
		l.logics = append(l.logics, w)
	}
	return out
}

func (l *keyLogic[V, W, S]) OnBatch(values []V) ([]event[V, W], bool) {
	l.out = l.out[:0]
	l.clock.beforeBatch(&l.clockSt, l.now)
	for i, v := range values {
		var ts, wm int64
		if i == 0 && l.stamped {
			l.stamped = false
			ts, wm = l.clock.onStamp(&l.clockSt, l.ts)
		} else {
			ts, wm = l.clock.onItem(&l.clockSt, v)
		}
		switch {
		case ts < wm:
			l.lateFor(ts, v)
		case l.ordered:
			l.wait(ts, v)
		default:
			l.apply(ts, v)
		}
	}
	return l.advance(l.clock.watermark(&l.clockSt))
}

// tryLogic is the key logic of an operator whose keys may take items at once
// (kind.tryFold): only it is a keyed.TryFolding, so that the runtime offers no item to
// the others' logics, which would refuse every one.
type tryLogic[V, W, S any] struct{ keyLogic[V, W, S] }

// TryFold takes v at once (keyed.TryFolding) when OnBatch of v alone would only fold it
// into the key's newest window: on time, in that window, and closing nothing. Else it
// puts the clock back as it was and keeps v's timestamp for the OnBatch that follows.
func (t *tryLogic[V, W, S]) TryFold(v V) bool {
	l := &t.keyLogic
	ws := l.win.Windows
	if len(ws) == 0 || l.queue != nil {
		return false
	}
	was := l.clockSt
	l.clock.beforeBatch(&l.clockSt, l.now)
	ts, wm := l.clock.onItem(&l.clockSt, v)
	if s := &ws[len(ws)-1]; wm <= ts && s.Open <= ts && ts < s.Close {
		// What OnBatch would do next: apply (tumbling: the newest window), then advance
		// to the watermark, which closes nothing below l.closes. That watermark is wm:
		// onItem's is the clock's watermark after the item (TestOnItemWatermark).
		if wm < l.closes {
			l.add(s.ID, v)
			if wm > l.win.Done {
				l.win.Done = wm
			}
			return true
		}
	}
	l.clockSt = was
	l.stamped, l.ts = true, ts
	return false
}

var _ keyed.TryFolding[int] = (*tryLogic[int, int, int])(nil) // else every item goes through OnBatch

func (l *keyLogic[V, W, S]) OnNotify() ([]event[V, W], bool) {
	l.out = l.out[:0]
	l.clock.beforeBatch(&l.clockSt, l.now)
	return l.advance(l.clock.watermark(&l.clockSt))
}

func (l *keyLogic[V, W, S]) OnEOF() ([]event[V, W], bool) {
	l.out = l.out[:0]
	return l.advance(maxInstant)
}

// SetNow gets the activation's system time from the stateful runtime (keyed.Clocked): it
// is kept in the worker's scratch, the same for all the keys of an activation.
func (l *keyLogic[V, W, S]) SetNow(now time.Time) { l.now = now.UnixNano() }

// SharedClock tells the runtime that SetNow sets the time of every key of the worker
// (keyed.SharedClock), so that it is called once per activation rather than per key.
func (l *keyLogic[V, W, S]) SharedClock() {}

var _ keyed.SharedClock = (*keyLogic[int, int, int])(nil) // else SetNow runs per key again

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
	if l.tumbling {
		// Tumbling windows do not overlap: an open window holding ts is its window, and
		// open, it is not late. The common case, the key's newest window, takes two
		// comparisons.
		if ws := l.win.Windows; len(ws) > 0 {
			if s := &ws[len(ws)-1]; s.Open <= ts && ts < s.Close {
				l.add(s.ID, v)
				return
			}
		}
	}
	l.in, l.late, l.merges = l.windower.openVia(&l.last, &l.win, ts, l.win.Done, l.in[:0], l.late[:0], l.merges)
	for _, id := range l.late {
		l.out = append(l.out, event[V, W]{kind: lateEvent, id: id, late: ptr(v)})
	}
	for _, id := range l.in {
		l.add(id, v)
	}
	// Merge before the next item: a merge waiting for the end of the batch would let the
	// next items reach the surviving window first, so that its values (and what a
	// non-commutative fold makes of them) would depend on how items were batched.
	l.mergeWindows()
	l.closes, _ = l.windower.nextClose(&l.win) // windows opened, extended or merged
}

// wait queues an on-time item until the watermark passes it.
func (l *keyLogic[V, W, S]) wait(ts int64, v V) {
	if l.queue == nil {
		l.queue = new(queue[V])
	}
	l.queue.items = append(l.queue.items, queued[V]{TS: ts, Value: v})
	l.queue.sorted = false
}

// add applies v to open window id, making its logic if it has none yet.
func (l *keyLogic[V, W, S]) add(id int64, v V) {
	w := l.logics.find(id)
	if w == nil {
		w = l.open(id)
	}
	if l.fold != nil {
		l.fold.add(w, v)
		return
	}
	l.emit(id, w.logic.OnValue(v))
}

// open makes the logic of new window id: a fold's starts from the builder's accumulator,
// held beside the window's id rather than in an object of its own.
func (l *keyLogic[V, W, S]) open(id int64) *windowLogic[V, W, S] {
	w := windowLogic[V, W, S]{id: id}
	if l.fold != nil {
		w.acc, w.has = l.fold.init()
	} else {
		var zero S
		w.logic = l.build(zero, false)
	}
	l.logics = append(l.logics, w)
	return &l.logics[len(l.logics)-1]
}

// mergeWindows hands the logic of each session merged away to the window it merged into.
func (l *keyLogic[V, W, S]) mergeWindows() {
	for _, m := range l.merges {
		orig, ok := l.logics.take(m.from)
		if !ok {
			continue
		}
		into := l.logics.find(m.into)
		switch {
		case into == nil:
			orig.id = m.into
			l.logics = append(l.logics, orig)
		case l.fold != nil:
			l.fold.merge(into, &orig)
		default:
			l.emit(m.into, into.logic.OnMerge(orig.logic.Snapshot()))
		}
	}
	l.merges = l.merges[:0]
}

// emit appends the results ws of window id, emitted while it is open.
func (l *keyLogic[V, W, S]) emit(id int64, ws []W) {
	for _, w := range ws {
		l.out = append(l.out, event[V, W]{kind: downEvent, id: id, down: w})
	}
}

// advance moves the key to watermark wm: due items (each followed by the merges it
// causes), then closes.
func (l *keyLogic[V, W, S]) advance(wm int64) ([]event[V, W], bool) {
	if q := l.queue; q != nil && len(q.items) > 0 {
		if !q.sorted {
			slices.SortStableFunc(q.items, func(a, b queued[V]) int { return cmp.Compare(a.TS, b.TS) })
			q.sorted = true
		}
		n := 0
		for n < len(q.items) && q.items[n].TS < wm {
			l.apply(q.items[n].TS, q.items[n].Value)
			n++
		}
		clear(q.items[:n])
		q.items = q.items[n:]
		if len(q.items) == 0 {
			q.items = nil
		}
	}
	if wm > l.win.Done {
		l.win.Done = wm
	}
	if wm >= l.closes { // else nothing closes: the common case, without a look at the windows
		l.close(wm)
	}
	// Nothing open and nothing queued: free the key (Bytewax keeps sessions for ever).
	return l.out, len(l.win.Windows) == 0 && len(l.waiting()) == 0
}

// close closes the windows closed at watermark wm, emitting their results and Meta.
func (l *keyLogic[V, W, S]) close(wm int64) {
	l.closed = l.windower.closeFor(&l.win, wm, l.closed[:0])
	l.closes, _ = l.windower.nextClose(&l.win)
	for i := range l.closed {
		s := &l.closed[i]
		n := len(l.out)
		if w, ok := l.logics.take(s.ID); ok {
			if l.fold == nil {
				for _, r := range w.logic.OnClose() {
					l.out = append(l.out, closing[V](s, downEvent, r))
				}
			} else if w.has {
				l.out = append(l.out, closing[V](s, downEvent, w.acc))
			}
		}
		if len(l.out) > n {
			l.out[len(l.out)-1].kind |= metaEvent
		} else {
			var zero W
			l.out = append(l.out, closing[V](s, metaEvent, zero))
		}
	}
	clear(l.closed) // their merged ids now belong to the events
}

// closing returns an event of closed window s.
func closing[V, W any](s *span, kind uint8, down W) event[V, W] {
	return event[V, W]{kind: kind | closeEvent, id: s.ID, down: down, open: s.Open, close: s.Close, merged: s.Merged}
}

// NotifyAt asks to be woken when the next window closes or the next queued item is due.
func (l *keyLogic[V, W, S]) NotifyAt() (time.Time, bool) {
	if at, ok := l.NotifyAtNano(); ok {
		return timeOf(at), true
	}
	return time.Time{}, false
}

// NotifyAtNano is NotifyAt in Unix nanoseconds (keyed.TryFolding), which the runtime asks
// of a key as TryFold takes an item or after each activation that touched it: it depends
// only on the key's own state and the activation's time, so both give the same.
func (l *keyLogic[V, W, S]) NotifyAtNano() (int64, bool) {
	at, ok := l.closes, len(l.win.Windows) > 0
	if q := l.waiting(); len(q) > 0 {
		due := add(q[0].TS, 1)
		if !l.queue.sorted {
			for _, q := range q {
				due = min(due, add(q.TS, 1))
			}
		}
		if !ok || due < at {
			at, ok = due, true
		}
	}
	if !ok {
		return 0, false
	}
	sys, ok := l.clock.toSystem(&l.clockSt, at)
	if !ok {
		return 0, false // only an item or the end of the stream moves it there
	}
	return sys, true
}

func (l *keyLogic[V, W, S]) Snapshot() snapshot[V, S] {
	s := snapshot[V, S]{Clock: l.clockSt, Windows: l.win, Queue: l.waiting(), Logics: make(map[int64]S, len(l.logics))}
	for i := range l.logics {
		w := &l.logics[i]
		if l.fold != nil {
			s.Logics[w.id] = l.fold.state(w.acc, w.has)
		} else {
			s.Logics[w.id] = w.logic.Snapshot()
		}
	}
	return s
}

// windowLogics holds a key's window logics, in no order: a key has few windows open, so
// a slice is faster than a map.
type windowLogics[V, W, S any] []windowLogic[V, W, S]

// windowLogic is the logic of one open window: the user's or a join's Logic, or for a
// fold (kind.fold), its accumulator.
type windowLogic[V, W, S any] struct {
	id    int64
	has   bool           // acc is set (Reduce has no accumulator before its first value)
	acc   W              // a fold's accumulator
	logic Logic[V, W, S] // nil for a fold
}

// find returns the logic of window id, nil if it has none. The pointer is good until the
// logics change.
func (ws windowLogics[V, W, S]) find(id int64) *windowLogic[V, W, S] {
	for i := range ws {
		if ws[i].id == id {
			return &ws[i]
		}
	}
	return nil
}

// take removes and returns the logic of window id. The logics are in no order, so the
// last takes its place: a tumbling key's closing window, first of its two, moves nothing
// else (slices.Delete's shift and clear were 1-2% of a windowed count).
func (ws *windowLogics[V, W, S]) take(id int64) (windowLogic[V, W, S], bool) {
	s := *ws
	for i := range s {
		if s[i].id == id {
			w := s[i]
			last := len(s) - 1
			s[i] = s[last]
			s[last] = windowLogic[V, W, S]{} // not to keep its logic alive
			*ws = s[:last]
			return w, true
		}
	}
	return windowLogic[V, W, S]{}, false
}

// ptr returns a pointer to a copy of v: taking &v of a parameter would move it to the heap
// on every call, not only on the rare ones that keep it.
func ptr[V any](v V) *V {
	p := new(V)
	*p = v
	return p
}
