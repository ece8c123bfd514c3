package kafka

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// DefaultRegistryTimeout is how long a Registry waits for one answer of the schema
// registry unless RegistryTimeout says otherwise.
const DefaultRegistryTimeout = 10 * time.Second

// Registry is a schema registry, through franz-go's client (sr.NewClient, which takes
// the registry's URLs, authentication and TLS), with the schemas it has been asked for.
// A schema id names one schema forever, so each id is asked for once per Registry, when a
// record first names it. An id the registry does not know is remembered as unknown for a
// while (RetryUnknownAfter), so that a stream of records naming it does not ask for it
// once per record, but not for ever: a registry's follower may answer for a schema that
// its leader has just registered only a moment later.
// The Avro and Protobuf Serdes of one registry should share one Registry. It is safe for
// use by several workers at once.
type Registry struct {
	cl      *sr.Client
	timeout time.Duration
	retry   time.Duration                     // how long an unknown id stays unknown
	mu      sync.Mutex                        // held while asking the registry, so an id is asked for once
	ids     atomic.Pointer[map[int]*schemaOf] // copied on write: read without a lock per record
	header  sr.ConfluentHeader
}

// schemaOf is what a Registry knows of a schema id.
type schemaOf struct {
	typ  sr.SchemaType
	avro avro.Schema // the parsed schema, for an Avro schema
	err  error       // the id is unknown, or its schema cannot be used: the record's fault
	// until is when an unknown id is to be asked for again; zero for a schema the
	// registry has, which an id names for ever.
	until time.Time
}

// DefaultRetryUnknownAfter is how long a Registry takes a schema id the registry did not
// know for unknown, unless RetryUnknownAfter says otherwise.
const DefaultRetryUnknownAfter = time.Minute

// RetryUnknownAfter sets how long a schema id that the registry did not know is taken for
// unknown (its records are dead letters) before the registry is asked again, overriding
// DefaultRetryUnknownAfter. A duration of 0 or less asks again for every such record.
func RetryUnknownAfter(d time.Duration) RegistryOption {
	return func(r *Registry) { r.retry = d }
}

// RegistryOption is a setting of NewRegistry.
type RegistryOption func(*Registry)

// RegistryTimeout sets how long the Registry waits for one answer of the registry,
// overriding DefaultRegistryTimeout.
func RegistryTimeout(d time.Duration) RegistryOption {
	return func(r *Registry) { r.timeout = d }
}

// NewRegistry returns a Registry that asks the schema registry behind cl.
func NewRegistry(cl *sr.Client, opts ...RegistryOption) *Registry {
	r := &Registry{cl: cl, timeout: DefaultRegistryTimeout, retry: DefaultRetryUnknownAfter}
	for _, o := range opts {
		o(r)
	}
	r.ids.Store(&map[int]*schemaOf{})
	return r
}

// ErrWireFormat is the cause of a record's decoding error when its value (or key) does not
// start with the schema registry's header: a zero magic byte and a 4-byte schema id
// (followed by message indexes for Protobuf).
var ErrWireFormat = errors.New("weir: kafka: not in the schema registry's wire format")

// ErrUnknownSchema is the cause of a record's decoding error when the registry does not
// know the schema id the record names, or knows it as a schema of another format.
var ErrUnknownSchema = errors.New("weir: kafka: unknown schema")

// RegistryError is an error in asking the schema registry (it cannot be reached, or
// answers with an error other than "not found"). A Decode step stops the run on it
// rather than calling the record bad; a Serde's constructor returns it.
type RegistryError struct {
	ID      int    // the schema id asked for, or 0
	Subject string // the subject a schema was registered under, or ""
	Err     error
}

func (e *RegistryError) Error() string {
	if e.Subject != "" {
		return fmt.Sprintf("weir: kafka: schema registry: registering under subject %q: %v", e.Subject, e.Err)
	}
	return fmt.Sprintf("weir: kafka: schema registry: schema id %d: %v", e.ID, e.Err)
}

// Unwrap returns the client's error.
func (e *RegistryError) Unwrap() error { return e.Err }

func isRegistryError(err error) bool {
	var re *RegistryError
	return errors.As(err, &re)
}

