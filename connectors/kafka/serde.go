package kafka

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync/atomic"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/op"
)

// Serde turns the bytes of a record's value (or key) into a T and back. Implementations
// must be safe for use by several workers at once: one Serde serves every worker of a
// step.
type Serde[T any] interface {
	// Decode decodes b into *dst, which holds T's zero value. b belongs to the record:
	// a Serde may keep it (Bytes does) but must not modify it.
	Decode(b []byte, dst *T) error
	// AppendEncode appends the encoding of v to b and returns the extended slice.
	AppendEncode(b []byte, v T) ([]byte, error)
}

// Bytes is the Serde of raw bytes. Decode hands on the record's own bytes, without a
// copy (see Message for how long they stay valid); AppendEncode copies them.
func Bytes() Serde[[]byte] { return bytesSerde{} }

type bytesSerde struct{}

func (bytesSerde) Decode(b []byte, dst *[]byte) error { *dst = b; return nil }

func (bytesSerde) AppendEncode(b []byte, v []byte) ([]byte, error) { return append(b, v...), nil }

// String is the Serde of text: the bytes as they are, in a string. It never fails, even
// on bytes that are not UTF-8.
func String() Serde[string] { return stringSerde{} }

type stringSerde struct{}

func (stringSerde) Decode(b []byte, dst *string) error { *dst = string(b); return nil }

func (stringSerde) AppendEncode(b []byte, v string) ([]byte, error) { return append(b, v...), nil }

// JSON is the Serde of T as JSON, through encoding/json: struct tags, custom
// (un)marshalers and its rules for unknown fields apply. A record whose value is not
// JSON, or is JSON of another shape than T (a string for a number, say), does not
// decode; an empty value (a tombstone of a compacted topic) does not either.
func JSON[T any]() Serde[T] { return jsonSerde[T]{} }

type jsonSerde[T any] struct{}

func (jsonSerde[T]) Decode(b []byte, dst *T) error { return json.Unmarshal(b, dst) }

func (jsonSerde[T]) AppendEncode(b []byte, v T) ([]byte, error) {
	// Marshal of a pointer: v is not copied into an interface of its own.
	enc, err := json.Marshal(&v)
	if err != nil {
		return b, err
	}
	return append(b, enc...), nil
}

// DeadLetter is a record that a Decode step could not decode: the record as it was read,
// where it was read (its Topic, Partition and Offset), the step that refused it and why.
// Its fields are all plain data, so a dead-letter stream may cross to another process
// and be written anywhere; Forward makes it a record for a dead-letter topic.
type DeadLetter struct {
	Message        // the record, with its coordinates; Key and Value are the record's own
	Step    string // the full id of the Decode step, "flow.step"
	Err     string // the decoding error's message
}

// String formats d as "step: topic/partition@offset: error".
func (d DeadLetter) String() string {
	return fmt.Sprintf("%s: %s/%d@%d: %s", d.Step, d.Topic, d.Partition, d.Offset, d.Err)
}

// The headers Forward adds to a dead letter, saying where the record came from and why it
// was refused, so that a record on a dead-letter topic can be inspected and replayed.
const (
	HeaderDeadLetterStep      = "weir.dead_letter.step"
	HeaderDeadLetterError     = "weir.dead_letter.error"
	HeaderDeadLetterTopic     = "weir.dead_letter.topic"
	HeaderDeadLetterPartition = "weir.dead_letter.partition"
	HeaderDeadLetterOffset    = "weir.dead_letter.offset"
)

