package codec

import (
	"fmt"
	"reflect"
	"sync"
	"unsafe"
)

// Codec encodes and decodes the values of one type, in place of CBOR. See Register.
type Codec[T any] interface {
	Encode(v T) ([]byte, error)
	Decode(data []byte) (T, error)
}

// CBOR is the name under which errors and renderings refer to the default codec. No
// registered codec may take it.
const CBOR = "cbor"

// Plain is the name of the built-in codec of batches of basic values between processes
// (internal/batch), which no registered codec may take either.
const Plain = "weir-plain"

// maxName is the longest codec name: its length is stored in one byte.
const maxName = 255

var registry struct {
	sync.Mutex
	byType map[reflect.Type]registered
	byName map[string]reflect.Type
	chosen map[reflect.Type]bool // types whose codec For has handed out
}

type registered struct {
	name   string
	codec  any // a Codec[T] for the key's T
	erased Erased
}

// Register makes c the codec of the values of type T, under name, which is written with
// every value c encodes: a value is decoded only by a codec of the same name, so a
// change of encoding that old values cannot follow should come with a new name.
//
// Register is meant for init functions. It panics when c is nil, when name is empty,
// longer than 255 bytes, "cbor" or "weir-plain", when T or name already has a codec, or when a step has
// already chosen T's codec (For was called for T), since values would then be written
// with two codecs in one run.
func Register[T any](name string, c Codec[T]) {
	t := reflect.TypeFor[T]()
	switch {
	case c == nil:
		panic(fmt.Sprintf("weir: nil codec registered for %v", t))
	case name == "" || len(name) > maxName || name == CBOR || name == Plain:
		panic(fmt.Sprintf("weir: invalid codec name %q for %v: want 1 to %d bytes, not %q or %q", name, t, maxName, CBOR, Plain))
	}
	registry.Lock()
	defer registry.Unlock()
	if r, ok := registry.byType[t]; ok {
		panic(fmt.Sprintf("weir: codec %q registered for %v, which already has codec %q", name, t, r.name))
	}
	if other, ok := registry.byName[name]; ok {
		panic(fmt.Sprintf("weir: codec name %q registered for %v is already taken by %v", name, t, other))
	}
	if registry.chosen[t] {
		panic(fmt.Sprintf("weir: codec %q registered for %v after a step started encoding %v with CBOR; register codecs in init functions", name, t, t))
	}
	if registry.byType == nil {
		registry.byType = map[reflect.Type]registered{}
		registry.byName = map[string]reflect.Type{}
	}
	registry.byType[t] = registered{name: name, codec: c, erased: erase(name, c)}
	registry.byName[name] = t
}

// For returns the codec of T: the one registered for it, or CBOR. It is meant to be
// called once, when a step is built, so that encoding a value looks nothing up. T's codec
// cannot be registered after this call.
func For[T any]() Typed[T] {
	t := reflect.TypeFor[T]()
	registry.Lock()
	defer registry.Unlock()
	if registry.chosen == nil {
		registry.chosen = map[reflect.Type]bool{}
	}
	registry.chosen[t] = true
	c := Typed[T]{typ: t.String(), name: CBOR}
	if r, ok := registry.byType[t]; ok {
		c.name, c.custom = r.name, r.codec.(Codec[T])
		c.prefix = append([]byte{Custom, byte(len(r.name))}, r.name...)
	} else {
		c.fast, c.fastDecode = fastCBOR[T](), fastDecode[T]()
	}
	return c
}

// Erased is a registered codec seen through pointers, for code that knows a value's type
// only at run time, such as the value of a KV[V] in a batch of KV items, without boxing
// each value in an interface.
type Erased struct {
	Name string
	// Encode returns the codec's bytes for the value v points to, without the format
	// bytes that Typed.Encode writes in front.
	Encode func(v unsafe.Pointer) ([]byte, error)
	// Decode decodes the codec's bytes into the value v points to. A panic in the codec
	// is returned as an error.
	Decode func(data []byte, v unsafe.Pointer) error
}

func erase[T any](name string, c Codec[T]) Erased {
	return Erased{
		Name:   name,
		Encode: func(v unsafe.Pointer) ([]byte, error) { return c.Encode(*(*T)(v)) },
		Decode: func(data []byte, v unsafe.Pointer) (err error) {
			// Data from another process may be damaged: a panic is a decode failure.
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("codec %q panicked: %v", name, r)
				}
			}()
			x, err := c.Decode(data)
			if err == nil {
				*(*T)(v) = x
			}
			return err
		},
	}
}

