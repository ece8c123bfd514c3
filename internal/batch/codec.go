package batch

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"unsafe"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/graph"
)

// An encoded batch starts with the format bytes of internal/codec: Version for CBOR, or
// Custom and the name of a registered codec. A CBOR batch is the CBOR array of its items;
// KV items are arrays of key and value there, not maps with the field names, which would
// add 10 bytes an item and about double the time of a batch of short strings.
//
// A batch written with a registered codec is the item count (uvarint), then per item its
// length (uvarint) and the codec's bytes, or, for KV[V] items whose V has the codec, the
// key's length and bytes and then the value's. So the codec a user registers for a state
// or item type (recovery.RegisterCodec) carries it across processes too, and a KV's key
// needs no codec.
//
// Items of a basic type (a string, a number, a bool), and KV items whose value is one, go
// in the Plain codec instead (plain.go), unless a codec is registered for the type.
//
// An item type that CBOR would not carry whole, one with an unexported field at any depth
// (see codec.Check), is refused with an error naming the field, unless a codec is
// registered for it: a batch must not arrive without fields it left with.
//
// The codec of an item type is chosen on its first batch encoded or decoded, not when a
// step is built, so that a run in one process, which never encodes, fixes no codec.

// ErrCodec reports a batch that cannot be encoded or decoded; the error is a *CodecError.
var ErrCodec = errors.New("weir: exchange: batch codec failed")

// CodecError reports a batch of Type that the codec named Codec ("cbor" or a registered
// name) failed to encode or decode (Op).
type CodecError struct {
	Op    string // "encode" or "decode"
	Type  string // the item type, as in "main.Order" or "weir.KV[main.Order]"
	Codec string
	Cause error
}

func (e *CodecError) Error() string {
	return fmt.Sprintf("weir: exchange: cannot %s a batch of %s with codec %q: %v", e.Op, e.Type, e.Codec, e.Cause)
}

func (e *CodecError) Unwrap() error        { return e.Cause }
func (e *CodecError) Is(target error) bool { return target == ErrCodec }

func (o *Ops[T]) AppendEncode(dst []byte, b any) ([]byte, error) {
	c := o.codec()
	var items []T
	if b != nil {
		items = b.([]T)
	}
	out, err := c.appendEncode(dst, items)
	if err != nil {
		return dst, &CodecError{Op: "encode", Type: c.typ, Codec: c.name, Cause: err}
	}
	return out, nil
}

func (o *Ops[T]) Decode(data []byte) (any, error) {
	c := o.codec()
	items, err := c.decode(data)
	if err != nil {
		return nil, &CodecError{Op: "decode", Type: c.typ, Codec: c.name, Cause: err}
	}
	return items, nil
}

// itemCodec is how batches of T are encoded.
type itemCodec[T any] struct {
	typ  string // T's name, for errors
	name string // codec.CBOR or a registered name
	// reg is the registered codec, of T or of the value of a KV T; nil fields for CBOR.
	reg codec.Erased
	// kv is set when reg is the codec of a KV's value, found at valOff in an item.
	kv     bool
	valOff uintptr
	// err, for CBOR, reports an item type that CBOR would not carry whole.
	err error
	// plain, for items of a basic type or KV items of one, is the Plain codec's value.
	plain plainValue
	// pair, for KV items in CBOR, is []struct{Key string; Value V} with the ",toarray"
	// option: the layout of []T, which CBOR writes as [key, value] arrays.
	pair reflect.Type
}

