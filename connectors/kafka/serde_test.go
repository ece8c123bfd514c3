package kafka_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/kafka"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

// msgAt is a record read from topic "in", partition p, at offset off.
func msgAt(p int32, off int64, key, value string) kafka.Message {
	m := kafka.Message{Topic: "in", Partition: p, Offset: off, Timestamp: time.Unix(1700000000, 0).UTC()}
	if key != "" {
		m.Key = []byte(key)
	}
	if value != "" {
		m.Value = []byte(value)
	}
	return m
}

// deadAt is where a dead letter was read, and the start of its error.
type deadAt struct {
	Topic     string
	Partition int32
	Offset    int64
	Err       string // a prefix of the error
}

// decodeAll runs msgs through Decode with serde in batches of batch and returns what the
// two streams got.
func decodeAll[T any](t *testing.T, serde kafka.Serde[T], msgs []kafka.Message, batch int, opts ...kafka.DecodeOption) ([]T, []kafka.DeadLetter, error) {
	t.Helper()
	flow := weir.NewDataflow("f")
	ok := weirtest.NewSink[T]()
	dead := weirtest.NewSink[kafka.DeadLetter]()
	in := op.Input("in", flow, weirtest.NewSource(msgs...).BatchSize(batch))
	items, dl := kafka.Decode("dec", in, serde, opts...)
	op.Output("ok", items, ok)
	op.Output("dead", dl, dead)
	err := run.Run(context.Background(), flow, run.Workers(1))
	return ok.Items(), dead.Items(), err
}

// checkDead compares dead letters with want by their coordinates and error prefixes, and
// checks that each carries its record and the step.
func checkDead(t *testing.T, msgs []kafka.Message, got []kafka.DeadLetter, want []deadAt) {
	t.Helper()
	var gotC []deadAt
	for _, d := range got {
		c := deadAt{Topic: d.Topic, Partition: d.Partition, Offset: d.Offset, Err: d.Err}
		for _, w := range want {
			if w.Offset == d.Offset && w.Partition == d.Partition && strings.HasPrefix(d.Err, w.Err) {
				c.Err = w.Err
			}
		}
		gotC = append(gotC, c)
		if d.Step != "f.dec" {
			t.Errorf("dead letter %v: step %q, want f.dec", d, d.Step)
		}
		for _, m := range msgs {
			if m.Partition == d.Partition && m.Offset == d.Offset {
				if diff := cmp.Diff(m, d.Message); diff != "" {
					t.Errorf("dead letter %v does not carry its record (-want +got):\n%s", d, diff)
				}
			}
		}
	}
	if diff := cmp.Diff(want, gotC, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("dead letters (-want +got):\n%s", diff)
	}
}

type jsonOrder struct {
	ID    int     `json:"id"`
	Item  string  `json:"item"`
	Price float64 `json:"price"`
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name string
		msgs []kafka.Message
		want []jsonOrder
		dead []deadAt
	}{
		{
			name: "good",
			msgs: []kafka.Message{msgAt(0, 0, "", `{"id":1,"item":"tea","price":2.5}`), msgAt(1, 7, "", `{"id":2,"item":"cake"}`)},
			want: []jsonOrder{{1, "tea", 2.5}, {2, "cake", 0}},
		},
		{
			name: "bad_between_good",
			msgs: []kafka.Message{
				msgAt(0, 10, "", `{"id":1}`),
				msgAt(0, 11, "", `{"id":`), // cut short
				msgAt(2, 3, "", `{"id":3}`),
				msgAt(2, 4, "", `{"id":"four"}`), // a string for an int
				msgAt(2, 5, "", `not json`),
				msgAt(2, 6, "", ""), // a tombstone
				msgAt(0, 12, "", `{"id":5}`),
			},
			want: []jsonOrder{{ID: 1}, {ID: 3}, {ID: 5}},
			dead: []deadAt{
				{"in", 0, 11, "unexpected end of JSON input"},
				{"in", 2, 4, "json: cannot unmarshal string"},
				{"in", 2, 5, "invalid character 'o'"},
				{"in", 2, 6, "unexpected end of JSON input"},
			},
		},
		{
			name: "all_bad",
			msgs: []kafka.Message{msgAt(3, 0, "k", `[1,2]`), msgAt(3, 1, "k", `{`)},
			dead: []deadAt{{"in", 3, 0, "json: cannot unmarshal array"}, {"in", 3, 1, "unexpected end of JSON input"}},
		},
	}
	for _, tt := range tests {
		for _, batch := range []int{1, 3, 100} {
			t.Run(fmt.Sprintf("%s/batch=%d", tt.name, batch), func(t *testing.T) {
				got, dead, err := decodeAll(t, kafka.JSON[jsonOrder](), tt.msgs, batch)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("decoded (-want +got):\n%s", diff)
				}
				checkDead(t, tt.msgs, dead, tt.dead)
			})
		}
	}
}