// Registered returns the codec registered for t, if any. Like For, it fixes t's codec:
// none can be registered for t after this call.
func Registered(t reflect.Type) (Erased, bool) {
	registry.Lock()
	defer registry.Unlock()
	if registry.chosen == nil {
		registry.chosen = map[reflect.Type]bool{}
	}
	registry.chosen[t] = true
	r, ok := registry.byType[t]
	return r.erased, ok
}

// AppendPrefix appends the format bytes that come before a value written by the codec
// named name: Version for CBOR, else Custom and the name.
func AppendPrefix(dst []byte, name string) []byte {
	if name == CBOR {
		return append(dst, Version)
	}
	return append(append(dst, Custom, byte(len(name))), name...)
}

// Payload returns what follows the format bytes in data written by the codec named name
// (CBOR or a registered codec). Data of another format is an error matching ErrVersion,
// and data of another codec one matching ErrOtherCodec.
func Payload(data []byte, name string) ([]byte, error) {
	if len(data) == 0 {
		return nil, errEmpty
	}
	switch data[0] {
	case Version:
		if name != CBOR {
			return nil, otherCodecError(CBOR)
		}
		return data[1:], nil
	case Custom:
		got, payload, err := splitCustom(data)
		if err != nil {
			return nil, err
		}
		if got != name {
			return nil, otherCodecError(got)
		}
		return payload, nil
	}
	return nil, versionError(data[0])
}

// Typed is the codec chosen for T by For.
type Typed[T any] struct {
	typ    string   // T's name, for errors
	name   string   // CBOR or the registered name
	custom Codec[T] // nil for CBOR
	prefix []byte   // Custom, the name's length, the name
	// fast appends the CBOR of v without reflection or boxing, for the types whose CBOR
	// is a single head (see fastCBOR); nil for the others.
	fast func(dst []byte, v T) []byte
	// fastDecode reads what fast writes, leaving anything else to the decoder (see
	// fastDecode); nil when fast is.
	fastDecode func(data []byte) (T, bool)
}

// Name returns the codec's name: "cbor" or the name it was registered under.
func (c Typed[T]) Name() string { return c.name }

// Encode encodes v behind its format byte.
func (c Typed[T]) Encode(v T) ([]byte, error) {
	if c.fast != nil {
		return c.fast(append(make([]byte, 0, 1+maxHead), Version), v), nil
	}
	if c.custom == nil {
		return Marshal(v)
	}
	b, err := c.custom.Encode(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(c.prefix)+len(b))
	return append(append(out, c.prefix...), b...), nil
}

// Decode decodes data written by Encode. Any failure, including data of another format
// or codec and a panic in a registered codec, is a *DecodeError.
func (c Typed[T]) Decode(data []byte) (T, error) {
	if c.fastDecode != nil {
		if v, ok := c.fastDecode(data); ok {
			return v, nil
		}
	}
	return c.decode(data)
}

// decode is Decode without the fast path: apart, so that the value the decoder fills in
// escapes to the heap only here.
func (c Typed[T]) decode(data []byte) (v T, err error) {
	if c.custom == nil {
		err = Unmarshal(data, &v)
	} else {
		v, err = c.decodeCustom(data)
	}
	if err != nil {
		var zero T
		return zero, &DecodeError{Type: c.typ, Codec: c.name, Cause: err}
	}
	return v, nil
}

func (c Typed[T]) decodeCustom(data []byte) (v T, err error) {
	payload, err := Payload(data, c.name)
	if err != nil {
		return v, err
	}
	// Stored bytes may be damaged or older than the codec: its panic is a decode failure.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("codec %q panicked: %v", c.name, r)
		}
	}()
	return c.custom.Decode(payload)
}

// DecodeError reports a stored value that cannot be decoded into the type a step expects:
// the type changed, or its codec, or the data is damaged or of an unknown format.
type DecodeError struct {
	Type  string // the Go type decoded into, as in "main.Session"
	Codec string // the codec of that type: "cbor" or a registered name
	Cause error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("cannot decode state into %s with codec %q: %v", e.Type, e.Codec, e.Cause)
}

func (e *DecodeError) Unwrap() error { return e.Cause }
