package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/sink"
)

// SinkOption is a setting of a Sink: one of the client's Options (brokers' security,
// franz-go settings), or one of the sink's own (SinkTopic, SinkPartitions, ExactlyOnce).
type SinkOption interface{ applySink(*sinkConfig) }

type sinkOpt func(*sinkConfig)

func (o sinkOpt) applySink(c *sinkConfig) { o(c) }
func (o Option) applySink(c *sinkConfig)  { o(&c.client) }

type sinkConfig struct {
	client clientConfig
	topic  string     // "" : every item names its own
	parts  int        // weir partitions; 0: the default (see SinkPartitions)
	txn    *txnConfig // nil: at-least-once
}

// SinkTopic sets the topic every item is written to. A Message whose Topic is set goes
// to that topic instead. By default there is none: every Message must name its topic,
// and a sink of weir.KV items needs SinkTopic.
func SinkTopic(topic string) SinkOption { return sinkOpt(func(c *sinkConfig) { c.topic = topic }) }

// SinkPartitions sets the number of the sink's weir partitions, each one producer
// written by one worker. The default is the partition count of the SinkTopic when there
// is one (read from the brokers when the run starts), and 1 otherwise.
//
// The weir partitions are units of parallelism, not Kafka partitions: each producer
// writes every Kafka partition, choosing one per record as any Kafka client does (a
// record's key hashed with murmur2, as the Java client does, so that a key lands where
// other producers and Kafka Streams put it; records without a key are spread in sticky
// batches). A keyed stream (weir.KV) is spread over the weir partitions by key, so all
// the records of a key go through one producer, in order; a stream that is not keyed
// goes to one of them, whatever n is. Key the stream (op.KeyOn, NewKVSink) to spread it.
//
// n may grow between runs of one recovery directory but not shrink: a resumed run whose
// sink lists fewer partitions than the directory holds positions of is refused, so that
// no transaction of a vanished partition is left unfinished. Values below 1 mean the
// default.
func SinkPartitions(n int) SinkOption { return sinkOpt(func(c *sinkConfig) { c.parts = max(n, 0) }) }

// Sink writes a stream to Kafka; see NewSink and NewKVSink.
type Sink[T any] struct {
	cfg sinkConfig
	// fill turns items into records, appending the bytes it encodes to arena (which
	// outlives the records), and returns the arena.
	fill func(arena []byte, r *kgo.Record, item *T) ([]byte, error)
}

// NewSink returns a partitioned sink that writes each Message to Kafka: its Key, Value,
// Headers and Timestamp (zero: the producer's time) to its Topic, or the SinkTopic when
// the Message names none. Its Partition and Offset are ignored: the producer picks the
// partition from the key (see SinkPartitions).
//
// Output is at-least-once by default: records are produced asynchronously, and each
// epoch close (Prepare in a run with a recovery store, Flush without one) waits until
// every record written so far is acknowledged by the brokers, so that an epoch is
// committed in the store only once its output is in Kafka. A resumed run writes again
// what was written after the last committed epoch. ExactlyOnce writes each epoch in a
// transaction instead.
//
// A record the brokers refuse (a missing topic, a record too large) fails the run with a
// *ProduceError naming the topic and partition, at the next Write or at the epoch's
// close at the latest, before that epoch is committed: the run can be resumed from the
// last committed epoch once the cause is fixed. franz-go retries what may succeed later
// (a leader moving, a broker restarting) without end unless told otherwise
// (kgo.RecordDeliveryTimeout through ClientOpts).
//
// The bytes of a Message (Key, Value, header values) are handed to the producer without
// a copy: a step must not change them after passing the Message on.
func NewSink(brokers []string, opts ...SinkOption) *Sink[Message] {
	s := &Sink[Message]{cfg: newSinkConfig(brokers, opts)}
	s.fill = func(arena []byte, r *kgo.Record, m *Message) ([]byte, error) {
		r.Topic, r.Key, r.Value, r.Headers, r.Timestamp = m.Topic, m.Key, m.Value, m.Headers, m.Timestamp
		return arena, nil
	}
	return s
}

// ValueEncoder encodes a value into a record's bytes, appending them to dst. Every Serde
// of this package is one (Bytes, String, JSON, the schema registry's).
type ValueEncoder[V any] interface {
	AppendEncode(dst []byte, v V) ([]byte, error)
}