// A decoded item must not share anything with the one decoded before it in the same
// slot of the step's buffer: downstream steps keep shallow copies.
func TestDecodeJSONFreshItems(t *testing.T) {
	type tags struct {
		Tags []string          `json:"tags"`
		Attr map[string]string `json:"attr"`
	}
	msgs := []kafka.Message{
		msgAt(0, 0, "", `{"tags":["a","b"],"attr":{"x":"1"}}`),
		msgAt(0, 1, "", `{"tags":["c"]}`),
		msgAt(0, 2, "", `{"attr":{"y":"2"}}`),
	}
	got, dead, err := decodeAll(t, kafka.JSON[tags](), msgs, 1)
	if err != nil || len(dead) > 0 {
		t.Fatal(err, dead)
	}
	want := []tags{
		{Tags: []string{"a", "b"}, Attr: map[string]string{"x": "1"}},
		{Tags: []string{"c"}},
		{Attr: map[string]string{"y": "2"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
}

func TestDecodeBytesAndString(t *testing.T) {
	msgs := []kafka.Message{msgAt(0, 0, "", "héllo"), msgAt(0, 1, "", ""), msgAt(0, 2, "", "\xff\xfe")}
	strs, dead, err := decodeAll(t, kafka.String(), msgs, 2)
	if err != nil || len(dead) > 0 {
		t.Fatal(err, dead)
	}
	if diff := cmp.Diff([]string{"héllo", "", "\xff\xfe"}, strs); diff != "" {
		t.Errorf("strings (-want +got):\n%s", diff)
	}
	raw, dead, err := decodeAll(t, kafka.Bytes(), msgs, 2)
	if err != nil || len(dead) > 0 {
		t.Fatal(err, dead)
	}
	if diff := cmp.Diff([][]byte{[]byte("héllo"), nil, []byte("\xff\xfe")}, raw); diff != "" {
		t.Errorf("bytes (-want +got):\n%s", diff)
	}
}

func TestDecodeKV(t *testing.T) {
	msgs := []kafka.Message{
		msgAt(0, 0, "a", "1"),
		msgAt(0, 1, "b", "x"),
		msgAt(1, 0, "", "3"), // no key: the empty key
		msgAt(1, 1, "a", "4"),
	}
	atoi := intSerde{}
	flow := weir.NewDataflow("f")
	sums := weirtest.NewSink[weir.KV[int]]()
	dead := weirtest.NewSink[kafka.DeadLetter]()
	kvs, dl := kafka.DecodeKV("dec", op.Input("in", flow, weirtest.NewSource(msgs...).BatchSize(2)), kafka.Serde[int](atoi))
	// A keyed aggregation follows directly: the record's key is the item's key.
	op.Output("sums", op.ReduceFinal("sum", kvs, func(a, b int) int { return a + b }), sums)
	op.Output("dead", dl, dead)
	weirtest.Run(t, flow, 2)
	got := sums.Items()
	want := []weir.KV[int]{{Key: "", Value: 3}, {Key: "a", Value: 5}}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b weir.KV[int]) bool { return a.Key < b.Key })); diff != "" {
		t.Errorf("sums (-want +got):\n%s", diff)
	}
	checkDead(t, msgs, dead.Items(), []deadAt{{"in", 0, 1, `strconv.Atoi: parsing "x"`}})
}

// intSerde is a Serde of decimal ints, for tests of the steps apart from any codec.
type intSerde struct{}

func (intSerde) Decode(b []byte, dst *int) (err error) { *dst, err = strconv.Atoi(string(b)); return }
func (intSerde) AppendEncode(b []byte, v int) ([]byte, error) {
	if v < 0 {
		return b, errors.New("negative")
	}
	return strconv.AppendInt(b, int64(v), 10), nil
}

// upperKey is a Serde of keys that refuses lower-case ones, for KeySerde.
type upperKey struct{}

func (upperKey) Decode(b []byte, dst *string) error {
	if strings.ToUpper(string(b)) != string(b) {
		return fmt.Errorf("key %q is not upperKey-case", b)
	}
	*dst = string(b)
	return nil
}
func (upperKey) AppendEncode(b []byte, v string) ([]byte, error) {
	return append(b, strings.ToUpper(v)...), nil
}

