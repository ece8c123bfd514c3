package codec

import (
	"encoding/binary"
	"math"
	"testing"
)

// agrees checks fastDecode of T against the CBOR decoder on data: where the fast path
// reads a value, the decoder reads the same one; where it declines, Decode still gives
// the decoder's answer. It reports whether the fast path read data.
func agrees[T comparable](t *testing.T, data []byte) bool {
	t.Helper()
	var want T
	werr := Unmarshal(data, &want)
	fast, ok := fastDecode[T]()(data)
	if ok && (werr != nil || fast != want) {
		t.Errorf("%T of % x: fast path read %v, the decoder %v (%v)", want, data, fast, want, werr)
	}
	got, err := For[T]().Decode(data)
	if (err == nil) != (werr == nil) || err == nil && got != want {
		t.Errorf("%T of % x: Decode gives %v (%v), the decoder %v (%v)", want, data, got, err, want, werr)
	}
	return ok
}

// heads returns data of every integer head form around the edges of the integer types:
// shortest and longer forms, both majors, and a trailing byte.
func heads() [][]byte {
	var out [][]byte
	edges := []uint64{0, 1, 23, 24, 127, 128, 255, 256, 32767, 32768, 65535, 65536,
		math.MaxInt32, math.MaxInt32 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxInt64, math.MaxInt64 + 1, math.MaxUint64}
	for _, major := range []byte{majorUint, majorNeg} {
		for _, n := range edges {
			out = append(out, appendHead([]byte{Version}, major, n))
			for _, info := range []byte{24, 25, 26, 27} { // every longer form that holds n
				b := []byte{Version, major | info}
				switch info {
				case 24:
					if n > math.MaxUint8 {
						continue
					}
					b = append(b, byte(n))
				case 25:
					if n > math.MaxUint16 {
						continue
					}
					b = binary.BigEndian.AppendUint16(b, uint16(n))
				case 26:
					if n > math.MaxUint32 {
						continue
					}
					b = binary.BigEndian.AppendUint32(b, uint32(n))
				case 27:
					b = binary.BigEndian.AppendUint64(b, n)
				}
				out = append(out, b)
			}
			out = append(out, append(appendHead([]byte{Version}, major, n), 0))
		}
	}
	return append(out, nil, []byte{Version}, []byte{Custom, 0}, []byte{Version, 0xf9, 0, 0}, []byte{Version, 0x1c})
}

// The fast path reads exactly what the CBOR decoder reads for Go's integer types, and
// every value the encoder writes takes it.
func TestFastDecode(t *testing.T) {
	for _, data := range heads() {
		agrees[int](t, data)
		agrees[int64](t, data)
		agrees[int32](t, data)
		agrees[int16](t, data)
		agrees[int8](t, data)
		agrees[uint](t, data)
		agrees[uint64](t, data)
		agrees[uint32](t, data)
		agrees[uint16](t, data)
		agrees[uint8](t, data)
	}
	for _, v := range []int64{0, 1, -1, 23, 24, -24, -25, 255, 256, -256, -257, math.MaxInt32, math.MinInt32, math.MaxInt64, math.MinInt64} {
		b, err := For[int64]().Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		if !agrees[int64](t, b) {
			t.Errorf("%d: the encoder's % x does not take the fast path", v, b)
		}
	}
	if fastDecode[string]() != nil || fastDecode[float64]() != nil {
		t.Error("a fast path for a type that is not an integer")
	}
}

// Decoding an int state takes no allocation: a resume decodes every key's.
func TestFastDecodeAllocs(t *testing.T) {
	c := For[int]()
	b, _ := c.Encode(123456)
	if n := testing.AllocsPerRun(100, func() {
		if v, err := c.Decode(b); err != nil || v != 123456 {
			t.Fatal(v, err)
		}
	}); n != 0 {
		t.Errorf("decoding an int allocates %v times", n)
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, b := range heads() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		agrees[int](t, data)
		agrees[int8](t, data)
		agrees[uint32](t, data)
		agrees[uint64](t, data)
	})
}
