package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"
)

// DefaultMaxWait is how long FromFunc and FromChan let the first item of a batch wait for
// more unless their MaxWait method says otherwise.
const DefaultMaxWait = 10 * time.Millisecond

// Func is a source fed by a blocking function or a channel; see FromFunc and FromChan.
type Func[T any] struct {
	name  string
	fn    func(context.Context) (T, error)
	batch int
	wait  time.Duration
	pos   func(item T) []byte
	start func(ctx context.Context, after []byte) error
}

// FromFunc returns a source of the items that fn returns, called again and again, one
// call at a time, until it returns io.EOF, which ends the stream (its item is not used);
// any other error stops the run. fn may block for as long as it likes, waiting for a
// message, say: it runs in a goroutine of its own, never on the worker's loop, and
// returns its items into a buffer that the worker takes them from in batches of up to
// BatchSize items (DefaultBatchSize unless set). The worker takes a batch when its first
// item has waited MaxWait (DefaultMaxWait unless set), or sooner when it finds BatchSize
// items waiting, as it does at once after a full batch when fn keeps up: latency stays
// near MaxWait when items are few, and batches grow when they come fast. fn runs ahead
// of the flow by up to four batches, and is not called while four wait: a slow flow
// holds fn back rather than letting the buffer grow.
//
// The worker looks for items every MaxWait while there are none (the engine has no way
// for a goroutine to wake it), so an idle source costs a cheap check per MaxWait, not a
// busy loop.
//
// The source has one partition, "func", so exactly one worker calls fn. It keeps no
// position unless Resume gives it one: a resumed run calls fn again from where fn itself
// stands, and items that were buffered but not yet passed on when a run stopped are
// lost. fn gets a context that is cancelled when the run ends or stops, and must then
// return soon: the partition's Close waits for it, so that no goroutine outlives the
// run. A panic in fn stops the run with an error holding its value and stack.
func FromFunc[T any](fn func(ctx context.Context) (T, error)) *Func[T] {
	return &Func[T]{name: "func", fn: fn, batch: DefaultBatchSize, wait: DefaultMaxWait}
}