// schemaOfType returns the schema id names, or an error wrapping ErrUnknownSchema when the
// registry does not know id or knows it as a schema of another type than typ (named name).
func (r *Registry) schemaOfType(id int, typ sr.SchemaType, name string) (*schemaOf, error) {
	sch, err := r.schema(id)
	if err != nil {
		return nil, err
	}
	if sch.err != nil {
		return nil, sch.err
	}
	if sch.typ != typ {
		return nil, fmt.Errorf("%w: schema id %d is %v, not %s", ErrUnknownSchema, id, sch.typ, name)
	}
	return sch, nil
}

// schema returns what the registry says of id, asking it the first time. The error is a
// *RegistryError when the registry could not answer; an unknown id is not an error here
// but a schemaOf with err set, remembered for a while.
func (r *Registry) schema(id int) (*schemaOf, error) {
	if s := (*r.ids.Load())[id]; s.current() {
		return s, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := *r.ids.Load()
	if s := ids[id]; s.current() {
		return s, nil // another worker asked while this one waited
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	defer cancel()
	got, err := r.cl.SchemaByID(ctx, id)
	var s *schemaOf
	switch {
	case err == nil:
		s = parseSchema(id, got)
	case isNotFound(err):
		s = &schemaOf{err: fmt.Errorf("%w: the registry has no schema id %d", ErrUnknownSchema, id)}
		s.until = time.Now().Add(r.retry)
	default:
		return nil, &RegistryError{ID: id, Err: err}
	}
	r.remember(ids, id, s)
	return s, nil
}

// current reports whether s is an answer that need not be asked for again.
func (s *schemaOf) current() bool {
	return s != nil && (s.until.IsZero() || time.Now().Before(s.until))
}

// remember adds id to a copy of ids and publishes it; r.mu is held.
func (r *Registry) remember(ids map[int]*schemaOf, id int, s *schemaOf) {
	next := make(map[int]*schemaOf, len(ids)+1)
	for k, v := range ids {
		next[k] = v
	}
	next[id] = s
	r.ids.Store(&next)
}

func isNotFound(err error) bool {
	var re *sr.ResponseError
	return errors.As(err, &re) && re.ErrorCode == sr.ErrSchemaNotFound.Code
}

func parseSchema(id int, got sr.Schema) *schemaOf {
	s := &schemaOf{typ: got.Type}
	if got.Type == sr.TypeAvro && len(got.References) > 0 {
		// Resolving references would mean asking for each referenced subject's version
		// and parsing them together; weir does not do it yet. (A Protobuf schema's text is
		// not read at all: its imports do not matter.)
		s.err = fmt.Errorf("%w: Avro schema id %d has references, which weir does not resolve", ErrUnknownSchema, id)
		return s
	}
	if got.Type == sr.TypeAvro {
		// A cache of its own: named types of one schema must not meet another's.
		parsed, err := avro.ParseWithCache(got.Schema, "", &avro.SchemaCache{})
		if err != nil {
			s.err = fmt.Errorf("%w: schema id %d is not valid Avro: %v", ErrUnknownSchema, id, err)
		}
		s.avro = parsed
	}
	return s
}

// register registers schema under subject, or finds its id if it is there already, and
// remembers it under that id.
func (r *Registry) register(ctx context.Context, subject string, schema sr.Schema) (int, error) {
	if r.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.timeout)
		defer cancel()
	}
	id, err := r.cl.RegisterSchema(ctx, subject, schema, -1, -1)
	if err != nil {
		return 0, &RegistryError{Subject: subject, Err: err}
	}
	s := parseSchema(id, schema)
	if s.err != nil {
		return 0, s.err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if ids := *r.ids.Load(); ids[id] == nil || ids[id].err != nil {
		r.remember(ids, id, s) // over an answer of "unknown" given before it was registered
	}
	return id, nil
}

// decodeHeader strips the wire format's header from b and returns the schema id.
func (r *Registry) decodeHeader(b []byte) (int, []byte, error) {
	id, rest, err := r.header.DecodeID(b)
	if err != nil {
		if len(b) == 0 {
			return 0, nil, fmt.Errorf("%w: empty", ErrWireFormat)
		}
		if b[0] != 0 {
			return 0, nil, fmt.Errorf("%w: magic byte %d, not 0", ErrWireFormat, b[0])
		}
		return 0, nil, fmt.Errorf("%w: %d bytes, shorter than the 5-byte header", ErrWireFormat, len(b))
	}
	return id, rest, nil
}

// MaxAvroItems is the most items an Avro array in a record may have. hamba/avro makes an
// array as long as a record declares it before it reads the items, so that a bad record
// of a few bytes could otherwise ask for gigabytes (FuzzSRAvro found it); a Kafka record
// of the brokers' default largest size, 1 MiB, holds fewer items than this, unless they
// take no bytes at all. Strings and bytes are bounded by hamba/avro's own default, 1 MiB.
const MaxAvroItems = 1 << 20

// avroAPI is hamba/avro's default configuration but for MaxAvroItems.
var avroAPI = avro.Config{MaxSliceAllocSize: MaxAvroItems}.Freeze()

// Avro is the Serde of T as Avro through a schema registry, with hamba/avro: T is a
// struct whose fields are matched to the schema's by their `avro:"name"` tags, or any
// type hamba/avro maps to the schema.
//
// It decodes each record with the writer's schema, the one its schema id names (asked of
// the registry once per id): fields the schema has and T does not are skipped, fields T
// has and the schema does not keep their zero value (the reader schema's defaults are not
// applied). A record that is not in the registry's wire format, names a schema id the
// registry does not know (or a schema that is not Avro), or whose bytes do not match the
// schema, does not decode.
//
// It encodes with schema, the text of an Avro schema, registered under subject when Avro
// is called (or found there, if the registry has it already): the schema id is asked for
// once, not per record. An empty subject makes a Serde that only decodes; its
// AppendEncode fails. Avro returns a *RegistryError when the registry cannot register the
// schema, or an error when schema is not valid Avro.
func Avro[T any](ctx context.Context, reg *Registry, subject, schema string) (Serde[T], error) {
	s := &avroSerde[T]{reg: reg, id: -1}
	if subject == "" {
		return s, nil
	}
	id, err := reg.register(ctx, subject, sr.Schema{Schema: schema, Type: sr.TypeAvro})
	if err != nil {
		return nil, err
	}
	s.id = id
	s.schema = (*reg.ids.Load())[id].avro
	return s, nil
}

type avroSerde[T any] struct {
	reg    *Registry
	id     int         // the id encoded records name; -1: decode only
	schema avro.Schema // the schema records are encoded with
}

func (s *avroSerde[T]) Decode(b []byte, dst *T) error {
	id, rest, err := s.reg.decodeHeader(b)
	if err != nil {
		return err
	}
	sch, err := s.reg.schemaOfType(id, sr.TypeAvro, "Avro")
	if err != nil {
		return err
	}
	if err := avroAPI.Unmarshal(sch.avro, rest, dst); err != nil {
		return fmt.Errorf("avro: %w", err) // hamba/avro's errors name the field, not the format
	}
	return nil
}

func (s *avroSerde[T]) AppendEncode(b []byte, v T) ([]byte, error) {
	if s.id < 0 {
		return b, errors.New("weir: kafka: an Avro Serde made without a subject only decodes")
	}
	// A pooled writer, whose bytes are appended to b: avroAPI.Marshal would copy them
	// into a slice of their own first, one more allocation per record.
	w := avroWriters.Get().(*avro.Writer)
	w.Reset(nil)
	w.Error = nil
	w.WriteVal(s.schema, &v)
	err := w.Error
	if err == nil {
		b, _ = s.reg.header.AppendEncode(b, s.id, nil) // never fails
		b = append(b, w.Buffer()...)
	}
	if cap(w.Buffer()) <= 64<<10 { // a rare large record's buffer is not kept
		avroWriters.Put(w)
	}
	return b, err
}

var avroWriters = sync.Pool{New: func() any { return avro.NewWriter(nil, 512, avro.WithWriterConfig(avroAPI)) }}

// Protobuf is the Serde of M, a generated Protobuf message type (a pointer, such as
// *pb.Order), through a schema registry, with google.golang.org/protobuf.
//
// It decodes a record into a new M when its schema id is one the registry knows as a
// Protobuf schema (asked once per id) and its message indexes are those of M in its own
// .proto file: the writer's file is taken to declare M's message at the same place, as
// one file's versions do. A record that is not in the wire format, names an unknown id or
// another message, or whose bytes are not a valid encoding of M, does not decode.
//
// It encodes M with the header of schema, the text of the .proto file that declares M,
// registered under subject when Protobuf is called (or found there): the id is asked for
// once, not per record. refs are the schema's references, the subjects and versions of
// the files it imports (other than the registry's own google/protobuf ones), registered
// before. An empty subject makes a Serde that only decodes, whatever the writer's file
// imports. Protobuf returns a *RegistryError when the registry cannot register the
// schema.
func Protobuf[M proto.Message](ctx context.Context, reg *Registry, subject, schema string, refs ...sr.SchemaReference) (Serde[M], error) {
	var zero M
	mt := zero.ProtoReflect().Type()
	s := &protoSerde[M]{reg: reg, id: -1, typ: mt, index: messageIndex(mt.Descriptor())}
	if subject == "" {
		return s, nil
	}
	id, err := reg.register(ctx, subject, sr.Schema{Schema: schema, Type: sr.TypeProtobuf, References: refs})
	if err != nil {
		return nil, err
	}
	s.id = id
	return s, nil
}

type protoSerde[M proto.Message] struct {
	reg   *Registry
	id    int
	typ   protoreflect.MessageType
	index []int // M's path in its file: top-level message, nested message...
}

// messageIndex is the path of d in its file, as the wire format's message indexes name it.
func messageIndex(d protoreflect.MessageDescriptor) []int {
	var path []int
	for {
		path = append(path, d.Index())
		parent, ok := d.Parent().(protoreflect.MessageDescriptor)
		if !ok {
			break
		}
		d = parent
	}
	for i, j := 0, len(path)-1; i < j; i, j = i+1, j-1 {
		path[i], path[j] = path[j], path[i]
	}
	return path
}

func (s *protoSerde[M]) Decode(b []byte, dst *M) error {
	id, rest, err := s.reg.decodeHeader(b)
	if err != nil {
		return err
	}
	if rest, err = s.checkIndex(rest); err != nil {
		return err
	}
	if _, err := s.reg.schemaOfType(id, sr.TypeProtobuf, "Protobuf"); err != nil {
		return err
	}
	m := s.typ.New().Interface().(M)
	if err := proto.Unmarshal(rest, m); err != nil {
		return err // "proto: ..."
	}
	*dst = m
	return nil
}

// checkIndex strips the message indexes from b and checks that they are M's. It reads
// them in place, where sr.ConfluentHeader.DecodeIndex would allocate them for every
// record: a count, then that many indexes, all zig-zag varints; a count of 0 stands
// for the one index 0.
func (s *protoSerde[M]) checkIndex(b []byte) ([]byte, error) {
	whole := b
	n, w := binary.Varint(b)
	if w <= 0 || n < 0 {
		return nil, fmt.Errorf("%w: bad message index count", ErrWireFormat)
	}
	b = b[w:]
	if n == 0 {
		if len(s.index) != 1 || s.index[0] != 0 {
			return nil, fmt.Errorf("%w: message index [0], not %v's %v", ErrUnknownSchema, s.typ.Descriptor().FullName(), s.index)
		}
		return b, nil
	}
	same := int(n) == len(s.index)
	for i := range n {
		idx, w := binary.Varint(b)
		if w <= 0 {
			return nil, fmt.Errorf("%w: bad message index", ErrWireFormat)
		}
		b = b[w:]
		same = same && idx == int64(s.index[i])
	}
	if !same {
		got, _, _ := s.reg.header.DecodeIndex(whole, 16)
		return nil, fmt.Errorf("%w: message index %v (%d long), not %v's %v", ErrUnknownSchema, got, n, s.typ.Descriptor().FullName(), s.index)
	}
	return b, nil
}

func (s *protoSerde[M]) AppendEncode(b []byte, v M) ([]byte, error) {
	if s.id < 0 {
		return b, errors.New("weir: kafka: a Protobuf Serde made without a subject only decodes")
	}
	b, _ = s.reg.header.AppendEncode(b, s.id, s.index) // never fails
	return proto.MarshalOptions{}.MarshalAppend(b, v)
}