// NewKVSink returns a partitioned sink that writes each item of a keyed stream to the
// SinkTopic (required): the weir key is the record's key, and value encodes the value.
// It is NewSink otherwise, with the same guarantees and options; the stream is spread
// over the sink's partitions by key. An item whose value fails to encode fails the run
// with an error naming the key.
func NewKVSink[V any](brokers []string, value ValueEncoder[V], opts ...SinkOption) *Sink[weir.KV[V]] {
	s := &Sink[weir.KV[V]]{cfg: newSinkConfig(brokers, opts)}
	s.fill = func(arena []byte, r *kgo.Record, kv *weir.KV[V]) ([]byte, error) {
		start := len(arena)
		arena = append(arena, kv.Key...)
		k := len(arena)
		arena, err := value.AppendEncode(arena, kv.Value)
		if err != nil {
			return arena[:start], fmt.Errorf("encoding the value of key %q: %w", kv.Key, err)
		}
		// Capacity clipped: a later append to the arena must not write into the value.
		r.Key, r.Value = arena[start:k:k], arena[k:len(arena):len(arena)]
		return arena, nil
	}
	return s
}

func newSinkConfig(brokers []string, opts []SinkOption) sinkConfig {
	c := sinkConfig{client: newClientConfig(brokers)}
	for _, o := range opts {
		o.applySink(&c)
	}
	return c
}

// Partitions implements sink.Partitioned: the partitions are named "0" to "n-1", unpadded
// so that their names stay the same when n grows.
func (s *Sink[T]) Partitions(ctx context.Context) ([]string, error) {
	n := s.cfg.parts
	if n == 0 && s.cfg.topic != "" {
		var err error
		if n, err = topicPartitions(ctx, &s.cfg.client, s.cfg.topic); err != nil {
			return nil, err
		}
	}
	names := make([]string, max(n, 1))
	for i := range names {
		names[i] = strconv.Itoa(i)
	}
	return names, nil
}

// topicPartitions asks the brokers for topic's partition count.
func topicPartitions(ctx context.Context, cc *clientConfig, topic string) (int, error) {
	cl, err := kgo.NewClient(cc.kgoOpts()...)
	if err != nil {
		return 0, fmt.Errorf("weir: kafka: sink: %w", err)
	}
	defer cl.Close()
	req := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr(topic)
	req.Topics = append(req.Topics, t)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		return 0, fmt.Errorf("weir: kafka: sink: topic %q: metadata: %w", topic, err)
	}
	for _, rt := range resp.Topics {
		if rt.Topic == nil || *rt.Topic != topic {
			continue
		}
		if err := kerr.ErrorForCode(rt.ErrorCode); err != nil {
			return 0, fmt.Errorf("weir: kafka: sink: topic %q: %w", topic, err)
		}
		return len(rt.Partitions), nil
	}
	return 0, fmt.Errorf("weir: kafka: sink: topic %q: %w", topic, kerr.UnknownTopicOrPartition)
}

// Build implements sink.Sink.
func (s *Sink[T]) Build(ctx context.Context, part sink.Part, resume []byte) (sink.Partition[T], error) {
	if _, err := strconv.ParseUint(part.Partition, 10, 31); err != nil {
		return nil, fmt.Errorf("weir: kafka: sink: %s: unknown partition %q", part.Step, part.Partition)
	}
	snap, err := decodeSinkSnapshot(resume)
	if err != nil {
		return nil, fmt.Errorf("weir: kafka: sink: %s: partition %s: %w", part.Step, part.Partition, err)
	}
	if s.cfg.txn != nil {
		return s.buildTxn(ctx, part, snap)
	}
	if len(snap.pending) > 0 || snap.slots > 0 {
		// The last run was exactly-once: what it prepared must be finished, and what it
		// left open aborted, before this run writes at least once.
		tc := defaultTxnConfig()
		if err := recoverTxns(ctx, &s.cfg.client, &tc, part, snap, nil); err != nil {
			return nil, err
		}
	}
	opts := s.cfg.client.kgoOpts(s.produceOpts()...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("weir: kafka: sink: %w", err)
	}
	return &aloPart[T]{sink: s, prod: newProducer(cl)}, nil
}

// produceOpts are the franz-go settings of every producer of the sink.
func (s *Sink[T]) produceOpts() []kgo.Opt {
	var opts []kgo.Opt
	if s.cfg.topic != "" {
		opts = append(opts, kgo.DefaultProduceTopic(s.cfg.topic))
	}
	return opts
}