func TestDecodeKVKeySerde(t *testing.T) {
	msgs := []kafka.Message{msgAt(0, 0, "A", "1"), msgAt(0, 1, "b", "2"), msgAt(0, 2, "C", "3")}
	flow := weir.NewDataflow("f")
	out := weirtest.NewSink[weir.KV[int]]()
	dead := weirtest.NewSink[kafka.DeadLetter]()
	kvs, dl := kafka.DecodeKV("dec", op.Input("in", flow, weirtest.NewSource(msgs...)), kafka.Serde[int](intSerde{}), kafka.KeySerde(upperKey{}))
	op.Output("out", kvs, out)
	op.Output("dead", dl, dead)
	weirtest.Run(t, flow, 1)
	if diff := cmp.Diff([]weir.KV[int]{{Key: "A", Value: 1}, {Key: "C", Value: 3}}, out.Items()); diff != "" {
		t.Errorf("decoded (-want +got):\n%s", diff)
	}
	checkDead(t, msgs, dead.Items(), []deadAt{{"in", 0, 1, `key: key "b" is not upperKey-case`}})
}

func TestDecodeStopOnError(t *testing.T) {
	msgs := []kafka.Message{msgAt(0, 0, "", `{"id":1}`), msgAt(4, 41, "", `{"id":}`), msgAt(0, 1, "", `{"id":3}`)}
	got, dead, err := decodeAll(t, kafka.JSON[jsonOrder](), msgs, 1, kafka.StopOnError())
	var de *kafka.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("run error %v, want a *kafka.DecodeError", err)
	}
	if de.Step != "f.dec" || de.Topic != "in" || de.Partition != 4 || de.Offset != 41 {
		t.Errorf("DecodeError %+v: want step f.dec, record in/4@41", de)
	}
	var se *json.SyntaxError
	if !errors.As(err, &se) {
		t.Errorf("run error %v does not reach the JSON error", err)
	}
	for _, part := range []string{"f.dec", "in/4@41"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("run error %q does not name %s", err, part)
		}
	}
	var step *weir.StepError
	if !errors.As(err, &step) || !strings.HasPrefix(step.Step, "f.dec.") {
		t.Errorf("run error %v: not a StepError of a step inside f.dec", err)
	}
	if len(dead) > 0 {
		t.Errorf("dead letters %v under StopOnError", dead)
	}
	if len(got) > 1 {
		t.Errorf("decoded %v after the bad record", got)
	}
}

