package codec

import (
	"encoding/binary"
	"math"
)

// fastDecode returns, for T one of Go's integer types, a function reading what fastCBOR
// writes: the format byte, then one CBOR integer head in its shortest form and nothing
// after, in T's range. Anything else it leaves to the decoder (ok false), which reads the
// same value from these bytes and reports the others' errors. A resume decodes every
// key's state: through the decoder an int costs reflection and an allocation each.
func fastDecode[T any]() func(data []byte) (v T, ok bool) {
	var f any
	switch any(*new(T)).(type) {
	case int:
		f = func(b []byte) (int, bool) { v, ok := signed(b, math.MinInt, math.MaxInt); return int(v), ok }
	case int64:
		f = func(b []byte) (int64, bool) { return signed(b, math.MinInt64, math.MaxInt64) }
	case int32:
		f = func(b []byte) (int32, bool) { v, ok := signed(b, math.MinInt32, math.MaxInt32); return int32(v), ok }
	case int16:
		f = func(b []byte) (int16, bool) { v, ok := signed(b, math.MinInt16, math.MaxInt16); return int16(v), ok }
	case int8:
		f = func(b []byte) (int8, bool) { v, ok := signed(b, math.MinInt8, math.MaxInt8); return int8(v), ok }
	case uint:
		f = func(b []byte) (uint, bool) { v, ok := unsigned(b, math.MaxUint); return uint(v), ok }
	case uint64:
		f = func(b []byte) (uint64, bool) { return unsigned(b, math.MaxUint64) }
	case uint32:
		f = func(b []byte) (uint32, bool) { v, ok := unsigned(b, math.MaxUint32); return uint32(v), ok }
	case uint16:
		f = func(b []byte) (uint16, bool) { v, ok := unsigned(b, math.MaxUint16); return uint16(v), ok }
	case uint8:
		f = func(b []byte) (uint8, bool) { v, ok := unsigned(b, math.MaxUint8); return uint8(v), ok }
	}
	fn, _ := f.(func([]byte) (T, bool))
	return fn
}

// intHead reads data as the CBOR format byte and one integer head of the shortest form,
// with nothing after it.
func intHead(data []byte) (major byte, n uint64, ok bool) {
	if len(data) < 2 || data[0] != Version {
		return 0, 0, false
	}
	b := data[1:]
	major = b[0] &^ 31
	if major != majorUint && major != majorNeg {
		return 0, 0, false
	}
	switch info := b[0] & 31; {
	case info < 24 && len(b) == 1:
		return major, uint64(info), true
	case info == 24 && len(b) == 2:
		n = uint64(b[1])
		return major, n, n >= 24
	case info == 25 && len(b) == 3:
		n = uint64(binary.BigEndian.Uint16(b[1:]))
		return major, n, n > math.MaxUint8
	case info == 26 && len(b) == 5:
		n = uint64(binary.BigEndian.Uint32(b[1:]))
		return major, n, n > math.MaxUint16
	case info == 27 && len(b) == 9:
		n = binary.BigEndian.Uint64(b[1:])
		return major, n, n > math.MaxUint32
	}
	return 0, 0, false
}

// signed reads data as an integer head holding a value from lo to hi.
func signed(data []byte, lo, hi int64) (int64, bool) {
	major, n, ok := intHead(data)
	switch {
	case !ok || n > math.MaxInt64:
		return 0, false
	case major == majorNeg:
		v := -1 - int64(n)
		return v, v >= lo
	}
	return int64(n), int64(n) <= hi
}

// unsigned reads data as an unsigned integer head holding a value up to hi.
func unsigned(data []byte, hi uint64) (uint64, bool) {
	major, n, ok := intHead(data)
	return n, ok && major == majorUint && n <= hi
}
