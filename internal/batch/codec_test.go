package batch_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/graph"
)

// order is an ordinary item type: CBOR carries it, slices and maps included.
type order struct {
	ID     int64
	Lines  []line
	Tags   map[string]int
	Note   string
	Cents  float64
	Paid   bool
	Extras []string
}

type line struct {
	SKU string
	Qty uint16
}

// pt has a registered codec, which counts its calls: two big-endian int32s.
type pt struct{ X, Y int32 }

type ptCodec struct{}

var ptEncoded, ptDecoded atomic.Int64

// errBadPoint is what ptCodec returns for a point it refuses.
var errBadPoint = errors.New("x below -1000")

func (ptCodec) Encode(p pt) ([]byte, error) {
	ptEncoded.Add(1)
	if p.X < -1000 {
		return nil, errBadPoint
	}
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, uint32(p.X)), uint32(p.Y)), nil
}

func (ptCodec) Decode(b []byte) (pt, error) {
	ptDecoded.Add(1)
	if len(b) != 8 {
		return pt{}, fmt.Errorf("want 8 bytes, got %d", len(b))
	}
	p := pt{int32(binary.BigEndian.Uint32(b)), int32(binary.BigEndian.Uint32(b[4:]))}
	if p.X < -1000 {
		return pt{}, errBadPoint
	}
	return p, nil
}

// tag has a registered codec that panics on bytes it did not write.
type tag string

type tagCodec struct{}

func (tagCodec) Encode(t tag) ([]byte, error) { return append([]byte{'T'}, t...), nil }
func (tagCodec) Decode(b []byte) (tag, error) {
	if b[0] != 'T' { // panics on empty bytes too
		panic("not a tag")
	}
	return tag(b[1:]), nil
}

func init() {
	codec.Register[pt]("batch-test-pt", ptCodec{})
	codec.Register[tag]("batch-test-tag", tagCodec{})
}

// roundTrip encodes b after a prefix that must survive, decodes it and checks that the
// items are b's.
func roundTrip[T any](t *testing.T, b []T) []byte {
	t.Helper()
	o := batch.NewOps[T]()
	prefix := []byte("frame header")
	var in any
	if b != nil {
		in = b
	}
	data, err := o.AppendEncode(bytes.Clone(prefix), in)
	if err != nil {
		t.Fatalf("encode %T: %v", b, err)
	}
	if !bytes.HasPrefix(data, prefix) {
		t.Fatalf("encode %T overwrote dst: %q", b, data)
	}
	got, err := o.Decode(data[len(prefix):])
	if err != nil {
		t.Fatalf("decode %T: %v", b, err)
	}
	items, ok := got.([]T)
	if !ok || got == nil {
		t.Fatalf("decoded %#v, want a %T", got, b)
	}
	if len(b) == 0 {
		if len(items) != 0 {
			t.Fatalf("decoded %v from an empty batch", items)
		}
	} else if !reflect.DeepEqual(items, b) {
		t.Fatalf("round trip of %T:\n got %#v\nwant %#v", b, items, b)
	}
	return data[len(prefix):]
}

func TestCodecRoundTrip(t *testing.T) {
	t.Run("int", func(t *testing.T) { roundTrip(t, []int{0, 1, -1, 1 << 40, -1 << 62}) })
	t.Run("string", func(t *testing.T) { roundTrip(t, []string{"", "a", "héllo", strings.Repeat("x", 300)}) })
	t.Run("KV[int]", func(t *testing.T) {
		roundTrip(t, []weir.KV[int]{{Key: "a", Value: 1}, {Key: "", Value: -2}, {Key: "a", Value: 3}})
	})
	t.Run("struct", func(t *testing.T) {
		roundTrip(t, []order{
			{ID: 1, Lines: []line{{"sku-1", 2}, {"sku-2", 1}}, Tags: map[string]int{"new": 1, "gift": 2},
				Note: "ring twice", Cents: 12.5, Paid: true, Extras: []string{"a", ""}},
			{ID: 2},
		})
	})
	t.Run("KV[struct]", func(t *testing.T) {
		roundTrip(t, []weir.KV[order]{{Key: "k", Value: order{ID: 7, Tags: map[string]int{"x": 0}}}})
	})
	t.Run("empty", func(t *testing.T) {
		roundTrip(t, []int{})
		roundTrip[int](t, nil)
		roundTrip(t, []pt{})
		roundTrip[weir.KV[pt]](t, nil)
	})
}