// Forward returns the record to produce to a dead-letter topic: the original key, value,
// timestamp and headers, followed by the HeaderDeadLetter headers, to topic (an empty
// topic leaves the choice to the sink).
func (d DeadLetter) Forward(topic string) Message {
	hs := make([]Header, 0, len(d.Headers)+5)
	hs = append(hs, d.Headers...) // a new slice: the record's own headers stay as they are
	hs = append(hs,
		Header{Key: HeaderDeadLetterStep, Value: []byte(d.Step)},
		Header{Key: HeaderDeadLetterError, Value: []byte(d.Err)},
		Header{Key: HeaderDeadLetterTopic, Value: []byte(d.Topic)},
		Header{Key: HeaderDeadLetterPartition, Value: strconv.AppendInt(nil, int64(d.Partition), 10)},
		Header{Key: HeaderDeadLetterOffset, Value: strconv.AppendInt(nil, d.Offset, 10)},
	)
	return Message{
		Key:       d.Key,
		Value:     d.Value,
		Topic:     topic,
		Partition: -1,
		Offset:    -1,
		Timestamp: d.Timestamp,
		Headers:   hs,
	}
}

// DecodeError is the error of a run stopped by a record that did not decode, under
// StopOnError, or by a schema registry that could not be asked (a *RegistryError): it
// names the Decode step and the record. The run's error wraps it; errors.As finds it.
type DecodeError struct {
	Step      string
	Topic     string
	Partition int32
	Offset    int64
	Err       error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("weir: kafka: step %s: record %s/%d@%d does not decode: %v", e.Step, e.Topic, e.Partition, e.Offset, e.Err)
}

// Unwrap returns the cause, the Serde's error.
func (e *DecodeError) Unwrap() error { return e.Err }

// EncodeError is the error of a run stopped by an item that did not encode: it names the
// Encode step. The run's error wraps it; errors.As finds it.
type EncodeError struct {
	Step string
	Err  error
}

func (e *EncodeError) Error() string {
	return fmt.Sprintf("weir: kafka: step %s: item does not encode: %v", e.Step, e.Err)
}

// Unwrap returns the cause, the Serde's error.
func (e *EncodeError) Unwrap() error { return e.Err }

// DecodeOption is a setting of Decode and DecodeKV.
type DecodeOption func(*decodeConfig)

type decodeConfig struct {
	stop bool
	key  Serde[string]
}

// StopOnError makes a record that does not decode stop the run, with a *DecodeError
// naming the step and the record's topic, partition and offset, instead of going to the
// dead-letter stream (which then stays empty). By default bad records go to the
// dead-letter stream and the run goes on.
func StopOnError() DecodeOption { return func(c *decodeConfig) { c.stop = true } }

// KeySerde makes DecodeKV decode each record's key with s (a key written through a schema
// registry, for example); a key that does not decode makes its record a dead letter. By
// default the key is the record's key bytes as they are, as String decodes them; a
// record without a key has the empty key.
func KeySerde(s Serde[string]) DecodeOption { return func(c *decodeConfig) { c.key = s } }

// Decode decodes the value of each record with value into a stream of T, and returns,
// beside it, the records that did not decode: the dead-letter stream, to write somewhere
// (a dead-letter topic, through DeadLetter.Forward) for inspection or replay. A record
// that does not decode is never dropped: it is in one stream or the other, unless
// StopOnError stops the run on it. Both streams keep the order of the records.
//
// A schema registry that cannot be asked about a record's schema stops the run (a
// *DecodeError wrapping a *RegistryError), whatever the options: the record is not at
// fault, and a run resumed once the registry is back decodes it.
//
// Its inner steps are "decode" (which decodes each record once: a panic or a stop names
// "flow.id.decode"), "ok" and "dead_letters".
func Decode[T any](id string, msgs weir.Stream[Message], value Serde[T], opts ...DecodeOption) (weir.Stream[T], weir.Stream[DeadLetter]) {
	cfg := decodeConfigOf(opts)
	return decodeStep(id, msgs, cfg, func(m *Message, dst *T) error {
		return value.Decode(m.Value, dst)
	})
}

// DecodeKV is Decode into keyed items: the record's key becomes the item's key (the key
// that a stateful step groups by, so that a keyed aggregation follows directly) and its
// value is decoded with value. KeySerde decodes the key too.
func DecodeKV[T any](id string, msgs weir.Stream[Message], value Serde[T], opts ...DecodeOption) (weir.KeyedStream[T], weir.Stream[DeadLetter]) {
	cfg := decodeConfigOf(opts)
	key := cfg.key
	return decodeStep(id, msgs, cfg, func(m *Message, dst *weir.KV[T]) error {
		if key == nil {
			dst.Key = string(m.Key)
		} else if err := key.Decode(m.Key, &dst.Key); err != nil {
			return fmt.Errorf("key: %w", err)
		}
		return value.Decode(m.Value, &dst.Value)
	})
}