func newItemCodec[T any](t reflect.Type) *itemCodec[T] {
	c := &itemCodec[T]{typ: t.String(), name: codec.CBOR}
	if reg, ok := codec.Registered(t); ok {
		c.name, c.reg = reg.Name, reg
		return c
	}
	if pv, ok := plainOf(t); ok {
		c.name, c.plain = Plain, pv
		return c
	}
	if graph.KeyFunc[T]() != nil { // a KV: its value's codec, if it has one
		v := t.Field(1)
		if reg, ok := codec.Registered(v.Type); ok {
			c.name, c.reg, c.kv, c.valOff = reg.Name, reg, true, v.Offset
		} else if pv, ok := plainOf(v.Type); ok {
			c.name, c.plain, c.kv, c.valOff = Plain, pv, true, v.Offset
			return c
		} else {
			c.pair = pairOf(t)
		}
	}
	if c.reg.Encode == nil {
		// Refused rather than sent without the fields CBOR skips.
		c.err = codec.Check(t)
	}
	return c
}

// pairOf returns the slice type that CBOR encodes KV items of type t through: a struct
// with t's fields at t's offsets (so that a []t is one of them in memory), tagged to be
// written as an array, or nil if the layouts differ.
func pairOf(t reflect.Type) reflect.Type {
	p := reflect.StructOf([]reflect.StructField{
		{Name: "_", PkgPath: reflect.TypeFor[Ops[int]]().PkgPath(), Type: reflect.TypeFor[struct{}](), Tag: `cbor:",toarray"`},
		{Name: "Key", Type: t.Field(0).Type},
		{Name: "Value", Type: t.Field(1).Type},
	})
	if p.Size() != t.Size() || p.Field(1).Offset != t.Field(0).Offset || p.Field(2).Offset != t.Field(1).Offset {
		return nil
	}
	return reflect.SliceOf(p)
}

func (c *itemCodec[T]) appendEncode(dst []byte, items []T) ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.pair != nil {
		return codec.AppendMarshal(dst, reflect.NewAt(c.pair, unsafe.Pointer(&items)).Interface())
	}
	if c.reg.Encode == nil && c.plain.enc == nil {
		return codec.AppendMarshal(dst, items)
	}
	dst = codec.AppendPrefix(dst, c.name)
	dst = binary.AppendUvarint(dst, uint64(len(items)))
	for i := range items {
		p := unsafe.Pointer(&items[i])
		if c.kv {
			key := *(*string)(p)
			dst = binary.AppendUvarint(dst, uint64(len(key)))
			dst = append(dst, key...)
			p = unsafe.Add(p, c.valOff)
		}
		if c.plain.enc != nil {
			dst = c.plain.enc(dst, p)
			continue
		}
		b, err := c.reg.Encode(p)
		if err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
		dst = binary.AppendUvarint(dst, uint64(len(b)))
		dst = append(dst, b...)
	}
	return dst, nil
}

func (c *itemCodec[T]) decode(data []byte) ([]T, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.reg.Decode == nil && c.plain.dec == nil {
		var items []T
		into := any(&items)
		if c.pair != nil {
			into = reflect.NewAt(c.pair, unsafe.Pointer(&items)).Interface()
		}
		if err := codec.Unmarshal(data, into); err != nil {
			return nil, err
		}
		if items == nil {
			items = []T{}
		}
		return items, nil
	}
	payload, err := codec.Payload(data, c.name)
	if err != nil {
		return nil, err
	}
	r := codec.Reader{Data: payload}
	n := r.Count() // every item takes at least a byte
	if r.Err != nil {
		return nil, r.Err
	}
	items := make([]T, n)
	for i := range items {
		p := unsafe.Pointer(&items[i])
		if c.kv {
			*(*string)(p) = string(r.Bytes())
			p = unsafe.Add(p, c.valOff)
		}
		if c.plain.dec != nil {
			if c.plain.dec(&r, p); r.Err != nil {
				return nil, fmt.Errorf("item %d: %w", i, r.Err)
			}
			continue
		}
		b := r.Bytes()
		if r.Err != nil {
			return nil, fmt.Errorf("item %d: %w", i, r.Err)
		}
		if err := c.reg.Decode(b, p); err != nil {
			return nil, fmt.Errorf("item %d: %w", i, err)
		}
	}
	if len(r.Data) > 0 {
		return nil, fmt.Errorf("%d bytes after the last item", len(r.Data))
	}
	return items, nil
}
