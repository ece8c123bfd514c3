package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

type tp struct {
	topic string
	p     int32
}

// fetcher is one client of a worker and the partitions it reads: the client fetches them
// all in the background, and whichever of its partitions finds nothing buffered of its
// own polls the client for all of them, sorting what it gets by partition. All of it runs
// on the worker's goroutine, except the atomics that Lag reads.
type fetcher struct {
	src   *Source
	w     worker
	ctx   context.Context // the run's, from the first Build: the client's requests stop with it
	parts map[tp]*partition
	order []*partition // in the order built
	live  int          // partitions not yet closed

	cl      *kgo.Client // nil until the first Next or Snapshot
	err     error       // sticky: the client failed
	nextLog time.Time
}

// partition is one open topic partition.
type partition struct {
	f      *fetcher
	name   string
	topic  string
	num    int32
	from   int64 // the resume position; -1 on a fresh start
	end    int64 // the offset to stop at; -1 to tail
	done   bool  // ended or closed: consumed no more
	closed bool

	queue []*kgo.Record // polled from the client, not yet returned
	qi    int           // queue[:qi] are returned
	out   []Message     // the batch last returned, borrowed by the flow
	idle  time.Duration // the wait after the last empty batch
	wake  time.Time

	// next is the offset after the last record returned (or skipped: a control record),
	// the resume position; -1 until the start offset is known. hw is the end of what can be
	// read (high watermark, or last stable offset), -1 until known.
	next, hw atomic.Int64
}

// start makes the client, lists the partitions' offsets (see resolve), and has the client
// consume each partition from where it starts.
func (f *fetcher) start() error {
	if f.cl != nil || f.err != nil {
		return f.err
	}
	cfg := &f.src.cfg
	opts := []kgo.Opt{kgo.KeepControlRecords()} // to know a partition's position past a transaction's marker
	if !cfg.uncommitted {
		opts = append(opts, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	}
	opts = append(opts, cfg.kgo...)
	cl, err := kgo.NewClient(cfg.client.kgoOpts(opts...)...)
	if err != nil {
		f.err = fmt.Errorf("weir: kafka: client: %w", err)
		return f.err
	}
	f.cl = cl
	if err := f.resolve(); err != nil {
		f.err = err
		return err
	}
	consume := map[string]map[int32]kgo.Offset{}
	for _, p := range f.order {
		if p.done {
			continue
		}
		if p.end >= 0 && p.next.Load() >= p.end {
			continue // nothing to read: Next ends it
		}
		if consume[p.topic] == nil {
			consume[p.topic] = map[int32]kgo.Offset{}
		}
		consume[p.topic][p.num] = kgo.NewOffset().At(p.next.Load())
	}
	cl.AddConsumePartitions(consume)
	f.nextLog = time.Now().Add(cfg.lagEvery)
	return nil
}

// resolve sets each partition's start and end from its first and end offsets and, for
// StartAt, the offsets at the time, each kind listed in one request for all of f's
// partitions.
func (f *fetcher) resolve() error {
	cfg := &f.src.cfg
	adm := kadm.NewClient(f.cl)
	var topics []string
	fresh := false
	for _, p := range f.order {
		if !slices.Contains(topics, p.topic) {
			topics = append(topics, p.topic)
		}
		fresh = fresh || p.from < 0
	}
	ctx := f.ctx
	ends, err := f.list(ctx, "end", func() (kadm.ListedOffsets, error) {
		if cfg.uncommitted {
			return adm.ListEndOffsets(ctx, topics...)
		}
		return adm.ListCommittedOffsets(ctx, topics...)
	})
	if err != nil {
		return err
	}
	// The first offsets held: where StartEarliest starts, and what a position must not
	// be below.
	firsts, err := f.list(ctx, "start", func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctx, topics...) })
	if err != nil {
		return err
	}
	var times kadm.ListedOffsets
	if fresh && cfg.start == startTime {
		times, err = f.list(ctx, "timestamp", func() (kadm.ListedOffsets, error) {
			return adm.ListOffsetsAfterMilli(ctx, cfg.at.UnixMilli(), topics...)
		})
		if err != nil {
			return err
		}
	}
	log := cfg.client.logger
	for _, p := range f.order {
		first, end := firsts[p.topic][p.num].Offset, ends[p.topic][p.num].Offset
		p.hw.Store(end)
		if !cfg.tail {
			p.end = end
		}
		start := p.from
		switch {
		case p.from >= 0 && p.from < first:
			// Retention (or DeleteRecords) removed records this partition had yet to
			// read: the client would silently go on from the first one held.
			log.Warn("weir: kafka: records lost: the partition's position is below its first record", "partition", p.name, "position", p.from, "first", first)
			start = first
		case p.from > end && end >= 0:
			// The partition is shorter than where it was read to: recreated, or its
			// log truncated.
			log.Warn("weir: kafka: the partition's position is past its end", "partition", p.name, "position", p.from, "end", end)
			start = end
		case p.from >= 0:
		case cfg.start == startEarliest:
			start = first
		case cfg.start == startLatest:
			start = end
		case cfg.start == startTime:
			start = times[p.topic][p.num].Offset
			if start < 0 || start > end {
				start = end // no record at or after the timestamp
			}
		}
		p.next.Store(start)
	}
	return nil
}