// KV items are written as CBOR arrays of key and value, without the field names.
func TestCodecKVPairs(t *testing.T) {
	data := roundTrip(t, []weir.KV[[]int]{{Key: "a", Value: []int{1}}, {Key: "", Value: []int{-2}}})
	want := []byte{codec.Version, 0x82, 0x82, 0x61, 'a', 0x81, 0x01, 0x82, 0x60, 0x81, 0x21}
	if !bytes.Equal(data, want) {
		t.Errorf("encoded % x, want % x", data, want)
	}
}

type celsius float32

// Items of a basic type, and KV items of one, go in the Plain codec: exact bytes for a
// KV[int] batch, round trips of every basic kind, and damage refused.
func TestCodecPlain(t *testing.T) {
	data := roundTrip(t, []weir.KV[int]{{Key: "a", Value: 1}, {Key: "", Value: -2}})
	want := append(codec.AppendPrefix(nil, batch.Plain), 2, 1, 'a', 2, 0, 3)
	if !bytes.Equal(data, want) {
		t.Errorf("encoded % x, want % x", data, want)
	}
	roundTrip(t, []int8{math.MinInt8, -1, 0, math.MaxInt8})
	roundTrip(t, []int16{math.MinInt16, math.MaxInt16})
	roundTrip(t, []int32{math.MinInt32, math.MaxInt32})
	roundTrip(t, []int64{math.MinInt64, math.MaxInt64})
	roundTrip(t, []uint8{0, 255})
	roundTrip(t, []uint16{math.MaxUint16})
	roundTrip(t, []uint32{math.MaxUint32})
	roundTrip(t, []uint{0, math.MaxUint})
	roundTrip(t, []float64{0, -1.5, math.Inf(1), math.MaxFloat64})
	roundTrip(t, []celsius{-40, 21.5})
	roundTrip(t, []bool{true, false})
	roundTrip(t, []weir.KV[string]{{Key: "k", Value: "v"}, {Key: "", Value: ""}})
	roundTrip(t, []weir.KV[float64]{{Key: "k", Value: 2.5}})
	roundTrip(t, []weir.KV[bool]{{Key: "k", Value: true}})
	for _, bad := range [][]byte{
		append(codec.AppendPrefix(nil, batch.Plain), 3, 1, 'a', 2),    // fewer items than counted
		append(codec.AppendPrefix(nil, batch.Plain), 1, 1, 'a', 2, 9), // bytes after the last
		append(codec.AppendPrefix(nil, batch.Plain), 1, 1, 'a', 0x80), // a varint cut short
		append(codec.AppendPrefix(nil, batch.Plain), 1, 5, 'a'),       // a key longer than what is left
		append(codec.AppendPrefix(nil, batch.Plain), 200, 1, 'a', 2),  // a count above the bytes
	} {
		if _, err := batch.NewOps[weir.KV[int]]().Decode(bad); !errors.Is(err, batch.ErrCodec) {
			t.Errorf("decode % x: %v, want a *CodecError", bad, err)
		}
	}
	if _, err := batch.NewOps[bool]().Decode(append(codec.AppendPrefix(nil, batch.Plain), 1, 2)); !errors.Is(err, batch.ErrCodec) {
		t.Errorf("a bool byte of 2: %v, want a *CodecError", err)
	}
	if _, err := batch.NewOps[float64]().Decode(append(codec.AppendPrefix(nil, batch.Plain), 1, 1, 2, 3)); !errors.Is(err, batch.ErrCodec) {
		t.Errorf("a float cut short: %v, want a *CodecError", err)
	}
}

// A codec registered for the item type, or for the value of KV items, encodes the items
// instead of CBOR, one call per item.
func TestCodecRegistered(t *testing.T) {
	items := []pt{{1, 2}, {-3, 4}, {0, 0}}
	enc, dec := ptEncoded.Load(), ptDecoded.Load()
	data := roundTrip(t, items)
	if n := ptEncoded.Load() - enc; n != 3 {
		t.Errorf("the registered codec encoded %d items, want 3", n)
	}
	if n := ptDecoded.Load() - dec; n != 3 {
		t.Errorf("the registered codec decoded %d items, want 3", n)
	}
	want := codec.AppendPrefix(nil, "batch-test-pt")
	if !bytes.HasPrefix(data, want) {
		t.Errorf("encoded %q, want it to start with %q", data, want)
	}
	// One byte of count, then per item one byte of length and 8 of the codec's.
	if len(data) != len(want)+1+3*9 {
		t.Errorf("encoded %d bytes, want %d", len(data), len(want)+1+3*9)
	}

	kvs := []weir.KV[pt]{{Key: "a", Value: pt{1, 2}}, {Key: "", Value: pt{3, 4}}, {Key: "long key", Value: pt{5, 6}}}
	enc = ptEncoded.Load()
	data = roundTrip(t, kvs)
	if n := ptEncoded.Load() - enc; n != 3 {
		t.Errorf("the value's codec encoded %d values, want 3", n)
	}
	if !bytes.HasPrefix(data, want) {
		t.Errorf("encoded KV items %q, want them to start with %q", data, want)
	}
	roundTrip(t, []tag{"a", "", "bc"})
	roundTrip(t, []weir.KV[tag]{{Key: "k", Value: "v"}})
}

