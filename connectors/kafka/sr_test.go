package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/twmb/franz-go/pkg/sr"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/weirtest"
)

// fakeRegistry serves the two calls of a schema registry's HTTP API that a
// kafka.Registry makes through franz-go's client: registering a schema under a subject
// (POST /subjects/{subject}/versions, which answers the id of an identical schema
// registered before) and reading a schema by its id (GET /schemas/ids/{id}, 404 with
// error code 40403 for an unknown id). A real schema registry is a JVM service that
// cannot run in these tests; the fake checks no compatibility and keeps no versions, and
// answers a request it does not serve with 404 and no error code, so that a call the
// Registry should not make fails the test's expectations rather than passing.
type fakeRegistry struct {
	srv *httptest.Server

	mu      sync.Mutex
	schemas []sr.Schema    // schema id i+1
	gets    map[int]int    // GET /schemas/ids/{id} calls per id
	posts   map[string]int // registrations per subject
	down    bool           // answer every call with 500
}

func newFakeRegistry(t testing.TB) *fakeRegistry {
	f := &fakeRegistry{gets: map[int]int{}, posts: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// registry returns a kafka.Registry of f, through a real sr.Client.
func (f *fakeRegistry) registry(t testing.TB) *kafka.Registry {
	cl, err := sr.NewClient(sr.URLs(f.srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	return kafka.NewRegistry(cl)
}

func (f *fakeRegistry) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/vnd.schemaregistry.v1+json")
	fail := func(status, code int, msg string) {
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error_code": code, "message": msg})
	}
	if f.down {
		fail(http.StatusInternalServerError, 50001, "the registry is down")
		return
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/schemas/ids/"):
		id, err := strconv.Atoi(strings.TrimPrefix(path, "/schemas/ids/"))
		if err != nil {
			fail(http.StatusNotFound, 404, "bad id")
			return
		}
		f.gets[id]++
		if id < 1 || id > len(f.schemas) {
			fail(http.StatusNotFound, 40403, fmt.Sprintf("Schema %d not found", id))
			return
		}
		json.NewEncoder(w).Encode(f.schemas[id-1])
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/subjects/") && strings.HasSuffix(path, "/versions"):
		subject := strings.TrimSuffix(strings.TrimPrefix(path, "/subjects/"), "/versions")
		var s sr.Schema
		if err := json.NewDecoder(r.Body).Decode(&s); err != nil {
			fail(http.StatusUnprocessableEntity, 42201, err.Error())
			return
		}
		f.posts[subject]++
		id := f.add(s)
		json.NewEncoder(w).Encode(map[string]int{"id": id})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// add registers s, or finds it, and returns its id; f.mu is held.
func (f *fakeRegistry) add(s sr.Schema) int {
	for i, have := range f.schemas {
		if have.Schema == s.Schema && have.Type == s.Type {
			return i + 1
		}
	}
	f.schemas = append(f.schemas, s)
	return len(f.schemas)
}

// register adds s as a producer elsewhere would have, and returns its id.
func (f *fakeRegistry) register(s sr.Schema) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.add(s)
}

func (f *fakeRegistry) calls() (gets map[int]int, posts map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.gets), maps.Clone(f.posts)
}

type reading struct {
	Sensor string   `avro:"sensor"`
	Value  float64  `avro:"value"`
	Tags   []string `avro:"tags"`
}

const readingSchema = `{"type":"record","name":"Reading","fields":[
	{"name":"sensor","type":"string"},
	{"name":"value","type":"double"},
	{"name":"tags","type":{"type":"array","items":"string"}}]}`

// readingSchemaV2 is a later version of the schema, with a field reading does not have.
const readingSchemaV2 = `{"type":"record","name":"Reading","fields":[
	{"name":"sensor","type":"string"},
	{"name":"unit","type":"string","default":""},
	{"name":"value","type":"double"},
	{"name":"tags","type":{"type":"array","items":"string"}}]}`

// wrappersProto stands for the text of google/protobuf/wrappers.proto, whose messages the
// Protobuf tests use (the fake registry does not parse it).
const wrappersProto = `syntax = "proto3"; package google.protobuf; message DoubleValue { double value = 1; } // ...`

func mustEncode[T any](t testing.TB, s kafka.Serde[T], v T) []byte {
	t.Helper()
	b, err := s.AppendEncode(nil, v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// valueAt is the record at partition p, offset off of topic "in" with value b.
func valueAt(p int32, off int64, b []byte) kafka.Message {
	return kafka.Message{Topic: "in", Partition: p, Offset: off, Value: b}
}

func TestAvro(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry(t)
	reg := f.registry(t)
	serde, err := kafka.Avro[reading](ctx, reg, "readings-value", readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	good := reading{Sensor: "s1", Value: 21.5, Tags: []string{"a", "b"}}
	enc := mustEncode(t, serde, good)
	if enc[0] != 0 || enc[4] != 1 {
		t.Fatalf("encoded %x: want magic byte 0 and schema id 1", enc[:5])
	}

	// A record written by a producer with the schema's next version.
	v2 := f.register(sr.Schema{Schema: readingSchemaV2})
	type readingV2 struct {
		Sensor string   `avro:"sensor"`
		Unit   string   `avro:"unit"`
		Value  float64  `avro:"value"`
		Tags   []string `avro:"tags"`
	}
	serdeV2, err := kafka.Avro[readingV2](ctx, reg, "readings-value", readingSchemaV2)
	if err != nil {
		t.Fatal(err)
	}
	encV2 := mustEncode(t, serdeV2, readingV2{Sensor: "s2", Unit: "C", Value: 3, Tags: []string{}})
	if encV2[4] != byte(v2) {
		t.Fatalf("v2 encoded with schema id %d, want %d", encV2[4], v2)
	}
	protoID := f.register(sr.Schema{Schema: wrappersProto, Type: sr.TypeProtobuf})

	msgs := []kafka.Message{
		valueAt(0, 0, enc),
		valueAt(0, 1, append([]byte{1}, enc[1:]...)),                          // wrong magic byte
		valueAt(0, 2, enc[:3]),                                                // shorter than the header
		valueAt(1, 0, append([]byte{0, 0, 0, 0, 99}, enc[5:]...)),             // unknown schema id
		valueAt(1, 1, enc[:len(enc)-2]),                                       // truncated
		valueAt(1, 2, encV2),                                                  // a newer schema
		valueAt(2, 0, append([]byte{0, 0, 0, 0, byte(protoID)}, enc[5:]...)),  // a Protobuf schema's id
		valueAt(2, 1, nil),                                                    // a tombstone
		valueAt(2, 2, append(append([]byte{}, enc[:5]...), 0x80, 0x80, 0x80)), // a varint that never ends
	}
	got, dead, err := decodeAll(t, serde, msgs, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []reading{good, {Sensor: "s2", Value: 3, Tags: []string{}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	checkDead(t, msgs, dead, []deadAt{
		{"in", 0, 1, "weir: kafka: not in the schema registry's wire format: magic byte 1, not 0"},
		{"in", 0, 2, "weir: kafka: not in the schema registry's wire format: 3 bytes"},
		{"in", 1, 0, "weir: kafka: unknown schema: the registry has no schema id 99"},
		{"in", 1, 1, "avro: Tags: reading []string: unexpected EOF"},
		{"in", 2, 0, fmt.Sprintf("weir: kafka: unknown schema: schema id %d is PROTOBUF, not Avro", protoID)},
		{"in", 2, 1, "weir: kafka: not in the schema registry's wire format: empty"},
		{"in", 2, 2, "avro: "},
	})

	// The errors' causes, for errors.Is.
	var r reading
	for _, c := range []struct {
		b    []byte
		want error
	}{{msgs[1].Value, kafka.ErrWireFormat}, {msgs[3].Value, kafka.ErrUnknownSchema}, {msgs[6].Value, kafka.ErrUnknownSchema}} {
		if err := serde.Decode(c.b, &r); !errors.Is(err, c.want) {
			t.Errorf("Decode(%x) = %v, want %v", c.b, err, c.want)
		}
	}
}

func TestProtobuf(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry(t)
	reg := f.registry(t)
	serde, err := kafka.Protobuf[*wrapperspb.StringValue](ctx, reg, "names-value", wrappersProto)
	if err != nil {
		t.Fatal(err)
	}
	enc := mustEncode(t, serde, wrapperspb.String("ada"))
	// StringValue is the eighth message of wrappers.proto: one index, 7, zig-zag encoded.
	if want := []byte{0, 0, 0, 0, 1, 2, 14}; string(enc[:7]) != string(want) {
		t.Fatalf("encoded header %x, want %x", enc[:7], want)
	}
	body := enc[7:]
	avroID := f.register(sr.Schema{Schema: readingSchema})
	protoID := 1

	header := func(id int, index ...byte) []byte { return append([]byte{0, 0, 0, 0, byte(id)}, index...) }
	msgs := []kafka.Message{
		valueAt(0, 0, enc),
		valueAt(0, 1, append(header(protoID, 2, 14), 0x0a, 0x05, 'x')),  // wrong protobuf: a string cut short
		valueAt(0, 2, append(header(protoID, 2, 14), 0xff, 0xff, 0xff)), // wrong protobuf: not a tag
		valueAt(0, 3, append(header(protoID, 0), body...)),              // index [0]: DoubleValue's
		valueAt(1, 0, append(header(protoID, 4, 14, 2), body...)),       // index [7 1]
		valueAt(1, 1, append(header(99, 2, 14), body...)),               // unknown schema id
		valueAt(1, 2, append(header(avroID, 2, 14), body...)),           // an Avro schema's id
		valueAt(1, 3, append(header(protoID), body...)),                 // no index
		valueAt(2, 0, append([]byte{7}, enc[1:]...)),                    // wrong magic byte
		// Another message's bytes are valid Protobuf, so they decode, with the fields
		// StringValue does not know kept as unknown fields: Protobuf cannot tell.
		valueAt(2, 1, append(header(protoID, 2, 14), mustMarshal(t, 7)...)),
	}
	got, dead, err := decodeAll(t, serde, msgs, 3)
	if err != nil {
		t.Fatal(err)
	}
	other := &wrapperspb.StringValue{}
	other.ProtoReflect().SetUnknown(mustMarshal(t, 7))
	if diff := cmp.Diff([]*wrapperspb.StringValue{wrapperspb.String("ada"), other}, got, protocmp.Transform()); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	checkDead(t, msgs, dead, []deadAt{
		{"in", 0, 1, "proto:"},
		{"in", 0, 2, "proto:"},
		{"in", 0, 3, "weir: kafka: unknown schema: message index [0], not google.protobuf.StringValue's [7]"},
		{"in", 1, 0, "weir: kafka: unknown schema: message index [7 1] (2 long), not google.protobuf.StringValue's [7]"},
		{"in", 1, 1, "weir: kafka: unknown schema: the registry has no schema id 99"},
		{"in", 1, 2, fmt.Sprintf("weir: kafka: unknown schema: schema id %d is AVRO, not Protobuf", avroID)},
		{"in", 1, 3, "weir: kafka: not in the schema registry's wire format: bad message index"},
		{"in", 2, 0, "weir: kafka: not in the schema registry's wire format: magic byte 7, not 0"},
	})
}

// mustMarshal is the Protobuf encoding of an Int64Value: field 1, a varint, which a
// StringValue reads as a field of the wrong wire type.
func mustMarshal(t testing.TB, v int64) []byte {
	b, err := proto.Marshal(wrapperspb.Int64(v))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A nested message's indexes are its path: DescriptorProto is the third message of
// descriptor.proto, and ReservedRange the second one nested in it.
func TestProtobufNestedIndex(t *testing.T) {
	f := newFakeRegistry(t)
	serde, err := kafka.Protobuf[*descriptorpb.DescriptorProto_ReservedRange](context.Background(), f.registry(t), "ranges-value", "syntax = \"proto2\"; // descriptor.proto")
	if err != nil {
		t.Fatal(err)
	}
	in := &descriptorpb.DescriptorProto_ReservedRange{Start: proto.Int32(3), End: proto.Int32(9)}
	enc := mustEncode(t, serde, in)
	if want := []byte{0, 0, 0, 0, 1, 4, 4, 2}; string(enc[:8]) != string(want) {
		t.Fatalf("encoded header %x, want %x", enc[:8], want)
	}
	var back *descriptorpb.DescriptorProto_ReservedRange
	if err := serde.Decode(enc, &back); err != nil || !proto.Equal(in, back) {
		t.Fatalf("round trip: %v, %v", back, err)
	}
	// franz-go's own header reads the same indexes.
	var h sr.ConfluentHeader
	id, rest, err := h.DecodeID(enc)
	if err != nil || id != 1 {
		t.Fatal(id, err)
	}
	if index, _, err := h.DecodeIndex(rest, 0); err != nil || !cmp.Equal(index, []int{2, 1}) {
		t.Fatalf("sr reads index %v, %v; want [2 1]", index, err)
	}
}

// Records through a flow of two workers ask the registry for their schema id once, and
// the encoding Serde registered its schema once, when it was made.
func TestRegistryAskedOncePerID(t *testing.T) {
	ctx := context.Background()
	f := newFakeRegistry(t)
	enc, err := kafka.Avro[reading](ctx, f.registry(t), "readings-value", readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	serde, err := kafka.Avro[reading](ctx, f.registry(t), "", "") // decodes only: asks by id
	if err != nil {
		t.Fatal(err)
	}
	var items []reading
	for i := range 200 {
		items = append(items, reading{Sensor: fmt.Sprint("s", i%7), Value: float64(i), Tags: []string{}})
	}
	flow := weir.NewDataflow("f")
	back := weirtest.NewSink[reading]()
	recs := kafka.Encode("enc", op.Input("in", flow, weirtest.NewSource(items...).BatchSize(16)), enc)
	dec, dead := kafka.Decode("dec", op.Redistribute("spread", recs), serde)
	op.Output("back", dec, back)
	op.Raises("no_dead", dead)
	weirtest.Run(t, flow, 2)
	if diff := cmp.Diff(items, back.Items(), cmpopts.SortSlices(func(a, b reading) bool { return a.Value < b.Value })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	gets, posts := f.calls()
	if !cmp.Equal(gets, map[int]int{1: 1}) || !cmp.Equal(posts, map[string]int{"readings-value": 1}) {
		t.Errorf("registry calls: gets by id %v, registrations %v; want {1:1} and one registration", gets, posts)
	}
	if _, err := serde.AppendEncode(nil, items[0]); err == nil {
		t.Error("a Serde made without a subject encoded")
	}
}

// A registry that cannot answer stops the run: the record is not at fault, and must not
// be called a dead letter.
func TestRegistryDownStopsTheRun(t *testing.T) {
	f := newFakeRegistry(t)
	id := f.register(sr.Schema{Schema: readingSchema})
	f.down = true
	serde, err := kafka.Avro[reading](context.Background(), f.registry(t), "", "")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []kafka.Message{valueAt(5, 17, []byte{0, 0, 0, 0, byte(id), 4, 's', '1'})}
	_, dead, err := decodeAll(t, serde, msgs, 1)
	var de *kafka.DecodeError
	var re *kafka.RegistryError
	if !errors.As(err, &de) || !errors.As(err, &re) || de.Partition != 5 || de.Offset != 17 || re.ID != id {
		t.Fatalf("run error %v, want a DecodeError of in/5@17 wrapping a RegistryError of id %d", err, id)
	}
	if len(dead) > 0 {
		t.Errorf("dead letters %v", dead)
	}
	if _, err := kafka.Avro[reading](context.Background(), f.registry(t), "s", readingSchema); !errors.As(err, &re) || re.Subject != "s" {
		t.Errorf("Avro with the registry down: %v, want a RegistryError of subject s", err)
	}

	// Once the registry is back, a new run decodes the record.
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	got, dead, err := decodeAll(t, serde, []kafka.Message{valueAt(5, 17, mustEncode(t, mustAvro(t, f), reading{Sensor: "s1", Tags: []string{}}))}, 1)
	if err != nil || len(dead) > 0 || len(got) != 1 || got[0].Sensor != "s1" {
		t.Errorf("after the registry is back: %v, %v, %v", got, dead, err)
	}
}

func mustAvro(t testing.TB, f *fakeRegistry) kafka.Serde[reading] {
	s, err := kafka.Avro[reading](context.Background(), f.registry(t), "readings-value", readingSchema)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// FuzzSRAvro: whatever a record holds, the Avro Serde decodes it or returns an error,
// never panics.
func FuzzSRAvro(f *testing.F) {
	reg := newFakeRegistry(f)
	serde := mustAvro(f, reg)
	f.Add(mustEncode(f, serde, reading{Sensor: "s", Value: 1, Tags: []string{"x"}}))
	f.Add([]byte{0, 0, 0, 0, 1, 0x80})
	f.Add([]byte{0, 0, 0, 0, 1, 2, 's', 0, 0, 0, 0, 0, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 5 && b[0] == 0 {
			b[1], b[2], b[3], b[4] = 0, 0, 0, 1 // a known id: the registry is asked once
		}
		var r reading
		_ = serde.Decode(b, &r)
	})
}

// FuzzSRProtobuf: whatever a record holds, the Protobuf Serde decodes it or returns an
// error, never panics.
func FuzzSRProtobuf(f *testing.F) {
	reg := newFakeRegistry(f)
	serde, err := kafka.Protobuf[*wrapperspb.StringValue](context.Background(), reg.registry(f), "names-value", wrappersProto)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(mustEncode(f, serde, wrapperspb.String("x")))
	f.Add([]byte{0, 0, 0, 0, 1, 0x80})
	f.Add([]byte{0, 0, 0, 0, 1, 0xfe, 0xff, 0xff, 0xff, 0x0f, 1})
	f.Add([]byte{0, 0, 0, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) >= 5 && b[0] == 0 {
			b[1], b[2], b[3], b[4] = 0, 0, 0, 1
		}
		var m *wrapperspb.StringValue
		if err := serde.Decode(b, &m); err == nil && m == nil {
			t.Fatalf("Decode(%x): no error and no message", b)
		}
	})
}

// An id the registry does not know is remembered as unknown for RetryUnknownAfter, then
// asked for again: a registry's follower may know a schema a moment after its leader.
func TestRegistryUnknownIDAskedAgain(t *testing.T) {
	for _, tt := range []struct {
		name  string
		retry time.Duration
		// after the schema is registered: whether the record decodes, and the calls for id 1
		decodes bool
		gets    int
	}{
		{"remembered", time.Hour, false, 1},
		{"asked_again", time.Nanosecond, true, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeRegistry(t)
			cl, err := sr.NewClient(sr.URLs(f.srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			reg := kafka.NewRegistry(cl, kafka.RetryUnknownAfter(tt.retry))
			serde, err := kafka.Avro[reading](context.Background(), reg, "", "")
			if err != nil {
				t.Fatal(err)
			}
			b := []byte{0, 0, 0, 0, 1, 4, 's', '1', 0, 0, 0, 0, 0, 0, 0, 0, 0}
			var r reading
			if err := serde.Decode(b, &r); !errors.Is(err, kafka.ErrUnknownSchema) {
				t.Fatalf("before the schema is registered: %v, want ErrUnknownSchema", err)
			}
			f.register(sr.Schema{Schema: readingSchema})
			time.Sleep(time.Millisecond)
			for range 3 {
				err = serde.Decode(b, &r)
			}
			if (err == nil) != tt.decodes {
				t.Errorf("after the schema is registered: %v, want decoding %v", err, tt.decodes)
			}
			if gets, _ := f.calls(); gets[1] != tt.gets {
				t.Errorf("id 1 asked for %d times, want %d", gets[1], tt.gets)
			}
			// A Serde that registers the schema through the same Registry replaces the
			// answer "unknown" with the schema.
			if _, err := kafka.Avro[reading](context.Background(), reg, "readings-value", readingSchema); err != nil {
				t.Fatal(err)
			}
			if err := serde.Decode(b, &r); err != nil || r.Sensor != "s1" {
				t.Errorf("after registering through the Registry: %+v, %v", r, err)
			}
		})
	}
}

// A Protobuf schema that imports other files is registered with its references, and its
// records decode: its text, and so its imports, are never read.
func TestProtobufReferences(t *testing.T) {
	f := newFakeRegistry(t)
	refs := []sr.SchemaReference{{Name: "other.proto", Subject: "other", Version: 1}}
	enc, err := kafka.Protobuf[*wrapperspb.StringValue](context.Background(), f.registry(t), "names-value",
		`syntax = "proto3"; import "other.proto"; message StringValue { string value = 1; }`, refs...)
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	got := f.schemas[0].References
	f.mu.Unlock()
	if !cmp.Equal(got, refs) {
		t.Errorf("registered references %v, want %v", got, refs)
	}
	dec, err := kafka.Protobuf[*wrapperspb.StringValue](context.Background(), f.registry(t), "", "")
	if err != nil {
		t.Fatal(err)
	}
	var m *wrapperspb.StringValue
	if err := dec.Decode(mustEncode(t, enc, wrapperspb.String("x")), &m); err != nil || m.GetValue() != "x" {
		t.Errorf("Decode: %v, %v", m, err)
	}
}