// write turns items into records and produces them, all in one slab and one arena: one
// allocation or two per batch rather than one per record. The records are the
// producer's until acknowledged; the slab lives as long as any of them is referenced.
func (s *Sink[T]) write(prod *producer, items []T) (int, error) {
	if err := prod.failed(); err != nil {
		return 0, err
	}
	recs := make([]kgo.Record, len(items))
	var arena []byte
	var err error
	for i := range items {
		r := &recs[i]
		if arena, err = s.fill(arena, r, &items[i]); err != nil {
			return i, fmt.Errorf("weir: kafka: sink: %w", err)
		}
		if r.Topic == "" && s.cfg.topic == "" {
			return i, fmt.Errorf("weir: kafka: sink: %w", ErrNoTopic)
		}
		r.Partition = -1 // until the producer picks one: a record that fails before says so
		prod.cl.Produce(context.Background(), r, prod.promise)
	}
	return len(items), nil
}

// ErrNoTopic is the error of a Message without a Topic written by a sink without a
// SinkTopic.
var ErrNoTopic = errors.New("a message has no topic, and the sink has no SinkTopic")

// ProduceError is the error of a record the brokers refused or the producer gave up on:
// the first of an epoch, which fails the run before the epoch is committed.
type ProduceError struct {
	Topic     string
	Partition int32 // -1: the record failed before it was given a partition
	Err       error
}

func (e *ProduceError) Error() string {
	if e.Partition < 0 {
		return fmt.Sprintf("weir: kafka: sink: producing to topic %q: %v", e.Topic, e.Err)
	}
	return fmt.Sprintf("weir: kafka: sink: producing to topic %q partition %d: %v", e.Topic, e.Partition, e.Err)
}

func (e *ProduceError) Unwrap() error { return e.Err }

// producer is one franz-go client and the first error of the records it produced.
type producer struct {
	cl      *kgo.Client
	promise func(*kgo.Record, error) // one func value for every record: no closure each
	bad     atomic.Bool
	mu      sync.Mutex
	err     error
}

func newProducer(cl *kgo.Client) *producer {
	p := &producer{cl: cl}
	p.promise = p.done
	return p
}

func (p *producer) done(r *kgo.Record, err error) {
	if err == nil {
		return
	}
	p.mu.Lock()
	if p.err == nil {
		p.err = &ProduceError{Topic: r.Topic, Partition: r.Partition, Err: err}
		p.bad.Store(true)
	}
	p.mu.Unlock()
}

// failed returns the first record's error, if any.
func (p *producer) failed() error {
	if !p.bad.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// flush waits until every record produced so far is acknowledged or failed, and returns
// the first failure.
func (p *producer) flush() error {
	if err := p.cl.Flush(context.Background()); err != nil {
		return fmt.Errorf("weir: kafka: sink: flushing: %w", err)
	}
	return p.failed()
}

// aloPart is a partition of an at-least-once sink: one producer.
type aloPart[T any] struct {
	sink *Sink[T]
	prod *producer
}

var (
	_ sink.Flusher   = (*aloPart[Message])(nil)
	_ sink.Committer = (*aloPart[Message])(nil)
)

func (p *aloPart[T]) Write(items []T) error {
	_, err := p.sink.write(p.prod, items)
	return err
}

// Flush implements sink.Flusher, at each epoch close of a run without a recovery store.
func (p *aloPart[T]) Flush() error { return p.prod.flush() }

// Prepare, at each epoch close of a run with a recovery store, waits until the epoch's
// records are acknowledged. A refused record's *ProduceError fails the run before the
// epoch is committed: the run resumes from the epoch before, and writes the refused
// epoch again. At-least-once output has no second phase (Commit does nothing): being a
// sink.Committer only lets the first return an error.
func (p *aloPart[T]) Prepare(uint64) ([]byte, error) {
	if err := p.prod.flush(); err != nil {
		return nil, err
	}
	return sinkSnapshot{}.encode(), nil
}

// Commit implements sink.Committer: the records are visible since their epoch's close.
func (p *aloPart[T]) Commit(uint64) error { return nil }

// Snapshot is Prepare for an engine that calls it instead; a refused record panics
// with its *ProduceError, which fails the run as well.
func (p *aloPart[T]) Snapshot() []byte {
	b, err := p.Prepare(0)
	if err != nil {
		panic(err)
	}
	return b
}

// Close waits for the records written so far, and closes the producer.
func (p *aloPart[T]) Close() error {
	err := p.prod.flush()
	p.prod.cl.Close()
	return err
}
