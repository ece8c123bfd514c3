package batch

import (
	"encoding/binary"
	"math"
	"reflect"
	"unsafe"

	"github.com/weirflow/weir/internal/codec"
)

// Plain is the codec of batches whose items are of a basic type (a string, a number, a
// bool, or a type defined on one) or KV items whose value is: the items a keyed count or
// sum sends between processes. No codec needs registering for them, and they go several
// times faster than as CBOR (BenchmarkMeshItems): after the item count, per item its key's
// length and bytes (KV items) and then its value, a string as its length and bytes, a
// signed integer as a zig-zag varint, an unsigned one as a varint, a float as its IEEE
// bits (4 or 8 bytes), a bool as one byte. Registering a codec for such a type replaces it.
const Plain = codec.Plain

// plainValue writes and reads one value of a basic kind at p.
type plainValue struct {
	enc func(dst []byte, p unsafe.Pointer) []byte
	dec func(r *codec.Reader, p unsafe.Pointer)
}

// plainOf returns the plain codec of values of type t, or false when t is not of a basic
// kind.
func plainOf(t reflect.Type) (plainValue, bool) {
	switch t.Kind() {
	case reflect.String:
		return plainValue{
			func(dst []byte, p unsafe.Pointer) []byte {
				s := *(*string)(p)
				return append(binary.AppendUvarint(dst, uint64(len(s))), s...)
			},
			func(r *codec.Reader, p unsafe.Pointer) { *(*string)(p) = string(r.Bytes()) },
		}, true
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		size := t.Size()
		return plainValue{
			func(dst []byte, p unsafe.Pointer) []byte { return binary.AppendVarint(dst, loadInt(p, size)) },
			func(r *codec.Reader, p unsafe.Pointer) { storeInt(p, size, r.Varint()) },
		}, true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		size := t.Size()
		return plainValue{
			func(dst []byte, p unsafe.Pointer) []byte { return binary.AppendUvarint(dst, loadUint(p, size)) },
			func(r *codec.Reader, p unsafe.Pointer) { storeUint(p, size, r.Uvarint()) },
		}, true
	case reflect.Float64:
		return plainValue{
			func(dst []byte, p unsafe.Pointer) []byte {
				return binary.LittleEndian.AppendUint64(dst, math.Float64bits(*(*float64)(p)))
			},
			func(r *codec.Reader, p unsafe.Pointer) {
				*(*float64)(p) = math.Float64frombits(binary.LittleEndian.Uint64(r.Fixed(8)))
			},
		}, true
	case reflect.Float32:
		return plainValue{
			func(dst []byte, p unsafe.Pointer) []byte {
				return binary.LittleEndian.AppendUint32(dst, math.Float32bits(*(*float32)(p)))
			},
			func(r *codec.Reader, p unsafe.Pointer) {
				*(*float32)(p) = math.Float32frombits(binary.LittleEndian.Uint32(r.Fixed(4)))
			},
		}, true
	case reflect.Bool:
		return plainValue{
			func(dst []byte, p unsafe.Pointer) []byte {
				if *(*bool)(p) {
					return append(dst, 1)
				}
				return append(dst, 0)
			},
			func(r *codec.Reader, p unsafe.Pointer) { *(*bool)(p) = r.Bool() },
		}, true
	}
	return plainValue{}, false
}

func loadInt(p unsafe.Pointer, size uintptr) int64 {
	switch size {
	case 1:
		return int64(*(*int8)(p))
	case 2:
		return int64(*(*int16)(p))
	case 4:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

// storeInt stores v at p in size bytes; a value that does not fit (only a damaged or
// foreign batch has one) is truncated, as a conversion would.
func storeInt(p unsafe.Pointer, size uintptr, v int64) {
	switch size {
	case 1:
		*(*int8)(p) = int8(v)
	case 2:
		*(*int16)(p) = int16(v)
	case 4:
		*(*int32)(p) = int32(v)
	default:
		*(*int64)(p) = v
	}
}

func loadUint(p unsafe.Pointer, size uintptr) uint64 {
	switch size {
	case 1:
		return uint64(*(*uint8)(p))
	case 2:
		return uint64(*(*uint16)(p))
	case 4:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

func storeUint(p unsafe.Pointer, size uintptr, v uint64) {
	switch size {
	case 1:
		*(*uint8)(p) = uint8(v)
	case 2:
		*(*uint16)(p) = uint16(v)
	case 4:
		*(*uint32)(p) = uint32(v)
	default:
		*(*uint64)(p) = v
	}
}