// list runs one listing of offsets and checks that it has every partition of f.
func (f *fetcher) list(ctx context.Context, what string, fn func() (kadm.ListedOffsets, error)) (kadm.ListedOffsets, error) {
	lo, err := fn()
	if err == nil {
		err = lo.Error()
	}
	if err != nil {
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			err = fmt.Errorf("%w (%w)", err, ErrUnknownTopic)
		}
		return nil, fmt.Errorf("weir: kafka: worker %d: listing %s offsets: %w", f.w.id, what, err)
	}
	for _, p := range f.order {
		if _, ok := lo.Lookup(p.topic, p.num); !ok {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("weir: kafka: %s: no %s offset listed: %w", p.name, what, ErrUnknownTopic)
		}
	}
	return lo, nil
}

// backlogged reports whether a partition holds enough records already: the client is
// then left to hold what it fetched.
func (f *fetcher) backlogged() bool {
	limit := ahead * f.src.cfg.batch
	for _, p := range f.order {
		if len(p.queue)-p.qi > limit {
			return true
		}
	}
	return false
}

// poll takes every record the client has fetched, without waiting, into the queues of
// their partitions.
func (f *fetcher) poll() {
	fetches := f.cl.PollFetches(nil) // nil: what is buffered, at once
	committed := !f.src.cfg.uncommitted
	for i := range fetches {
		for j := range fetches[i].Topics {
			t := &fetches[i].Topics[j]
			for k := range t.Partitions {
				fp := &t.Partitions[k]
				p := f.parts[tp{t.Topic, fp.Partition}]
				if fp.Err != nil {
					f.fetchErr(p, t.Topic, fp.Partition, fp.Err)
				}
				if p == nil || p.done {
					continue
				}
				end := fp.HighWatermark
				if committed && fp.LastStableOffset >= 0 {
					end = fp.LastStableOffset
				}
				p.hw.Store(end)
				if len(fp.Records) > 0 {
					if p.qi == len(p.queue) {
						clear(p.queue)
						p.queue, p.qi = p.queue[:0], 0
					}
					p.queue = append(p.queue, fp.Records...)
				}
			}
		}
	}
	if f.src.cfg.lagEvery > 0 {
		if now := time.Now(); now.After(f.nextLog) {
			f.nextLog = now.Add(f.src.cfg.lagEvery)
			f.logLag()
		}
	}
}

// fetchErr fails the fetcher on an error that the client does not retry itself.
func (f *fetcher) fetchErr(p *partition, topic string, num int32, err error) {
	var loss *kgo.ErrDataLoss
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, kgo.ErrClientClosed):
		// The run is stopping: Next returns the context's error or is not called again.
	case errors.As(err, &loss):
		// The client went on from where the broker could serve: records were lost, to
		// retention or to a truncation.
		f.src.cfg.client.logger.Warn("weir: kafka: records lost", "partition", partName(topic, num), "err", err)
	case kerr.IsRetriable(err):
		f.src.cfg.client.logger.Debug("weir: kafka: fetch", "partition", partName(topic, num), "err", err)
	default:
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			err = fmt.Errorf("%w (%w)", err, ErrUnknownTopic)
		}
		if f.err == nil {
			f.err = fmt.Errorf("weir: kafka: %s: fetching: %w", partName(topic, num), err)
		}
	}
}