// FromChan returns a source of the items received from ch, in batches, as FromFunc
// makes them: a goroutine receives into a buffer of up to four batches, and the worker
// takes a batch when its first item has waited MaxWait or when it is full. Closing ch
// ends the stream, after the items sent before.
//
// The source has one partition, "chan", so exactly one worker receives. It keeps no
// position and is not resumable (a channel cannot be read again; Resume is for
// FromFunc): items received but not yet passed on when a run stops are lost, as are
// items sent while no run receives.
func FromChan[T any](ch <-chan T) *Func[T] {
	return &Func[T]{name: "chan", batch: DefaultBatchSize, wait: DefaultMaxWait, fn: func(ctx context.Context) (T, error) {
		select {
		case v, ok := <-ch:
			if !ok {
				return v, io.EOF
			}
			return v, nil
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
	}}
}

// BatchSize sets the largest batch the source returns, overriding DefaultBatchSize; the
// source buffers up to four batches. Values below 1 mean 1.
func (s *Func[T]) BatchSize(n int) *Func[T] {
	s.batch = max(n, 1)
	return s
}

// MaxWait sets how long the first item of a batch waits for more before the batch is
// passed on, overriding DefaultMaxWait; it is also how often the worker looks for items
// when there are none. Values below 1 ms mean 1 ms, the runtime's shortest wait.
func (s *Func[T]) MaxWait(d time.Duration) *Func[T] {
	s.wait = max(d, time.Millisecond)
	return s
}

// Resume makes the source resumable, for an fn that can start again after a given item
// (a broker's consumer at an offset, say). pos returns the position after an item, in
// any encoding; the source's position is that of the last item passed on, snapshotted
// at every epoch close. start is called when a run starts, before fn, with the position
// after the last item of the last completed epoch (nil on a fresh start), and must have
// fn go on after that item; its error fails the run. By default the source has no
// position.
func (s *Func[T]) Resume(pos func(item T) []byte, start func(ctx context.Context, after []byte) error) *Func[T] {
	s.pos, s.start = pos, start
	return s
}

// Partitions implements Partitioned.
func (s *Func[T]) Partitions(context.Context) ([]string, error) { return []string{s.name}, nil }

// Build implements Source: it starts the goroutine that calls fn.
func (s *Func[T]) Build(ctx context.Context, part Part, resume []byte) (Partition[T], error) {
	if err := checkPartition(part, s.name); err != nil {
		return nil, err
	}
	if len(resume) == 0 {
		resume = nil // the empty position of a run that passed nothing on
	}
	if s.start != nil {
		if err := s.start(ctx, resume); err != nil {
			return nil, fmt.Errorf("weir: source %s: resuming after %x: %w", s.name, resume, err)
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &funcPart[T]{
		name: s.name, batch: s.batch, wait: s.wait, cancel: cancel, pos: s.pos, last: resume,
		space: make(chan struct{}, 1), exited: make(chan struct{}),
		items: make([]T, 0, min(s.batch, DefaultBatchSize)),
	}
	go p.fill(ctx, s.fn)
	return p, nil
}

// ahead is how many batches fn may make before the flow takes them: while the worker
// sleeps (for a millisecond at least on many systems, however short the wait it asks
// for), a fast fn fills the next batches instead of waiting.
const ahead = 4

type funcPart[T any] struct {
	name   string
	batch  int
	wait   time.Duration
	cancel context.CancelFunc
	space  chan struct{} // a token when the worker has taken items: fill may go on
	exited chan struct{} // closed when fill returns
	out    []T           // the batch last returned, borrowed by the flow
	pos    func(T) []byte
	last   []byte // the position after the last item passed on

	mu    sync.Mutex
	items []T // filled by fill, taken by Next, at most ahead batches
	// starts[i] and ends[i] are when the first and the last item of the batch
	// items[i*batch:(i+1)*batch] arrived (ends only once it is full).
	starts, ends []time.Time
	end          error // io.EOF or fn's error, after items
	// refill is how long the last batch took to fill, when it was full: while fn keeps
	// up, the worker comes back after about that long instead of MaxWait.
	refill time.Duration
}

// fill calls fn until it ends, fails or the run stops, appending its items, and waits
// while ahead batches are buffered.
func (p *funcPart[T]) fill(ctx context.Context, fn func(context.Context) (T, error)) {
	defer close(p.exited)
	defer func() {
		if r := recover(); r != nil {
			p.finish(fmt.Errorf("weir: source %s: panic: %v\n%s", p.name, r, debug.Stack()))
		}
	}()
	for {
		v, err := fn(ctx)
		if ctx.Err() != nil {
			return // the partition is closing: nobody will take what fn returned
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("weir: source %s: %w", p.name, err)
			}
			p.finish(err)
			return
		}
		p.mu.Lock()
		if len(p.items)%p.batch == 0 {
			p.starts = append(p.starts, time.Now())
		}
		p.items = append(p.items, v)
		if len(p.items)%p.batch == 0 {
			p.ends = append(p.ends, time.Now())
		}
		for len(p.items) >= ahead*p.batch {
			p.mu.Unlock()
			select {
			case <-p.space:
			case <-ctx.Done():
				return
			}
			p.mu.Lock()
		}
		p.mu.Unlock()
	}
}

func (p *funcPart[T]) finish(err error) {
	p.mu.Lock()
	p.end = err
	p.mu.Unlock()
}

func (p *funcPart[T]) Next(context.Context) ([]T, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.items)
	if n < p.batch && p.end == nil && (n == 0 || time.Since(p.starts[0]) < p.wait) {
		return nil, nil // not due: NextAwake says when it will be
	}
	clear(p.out) // drop what the old batch's items referenced
	p.refill = 0
	if n >= p.batch {
		p.refill = max(p.ends[0].Sub(p.starts[0]), 1) // 0 means "not full"
	}
	var err error
	if n <= p.batch {
		// Swap buffers: fill appends to the one the flow borrowed last time, which it
		// has given back by calling Next again.
		p.out, p.items = p.items, p.out[:0]
		p.starts, p.ends = p.starts[:0], p.ends[:0]
		err = p.end
	} else {
		p.out = append(p.out[:0], p.items[:p.batch]...)
		rest := copy(p.items, p.items[p.batch:])
		clear(p.items[rest:])
		p.items = p.items[:rest]
		p.starts = p.starts[:copy(p.starts, p.starts[1:])]
		p.ends = p.ends[:copy(p.ends, p.ends[1:])]
	}
	if p.pos != nil && len(p.out) > 0 {
		p.last = p.pos(p.out[len(p.out)-1])
	}
	select {
	case p.space <- struct{}{}:
	default:
	}
	return p.out, err
}

// minLook is the shortest time NextAwake asks the worker to wait while items arrive:
// shorter, and a fast fn would have the worker look for a full batch in a busy loop.
const minLook = 50 * time.Microsecond

// NextAwake implements Awaker: at once when a batch is due; with items buffered, when
// the first will have waited MaxWait or, if sooner, when a batch will be full at the
// rate the items have come in so far, so that a fast fn's batches are taken as they
// fill, not MaxWait apart; with none, in MaxWait to look again, or sooner, in the time
// the last batch took to fill when it was full.
func (p *funcPart[T]) NextAwake() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	n := len(p.items)
	switch {
	case n >= p.batch || p.end != nil:
		return now // not the zero time, which means 1 ms after an empty batch
	case n > 0:
		first := p.starts[0]
		due := first.Add(p.wait)
		if el := now.Sub(first); el > 0 {
			// At the rate so far, the batch fills this long after its first item.
			fill := time.Duration(float64(el) * float64(p.batch) / float64(n))
			if full := first.Add(max(fill, el+minLook)); full.Before(due) {
				due = full
			}
		}
		return due
	case p.refill > 0:
		return now.Add(min(max(p.refill, minLook), p.wait))
	}
	return now.Add(p.wait)
}

func (p *funcPart[T]) Snapshot() []byte { return p.last }

// Close stops fill and waits for it to return, with fn's call under way.
func (p *funcPart[T]) Close() error {
	p.cancel()
	<-p.exited
	return nil
}