// Errors say which item type and codec failed, and wrap the cause.
func TestCodecErrors(t *testing.T) {
	o := batch.NewOps[pt]()
	dst := []byte("keep")
	out, err := o.AppendEncode(dst, []pt{{1, 1}, {-2000, 0}})
	if !errors.Is(err, errBadPoint) || !errors.Is(err, batch.ErrCodec) {
		t.Fatalf("encode error %v, want one wrapping %v", err, errBadPoint)
	}
	if string(out) != "keep" {
		t.Errorf("dst after a failed encode = %q, want it as it came", out)
	}
	var ce *batch.CodecError
	if !errors.As(err, &ce) || ce.Type != "batch_test.pt" || ce.Codec != "batch-test-pt" || ce.Op != "encode" {
		t.Fatalf("error %#v, want a *CodecError naming the type and codec", err)
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "weir: exchange: ") || !strings.Contains(msg, "batch_test.pt") || !strings.Contains(msg, "item 1") {
		t.Errorf("message %q does not name the item type and item", msg)
	}

	ints, err := batch.NewOps[int]().AppendEncode(nil, []int{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	pts, err := o.AppendEncode(nil, []pt{{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		ops  graph.BatchOps
		data []byte
		want error // nil: any *CodecError
		in   string
	}{
		{"CBOR read by a registered codec", o, ints, codec.ErrOtherCodec, "batch_test.pt"},
		{"a registered codec's read as CBOR", batch.NewOps[int](), pts, codec.ErrOtherCodec, "int"},
		{"another registered codec's", batch.NewOps[tag](), pts, codec.ErrOtherCodec, "batch_test.tag"},
		{"an unknown format", o, []byte{9, 1, 2}, codec.ErrVersion, "batch_test.pt"},
		{"empty", o, nil, nil, "batch_test.pt"},
		{"truncated", o, pts[:len(pts)-1], nil, "batch_test.pt"},
		{"trailing bytes", o, append(bytes.Clone(pts), 0), nil, "batch_test.pt"},
		{"a huge count", o, binary.AppendUvarint(codec.AppendPrefix(nil, "batch-test-pt"), 1<<60), nil, "batch_test.pt"},
		{"CBOR of another type", batch.NewOps[string](), ints, nil, "string"},
		{"a panicking codec", batch.NewOps[tag](), append(codec.AppendPrefix(nil, "batch-test-tag"), 1, 1, 'x'), nil, "batch_test.tag"},
		{"KV truncated in the key", batch.NewOps[weir.KV[pt]](), append(codec.AppendPrefix(nil, "batch-test-pt"), 1, 5, 'a'), nil, "batch_test.pt]"},
	} {
		got, err := c.ops.Decode(c.data)
		if err == nil {
			t.Errorf("%s: decoded %v, want an error", c.name, got)
			continue
		}
		if !errors.Is(err, batch.ErrCodec) || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: error %v, want one matching %v", c.name, err, c.want)
		}
		if !strings.Contains(err.Error(), c.in) || !strings.Contains(err.Error(), "decode") {
			t.Errorf("%s: message %q does not name %s", c.name, err, c.in)
		}
	}
}

// secret is an item type CBOR would not carry whole: its unexported field would be lost.
type secret struct {
	Name string
	pin  int
}

// An item type with a field CBOR would drop is refused, both ways, rather than sent without it.
func TestCodecUnexportedField(t *testing.T) {
	for _, c := range []struct {
		ops graph.BatchOps
		b   any
	}{
		{batch.NewOps[secret](), []secret{{"a", 1}}},
		{batch.NewOps[weir.KV[[]secret]](), []weir.KV[[]secret]{{Key: "k"}}},
	} {
		_, err := c.ops.AppendEncode(nil, c.b)
		if !errors.Is(err, batch.ErrCodec) || !strings.Contains(err.Error(), "batch_test.secret has unexported field pin") {
			t.Errorf("encode %T: %v, want an error naming the field", c.b, err)
		}
		if _, err := c.ops.Decode([]byte{codec.Version, 0x80}); err == nil || !strings.Contains(err.Error(), "unexported field pin") {
			t.Errorf("decode %T: %v, want an error naming the field", c.b, err)
		}
	}
}

// Arbitrary bytes never panic a decoder, and a batch that decodes encodes again to bytes
// that decode to the same batch.
func FuzzDecode(f *testing.F) {
	seed := func(ops graph.BatchOps, b any) {
		data, err := ops.AppendEncode(nil, b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	seed(batch.NewOps[int](), []int{1, -2, 3})
	seed(batch.NewOps[string](), []string{"a", ""})
	seed(batch.NewOps[weir.KV[int]](), []weir.KV[int]{{Key: "a", Value: 1}})
	seed(batch.NewOps[order](), []order{{ID: 1, Lines: []line{{"s", 1}}, Tags: map[string]int{"t": 1}}})
	seed(batch.NewOps[pt](), []pt{{1, 2}, {3, 4}})
	seed(batch.NewOps[weir.KV[pt]](), []weir.KV[pt]{{Key: "k", Value: pt{1, 2}}})
	seed(batch.NewOps[weir.KV[tag]](), []weir.KV[tag]{{Key: "k", Value: "v"}})
	seed(batch.NewOps[int](), []int{})
	seed(batch.NewOps[float64](), []float64{1.5})
	seed(batch.NewOps[weir.KV[bool]](), []weir.KV[bool]{{Key: "k", Value: true}})
	f.Add([]byte{})
	f.Add([]byte{codec.Version, 0xf6})
	all := []graph.BatchOps{
		batch.NewOps[int](), batch.NewOps[string](), batch.NewOps[weir.KV[int]](),
		batch.NewOps[order](), batch.NewOps[pt](), batch.NewOps[weir.KV[pt]](),
		batch.NewOps[tag](), batch.NewOps[weir.KV[tag]](),
		batch.NewOps[float64](), batch.NewOps[uint8](), batch.NewOps[weir.KV[bool]](), batch.NewOps[weir.KV[float32]](),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, ops := range all {
			b, err := ops.Decode(data)
			if err != nil {
				if !errors.Is(err, batch.ErrCodec) {
					t.Fatalf("decode error %v is not a *CodecError", err)
				}
				continue
			}
			if b == nil {
				t.Fatal("decoded a nil batch without an error")
			}
			again, err := ops.AppendEncode(nil, b)
			if err != nil {
				t.Fatalf("%T decoded from %q does not encode again: %v", b, data, err)
			}
			b2, err := ops.Decode(again)
			if err != nil {
				t.Fatalf("%T encoded as %q does not decode again: %v", b, again, err)
			}
			// Deterministic encodings: the same batch gives the same bytes (NaN included,
			// which DeepEqual would call different from itself).
			third, err := ops.AppendEncode(nil, b2)
			if err != nil || !bytes.Equal(third, again) {
				t.Fatalf("%T: encoded %q, then %q (%v)", b, again, third, err)
			}
		}
	})
}

// BenchmarkCodec encodes and decodes batches of FlushItems (1024) items, the size the
// engine sends: MB/s counts the encoded bytes, items/s the items, both for one encode and
// one decode. The cluster's frame format is chosen by these figures.
func BenchmarkCodec(b *testing.B) {
	const n = 1024
	ints := make([]int, n)
	kvs := make([]weir.KV[string], n)
	orders := make([]order, n)
	pts := make([]weir.KV[pt], n)
	for i := range n {
		ints[i] = i * 7919
		kvs[i] = weir.KV[string]{Key: fmt.Sprintf("user-%d", i%100), Value: fmt.Sprintf("page/%d", i)}
		orders[i] = order{ID: int64(i), Lines: []line{{"sku-1", 1}, {"sku-2", 2}},
			Tags: map[string]int{"web": i}, Note: "note", Cents: float64(i) / 3, Paid: i%2 == 0}
		pts[i] = weir.KV[pt]{Key: fmt.Sprintf("user-%d", i%100), Value: pt{int32(i), -int32(i)}}
	}
	b.Run("int", func(b *testing.B) { benchCodec(b, ints) })
	b.Run("KV[string]", func(b *testing.B) { benchCodec(b, kvs) })
	b.Run("struct", func(b *testing.B) { benchCodec(b, orders) })
	b.Run("KV[registered]", func(b *testing.B) { benchCodec(b, pts) })
}

func benchCodec[T any](b *testing.B, items []T) {
	o := batch.NewOps[T]()
	buf, err := o.AppendEncode(nil, items)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		buf, err = o.AppendEncode(buf[:0], items)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := o.Decode(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(items))*float64(b.N)/b.Elapsed().Seconds(), "items/s")
	b.ReportMetric(float64(len(buf))/float64(len(items)), "B/item")
}