func (f *fetcher) logLag() {
	log := f.src.cfg.client.logger
	if !log.Enabled(f.ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{slog.String("step", f.w.step), slog.Int("worker", f.w.id)}
	for _, p := range f.order {
		if lag, ok := p.Lag(); ok && !p.done {
			attrs = append(attrs, slog.Int64(p.name, lag))
		}
	}
	log.LogAttrs(f.ctx, slog.LevelDebug, "weir: kafka: lag", attrs...)
}

// Next implements source.Partition: it returns the records of the partition that the
// client has fetched, at most a batch, without waiting for more.
func (p *partition) Next(ctx context.Context) ([]Message, error) {
	f := p.f
	if p.done {
		return nil, io.EOF
	}
	if err := f.start(); err != nil {
		return nil, err
	}
	if f.err != nil {
		return nil, f.err
	}
	next := p.next.Load()
	if p.end >= 0 && next >= p.end {
		p.finish()
		return nil, io.EOF
	}
	if p.qi == len(p.queue) && !f.backlogged() {
		f.poll()
		if f.err != nil {
			return nil, f.err
		}
	}
	old := len(p.out)
	out := p.out[:0]
	batch := f.src.cfg.batch
	for p.qi < len(p.queue) && len(out) < batch {
		r := p.queue[p.qi]
		if p.end >= 0 && r.Offset >= p.end {
			next = p.end // records come in order: none is left below the end
			break
		}
		p.qi++
		next = r.Offset + 1
		if r.Attrs.IsControl() {
			continue // a transaction's marker, not a message
		}
		out = append(out, Message{
			Key: r.Key, Value: r.Value, Topic: r.Topic, Partition: r.Partition,
			Offset: r.Offset, Timestamp: r.Timestamp, Headers: r.Headers,
		})
	}
	if len(out) < old {
		clear(p.out[len(out):old]) // what the last batch held beyond this one's end
	}
	p.out = out
	p.next.Store(next)
	if p.end >= 0 && next >= p.end {
		p.finish()
		return out, io.EOF
	}
	if len(out) == 0 && p.qi == len(p.queue) {
		p.idle = min(max(2*p.idle, minPollWait), f.src.cfg.maxWait)
		p.wake = time.Now().Add(p.idle)
		return nil, nil
	}
	p.idle, p.wake = 0, time.Time{}
	return out, nil
}

// NextAwake implements source.Awaker: at once after a batch, and after an empty one in
// a wait that doubles, from 100µs up to MaxPollWait, while the partition finds nothing.
func (p *partition) NextAwake() time.Time { return p.wake }

// Snapshot implements source.Partition: the offset of the next record to read. A fresh
// partition's first snapshot lists its start offset if no Next did, so that a resumed run
// starts where this one did, not at a later end (StartLatest) or timestamp.
func (p *partition) Snapshot() []byte {
	if p.f.cl == nil && p.from < 0 {
		if p.f.start() != nil {
			return nil // Next returns the error
		}
	}
	next := p.next.Load()
	if next < 0 {
		return nil
	}
	return readPos(next)
}

// Lag implements source.Lagger: how many records the partition is behind the end of
// what it can read (the high watermark, or with read_committed the last stable offset)
// as of the client's last fetch of it; after a bounded partition ended, 0.
func (p *partition) Lag() (int64, bool) {
	hw, next := p.hw.Load(), p.next.Load()
	if hw < 0 || next < 0 {
		return 0, false
	}
	return max(hw-next, 0), true
}

// finish stops consuming the partition.
func (p *partition) finish() {
	if p.done {
		return
	}
	p.done = true
	if p.end >= 0 && p.next.Load() >= p.end {
		p.hw.Store(p.next.Load()) // what the partition was to read is read: no lag
	}
	if p.f.cl != nil {
		p.f.cl.RemoveConsumePartitions(map[string][]int32{p.topic: {p.num}})
	}
	clear(p.queue)
	p.queue, p.qi = nil, 0
}

// Close implements source.Partition; the last partition of a client to close closes it.
func (p *partition) Close() error {
	if p.closed {
		return nil
	}
	p.closed = true
	f := p.f
	f.live--
	if f.live > 0 {
		p.finish()
		return nil
	}
	p.done = true
	if f.cl != nil {
		f.cl.Close()
	}
	f.src.closed(f)
	return nil
}
