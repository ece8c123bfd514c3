package codec

import (
	"encoding/binary"
	"math"
)

// AppendEncode appends to dst what Encode returns for v: a snapshot of many keys encodes
// their states into one buffer instead of allocating each. On error dst is returned as it
// came.
func (c Typed[T]) AppendEncode(dst []byte, v T) ([]byte, error) {
	switch {
	case c.fast != nil:
		return c.fast(append(dst, Version), v), nil
	case c.custom == nil:
		return AppendMarshal(dst, v)
	}
	b, err := c.custom.Encode(v)
	if err != nil {
		return dst, err
	}
	return append(append(dst, c.prefix...), b...), nil
}

// maxHead is the longest CBOR head: the initial byte and an 8-byte argument.
const maxHead = 9

// fastCBOR returns, for T one of Go's integer types, a function appending the CBOR of a
// T exactly as the CBOR encoder writes it (an integer is one head, of the shortest
// length), and nil for every other type. The state of many steps is a count or a sum:
// through the encoder, each costs boxing, reflection and two allocations.
func fastCBOR[T any]() func([]byte, T) []byte {
	var f any
	switch any(*new(T)).(type) {
	case int:
		f = func(b []byte, v int) []byte { return appendInt(b, int64(v)) }
	case int64:
		f = appendInt
	case int32:
		f = func(b []byte, v int32) []byte { return appendInt(b, int64(v)) }
	case int16:
		f = func(b []byte, v int16) []byte { return appendInt(b, int64(v)) }
	case int8:
		f = func(b []byte, v int8) []byte { return appendInt(b, int64(v)) }
	case uint:
		f = func(b []byte, v uint) []byte { return appendHead(b, majorUint, uint64(v)) }
	case uint64:
		f = func(b []byte, v uint64) []byte { return appendHead(b, majorUint, v) }
	case uint32:
		f = func(b []byte, v uint32) []byte { return appendHead(b, majorUint, uint64(v)) }
	case uint16:
		f = func(b []byte, v uint16) []byte { return appendHead(b, majorUint, uint64(v)) }
	case uint8:
		f = func(b []byte, v uint8) []byte { return appendHead(b, majorUint, uint64(v)) }
	}
	fn, _ := f.(func([]byte, T) []byte)
	return fn
}

// CBOR's major types of integers, in the initial byte's top three bits.
const (
	majorUint = 0 << 5
	majorNeg  = 1 << 5
)

// appendInt appends v as CBOR: an unsigned integer, or a negative one holding -1-v.
func appendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return appendHead(b, majorUint, uint64(v))
	}
	return appendHead(b, majorNeg, uint64(-1-v))
}

// appendHead appends a CBOR head of major type major and argument n, in the shortest form.
func appendHead(b []byte, major byte, n uint64) []byte {
	switch {
	case n < 24:
		return append(b, major|byte(n))
	case n <= math.MaxUint8:
		return append(b, major|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, major|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, major|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, major|27), n)
}