func decodeConfigOf(opts []DecodeOption) decodeConfig {
	var cfg decodeConfig
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// decoded is a record as the decode step leaves it: its item, or why it has none.
type decoded[Y any] struct {
	item Y
	dead *DeadLetter // rare: a pointer, so that a good record carries none
}

// decodeStep declares the composite step id that decodes each record with decode, in
// three steps as op.TryMap: "decode" decodes each record once, straight into its slot of
// a buffer the worker reuses batch after batch (a record that decodes costs the codec's
// own work and nothing more), and "ok" and "dead_letters" split its results.
func decodeStep[Y any](id string, msgs weir.Stream[Message], cfg decodeConfig, decode func(m *Message, dst *Y) error) (weir.Stream[Y], weir.Stream[DeadLetter]) {
	sc := msgs.Scope()
	if sc == nil {
		return weir.Stream[Y]{}, weir.Stream[DeadLetter]{} // the zero Stream, as op.TryMap
	}
	inner := sc.Nest(id)
	step := inner.Path()
	tried := perWorker("decode", weir.In(inner, msgs), func() func([]Message) []decoded[Y] {
		var buf []decoded[Y]
		return func(ms []Message) []decoded[Y] {
			buf = slices.Grow(buf[:0], len(ms))[:len(ms)]
			// Zeroed, not decoded over: encoding/json would fill the last batch's maps and
			// slices, which the items kept downstream still share.
			clear(buf)
			for i := range ms {
				m := &ms[i]
				err := decode(m, &buf[i].item)
				if err == nil {
					continue
				}
				if cfg.stop || isRegistryError(err) {
					// The engine wraps the panic with the step's id; errors.As reaches the
					// DecodeError through it.
					panic(&DecodeError{Step: step, Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Err: err})
				}
				buf[i].dead = &DeadLetter{Message: *m, Step: step, Err: err.Error()}
			}
			return buf
		}
	})
	ok := perWorker("ok", tried, func() func([]decoded[Y]) []Y {
		var buf []Y
		return func(ds []decoded[Y]) []Y {
			buf = slices.Grow(buf[:0], len(ds))
			for i := range ds {
				if ds[i].dead == nil {
					buf = append(buf, ds[i].item)
				}
			}
			return buf
		}
	})
	dead := perWorker("dead_letters", tried, func() func([]decoded[Y]) []DeadLetter {
		var buf []DeadLetter
		return func(ds []decoded[Y]) []DeadLetter {
			buf = buf[:0]
			for i := range ds {
				if ds[i].dead != nil {
					buf = append(buf, *ds[i].dead)
				}
			}
			return buf
		}
	})
	return weir.In(sc, ok), weir.In(sc, dead)
}

// perWorker declares a FlatMapBatch step whose function newFn makes once per worker, as
// op's own composites do, so that the function may reuse its output buffer: a batch is
// only borrowed by the steps after it, which copy what they keep before the worker maps
// its next batch. (op.FlatMapBatch shares one function between the workers.)
func perWorker[X, Y any](id string, up weir.Stream[X], newFn func() func([]X) []Y) weir.Stream[Y] {
	spec := &graph.FlatMapSpec{New: func() func(any) any {
		fn := newFn()
		return func(b any) any {
			if out := fn(b.([]X)); len(out) > 0 {
				return out
			}
			return nil
		}
	}}
	st := graph.Declare(id, up)
	return graph.Out[weir.Stream[Y]](st, st.Add(graph.FlatMapBatch, 1, batch.NewOps[X](), spec), 0)
}

// EncodeOption is a setting of Encode and EncodeKV.
type EncodeOption func(*encodeConfig)

type encodeConfig struct {
	topic string
	key   Serde[string]
}

// ToTopic sets the topic of every record Encode makes. By default it is empty: the sink
// writes the record to its own topic.
func ToTopic(topic string) EncodeOption { return func(c *encodeConfig) { c.topic = topic } }

// EncodeKeyWith makes EncodeKV encode each item's key with s. By default a record's key is
// the item's key as it is.
func EncodeKeyWith(s Serde[string]) EncodeOption { return func(c *encodeConfig) { c.key = s } }

// Encode encodes each item with value into the value of a record to produce, without a
// key. An item that does not encode stops the run with an *EncodeError naming the step:
// it is the program's data that is wrong, not a record from outside; use op.TryMap with
// the Serde's AppendEncode to keep such items in a stream of their own instead.
//
// The records' bytes are written into one buffer per batch, which the records then
// share: a sink may keep them for as long as it needs (until they are produced), and the
// next batch gets a buffer of its own.
//
// Its inner step is "encode".
func Encode[T any](id string, items weir.Stream[T], value Serde[T], opts ...EncodeOption) weir.Stream[Message] {
	cfg := encodeConfigOf(opts)
	return encodeStep(id, items, cfg, func(arena []byte, v *T, m *Message) ([]byte, error) {
		start := len(arena)
		arena, err := value.AppendEncode(arena, *v)
		if err != nil {
			return arena[:start], err
		}
		m.Value = arena[start:len(arena):len(arena)]
		return arena, nil
	})
}

// EncodeKV is Encode for keyed items: the item's key becomes the record's key (encoded
// with EncodeKeyWith's Serde if given), its value the record's value. Its Messages are a
// stream that is not keyed, which a Sink writes through one of its producers; to write
// keyed items through all of them, spread by key, give the Serde to NewKVSink instead.
func EncodeKV[T any](id string, items weir.KeyedStream[T], value Serde[T], opts ...EncodeOption) weir.Stream[Message] {
	cfg := encodeConfigOf(opts)
	key := cfg.key
	return encodeStep(id, items, cfg, func(arena []byte, kv *weir.KV[T], m *Message) ([]byte, error) {
		start := len(arena)
		var err error
		if key == nil {
			arena = append(arena, kv.Key...)
		} else if arena, err = key.AppendEncode(arena, kv.Key); err != nil {
			return arena[:start], fmt.Errorf("key %q: %w", kv.Key, err)
		}
		mid := len(arena)
		if arena, err = value.AppendEncode(arena, kv.Value); err != nil {
			return arena[:start], fmt.Errorf("key %q: %w", kv.Key, err)
		}
		m.Key = arena[start:mid:mid]
		m.Value = arena[mid:len(arena):len(arena)]
		return arena, nil
	})
}

func encodeConfigOf(opts []EncodeOption) encodeConfig {
	var cfg encodeConfig
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// encodeStep declares the composite step id that makes a record of each item with
// encode, which appends the record's bytes to a batch's buffer.
func encodeStep[X any](id string, items weir.Stream[X], cfg encodeConfig, encode func(arena []byte, x *X, m *Message) ([]byte, error)) weir.Stream[Message] {
	// perItem is a running estimate of the bytes an item takes, so that a batch's buffer
	// is mostly allocated once; workers share it, and a stale value only costs a growth.
	var perItem atomic.Int64
	perItem.Store(64)
	return weir.Composite(id, items, func(in weir.Stream[X]) weir.Stream[Message] {
		step := in.Scope().Path()
		return op.FlatMapBatch("encode", in, func(xs []X) []Message {
			// Fresh per batch: the sink may hold the records after Write returns.
			out := make([]Message, len(xs))
			arena := make([]byte, 0, int64(len(xs))*perItem.Load())
			var err error
			for i := range xs {
				m := &out[i]
				m.Topic, m.Partition, m.Offset = cfg.topic, -1, -1
				if arena, err = encode(arena, &xs[i], m); err != nil {
					panic(&EncodeError{Step: step, Err: err})
				}
			}
			if len(xs) > 0 {
				perItem.Store(int64(len(arena)/len(xs)) + 1)
			}
			return out
		})
	})
}