func TestDeadLetterForward(t *testing.T) {
	d := kafka.DeadLetter{
		Message: kafka.Message{
			Key: []byte("k"), Value: []byte("{"), Topic: "orders", Partition: 3, Offset: 99,
			Timestamp: time.Unix(5, 0), Headers: []kafka.Header{{Key: "trace", Value: []byte("t1")}},
		},
		Step: "f.dec",
		Err:  "unexpected end of JSON input",
	}
	m := d.Forward("orders.dlq")
	if string(m.Key) != "k" || string(m.Value) != "{" || m.Topic != "orders.dlq" || m.Offset != -1 || !m.Timestamp.Equal(d.Timestamp) {
		t.Errorf("Forward = %+v", m)
	}
	want := []kafka.Header{
		{Key: "trace", Value: []byte("t1")},
		{Key: kafka.HeaderDeadLetterStep, Value: []byte("f.dec")},
		{Key: kafka.HeaderDeadLetterError, Value: []byte("unexpected end of JSON input")},
		{Key: kafka.HeaderDeadLetterTopic, Value: []byte("orders")},
		{Key: kafka.HeaderDeadLetterPartition, Value: []byte("3")},
		{Key: kafka.HeaderDeadLetterOffset, Value: []byte("99")},
	}
	if diff := cmp.Diff(want, m.Headers); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if len(d.Headers) != 1 {
		t.Errorf("Forward changed the dead letter's own headers: %v", d.Headers)
	}
	if got, want := d.String(), "f.dec: orders/3@99: unexpected end of JSON input"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// roundTrip encodes items with Encode, decodes the records with Decode, and returns the
// records and the decoded items.
func roundTrip[T any](t *testing.T, serde kafka.Serde[T], items []T, opts ...kafka.EncodeOption) ([]kafka.Message, []T) {
	t.Helper()
	flow := weir.NewDataflow("f")
	recs := weirtest.NewSink[kafka.Message]()
	back := weirtest.NewSink[T]()
	msgs := kafka.Encode("enc", op.Input("in", flow, weirtest.NewSource(items...).BatchSize(3)), serde, opts...)
	op.Output("recs", msgs, recs)
	dec, dead := kafka.Decode("dec", msgs, serde)
	op.Output("back", dec, back)
	op.Raises("no_dead", dead)
	weirtest.Run(t, flow, 1)
	return recs.Items(), back.Items()
}

func TestEncodeRoundTrip(t *testing.T) {
	t.Run("json", func(t *testing.T) {
		items := []jsonOrder{{1, "tea", 2.5}, {2, "cake", 4}, {}, {4, "ü", -1}}
		recs, back := roundTrip(t, kafka.JSON[jsonOrder](), items, kafka.ToTopic("out"))
		if diff := cmp.Diff(items, back); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
		for i, m := range recs {
			want, _ := json.Marshal(items[i])
			if string(m.Value) != string(want) || m.Topic != "out" || m.Offset != -1 || m.Key != nil {
				t.Errorf("record %d = %+v, value %s, want %s to out", i, m, m.Value, want)
			}
		}
	})
	t.Run("string", func(t *testing.T) {
		items := []string{"a", "", "ccc", "\xff"}
		_, back := roundTrip(t, kafka.String(), items)
		if diff := cmp.Diff(items, back); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		items := [][]byte{[]byte("x"), {}, []byte("yz")}
		_, back := roundTrip(t, kafka.Bytes(), items)
		if diff := cmp.Diff(items, back, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	})
}

// The records of one batch share a buffer: each must keep its own bytes, and appending
// to one must not write over the next.
func TestEncodeKVRecordsOwnTheirBytes(t *testing.T) {
	flow := weir.NewDataflow("f")
	recs := weirtest.NewSink[kafka.Message]()
	items := []weir.KV[int]{{Key: "a", Value: 1}, {Key: "bb", Value: 22}, {Key: "", Value: 333}, {Key: "d", Value: 4}}
	msgs := kafka.EncodeKV("enc", op.Input("in", flow, weirtest.NewSource(items...).BatchSize(4)), kafka.Serde[int](intSerde{}), kafka.EncodeKeyWith(upperKey{}))
	op.Output("recs", msgs, recs)
	weirtest.Run(t, flow, 1)
	got := recs.Items()
	if len(got) != len(items) {
		t.Fatalf("got %d records, want %d", len(got), len(items))
	}
	for _, m := range got {
		_ = append(m.Value, '!') // must not reach the next record
	}
	for i, m := range got {
		wantK, wantV := strings.ToUpper(items[i].Key), strconv.Itoa(items[i].Value)
		if string(m.Key) != wantK || string(m.Value) != wantV {
			t.Errorf("record %d: key %q value %q, want %q %q", i, m.Key, m.Value, wantK, wantV)
		}
	}
}

func TestEncodeErrorStopsTheRun(t *testing.T) {
	flow := weir.NewDataflow("f")
	msgs := kafka.Encode("enc", op.Input("in", flow, weirtest.NewSource(1, -2, 3)), kafka.Serde[int](intSerde{}))
	op.Output("recs", msgs, weirtest.NewSink[kafka.Message]())
	err := run.Run(context.Background(), flow, run.Workers(1))
	var ee *kafka.EncodeError
	if !errors.As(err, &ee) || ee.Step != "f.enc" || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("run error %v, want an EncodeError of step f.enc", err)
	}
}

// FuzzDecodeJSON: whatever a record holds, decoding it gives an item or a dead letter,
// never a panic, and the item is what encoding/json itself makes of it.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"id":1,"item":"x","price":1.5}`, `{"id":`, `[]`, ``, `null`, `{"id":1e400}`, "\xff"} {
		f.Add([]byte(s))
	}
	serde := kafka.JSON[jsonOrder]()
	f.Fuzz(func(t *testing.T, b []byte) {
		var got jsonOrder
		err := serde.Decode(b, &got)
		var want jsonOrder
		wantErr := json.Unmarshal(b, &want)
		if (err == nil) != (wantErr == nil) || got != want {
			t.Fatalf("Decode(%q) = %v, %v; encoding/json gives %v, %v", b, got, err, want, wantErr)
		}
		if err == nil {
			enc, err := serde.AppendEncode(nil, got)
			if err != nil {
				t.Fatal(err)
			}
			var again jsonOrder
			if err := serde.Decode(enc, &again); err != nil || again != got {
				t.Fatalf("round trip of %v: %v, %v", got, again, err)
			}
		}
	})
}
