package codec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"
	"unsafe"
)

// point has a registered codec: two big-endian uint32s.
type point struct{ X, Y uint32 }

type pointCodec struct{}

func (pointCodec) Encode(p point) ([]byte, error) {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, p.X), p.Y), nil
}

func (pointCodec) Decode(b []byte) (point, error) {
	if len(b) != 8 {
		return point{}, errors.New("want 8 bytes")
	}
	return point{binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])}, nil
}

// label has a registered codec that panics on bytes it did not write.
type label string

type labelCodec struct{}

func (labelCodec) Encode(l label) ([]byte, error) { return append([]byte{'L'}, l...), nil }
func (labelCodec) Decode(b []byte) (label, error) {
	if b[0] != 'L' { // panics on empty input too
		panic("not a label")
	}
	return label(b[1:]), nil
}

func init() {
	Register[point]("point", pointCodec{})
	Register[label]("label", labelCodec{})
	Register("twice-1", intCodec[regTwice]{})
}

func TestRegisteredCodecIsUsed(t *testing.T) {
	c := For[point]()
	if c.Name() != "point" {
		t.Errorf("name = %q, want point", c.Name())
	}
	b, err := c.Encode(point{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	want := "\x02\x05point\x00\x00\x00\x01\x00\x00\x00\x02"
	if string(b) != want {
		t.Errorf("encoded %q, want %q", b, want)
	}
	got, err := c.Decode(b)
	if err != nil || got != (point{1, 2}) {
		t.Errorf("decoded %v, %v", got, err)
	}
}

func TestUnregisteredTypeUsesCBOR(t *testing.T) {
	c := For[[]string]()
	if c.Name() != CBOR {
		t.Errorf("name = %q, want %q", c.Name(), CBOR)
	}
	b, err := c.Encode([]string{"a"})
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := Marshal([]string{"a"}); string(b) != string(want) {
		t.Errorf("encoded %q, want Marshal's %q", b, want)
	}
	got, err := c.Decode(b)
	if err != nil || len(got) != 1 || got[0] != "a" {
		t.Errorf("decoded %v, %v", got, err)
	}
}

// Every way a stored value can fail to decode is a *DecodeError naming the type and codec.
func TestDecodeErrors(t *testing.T) {
	cborInt, _ := Marshal(7)
	cborMap, _ := Marshal(map[string]int{"X": 1}) // a field that changed kind
	pointBytes, _ := For[point]().Encode(point{1, 2})
	labelBytes, _ := For[label]().Encode("x")
	tests := []struct {
		name  string
		fn    func([]byte) error // decodes with one type's codec
		data  []byte
		typ   string
		codec string
		cause string // in the message
		is    error
	}{
		{"cbor read by a codec", decodeWith[point], cborInt, "codec.point", "point", `written by codec "cbor"`, ErrOtherCodec},
		{"codec read as cbor", decodeWith[int], pointBytes, "int", CBOR, `written by codec "point"`, ErrOtherCodec},
		{"another codec", decodeWith[point], labelBytes, "codec.point", "point", `written by codec "label"`, ErrOtherCodec},
		{"type changed", decodeWith[point2], cborMap, "codec.point2", CBOR, "cannot unmarshal", nil},
		{"int to struct", decodeWith[state], cborInt, "codec.state", CBOR, "cannot unmarshal", nil},
		{"unknown version", decodeWith[int], []byte{9, 1}, "int", CBOR, "unknown format version 9", ErrVersion},
		{"unknown version, codec", decodeWith[point], []byte{9, 1}, "codec.point", "point", "unknown format version 9", ErrVersion},
		{"empty", decodeWith[int], nil, "int", CBOR, "empty", nil},
		{"empty, codec", decodeWith[point], nil, "codec.point", "point", "empty", nil},
		{"truncated name", decodeWith[point], []byte{Custom, 5, 'p'}, "codec.point", "point", "truncated", nil},
		{"garbage cbor", decodeWith[int], []byte{Version, 0xff, 0xff}, "int", CBOR, "cbor", nil},
		{"trailing bytes", decodeWith[int], append(cborInt, 0), "int", CBOR, "extraneous", nil},
		{"codec error", decodeWith[point], pointBytes[:len(pointBytes)-1], "codec.point", "point", "want 8 bytes", nil},
		{"codec panic", decodeWith[label], []byte("\x02\x05labelZ"), "codec.label", "label", `codec "label" panicked: not a label`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.fn(tt.data)
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v is not a *DecodeError", err)
			}
			if de.Type != tt.typ || de.Codec != tt.codec {
				t.Errorf("type, codec = %q, %q; want %q, %q", de.Type, de.Codec, tt.typ, tt.codec)
			}
			if !strings.Contains(err.Error(), tt.cause) || !strings.Contains(err.Error(), tt.typ) {
				t.Errorf("message %q lacks %q or %q", err, tt.cause, tt.typ)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

type point2 struct{ X []string }

func decodeWith[T any](b []byte) error {
	_, err := For[T]().Decode(b)
	return err
}

// Distinct types per case: the registry is global and keeps what earlier cases registered.
type (
	regNil         int
	regEmpty       int
	regCBOR        int
	regLong        int
	regTwice       int
	regNameUsed    int
	regAfterFor    int
	regAfterErased int
)

type intCodec[T ~int] struct{}

func (intCodec[T]) Encode(T) ([]byte, error) { return nil, nil }
func (intCodec[T]) Decode([]byte) (T, error) { return 0, nil }

func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name string
		fn   func()
		msg  string
	}{
		{"nil codec", func() { Register[regNil]("nil", nil) }, "nil codec registered for codec.regNil"},
		{"empty name", func() { Register("", intCodec[regEmpty]{}) }, `invalid codec name ""`},
		{"reserved name", func() { Register("cbor", intCodec[regCBOR]{}) }, `invalid codec name "cbor"`},
		{"long name", func() { Register(strings.Repeat("n", 256), intCodec[regLong]{}) }, "invalid codec name"},
		{"type twice", func() { Register("twice-2", intCodec[regTwice]{}) }, `codec "twice-2" registered for codec.regTwice, which already has codec "twice-1"`},
		{"name taken", func() { Register("point", intCodec[regNameUsed]{}) }, `codec name "point" registered for codec.regNameUsed is already taken by codec.point`},
		{"after For", func() {
			For[regAfterFor]()
			Register("late", intCodec[regAfterFor]{})
		}, "after a step started encoding codec.regAfterFor with CBOR"},
		{"after Registered", func() {
			Registered(reflect.TypeFor[regAfterErased]())
			Register("late-erased", intCodec[regAfterErased]{})
		}, "after a step started encoding codec.regAfterErased with CBOR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, tt.msg) || !strings.HasPrefix(msg, "weir: ") {
					t.Errorf("panic %v, want one containing %q", r, tt.msg)
				}
			}()
			tt.fn()
		})
	}
	// A failed registration leaves nothing behind.
	if For[regNameUsed]().Name() != CBOR {
		t.Error("a refused codec was registered")
	}
}

// Decoding untrusted bytes with a registered codec must fail cleanly, never panic.
func FuzzDecodeCustom(f *testing.F) {
	b, _ := For[point]().Encode(point{3, 4})
	f.Add(b)
	f.Add([]byte{Custom, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		For[point]().Decode(data)
		For[label]().Decode(data)
	})
}

// Registered hands out the registered codec for code that knows the type only at run
// time: the same bytes as the typed codec's, behind the same prefix, and a panic in the
// codec comes back as an error.
func TestRegistered(t *testing.T) {
	if _, ok := Registered(reflect.TypeFor[[]float32]()); ok {
		t.Fatal("a codec for a type without one")
	}
	c, ok := Registered(reflect.TypeFor[point]())
	if !ok || c.Name != "point" {
		t.Fatalf("Registered(point) = %q, %v; want point, true", c.Name, ok)
	}
	p := point{1, 2}
	raw, err := c.Encode(unsafe.Pointer(&p))
	if err != nil {
		t.Fatal(err)
	}
	typed, _ := For[point]().Encode(p)
	if got := append(AppendPrefix(nil, c.Name), raw...); !bytes.Equal(got, typed) {
		t.Errorf("prefix and erased bytes %q, want the typed codec's %q", got, typed)
	}
	var q point
	if err := c.Decode(raw, unsafe.Pointer(&q)); err != nil || q != p {
		t.Errorf("decoded %v, %v; want %v", q, err, p)
	}
	if err := c.Decode(raw[1:], unsafe.Pointer(&q)); err == nil || q != p {
		t.Errorf("decoding short bytes: %v, and the value became %v", err, q)
	}
	l, _ := Registered(reflect.TypeFor[label]())
	var lv label
	if err := l.Decode(nil, unsafe.Pointer(&lv)); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("a panicking codec: %v, want an error", err)
	}
}

// Payload checks the format bytes as Typed.Decode does, for code that reads the rest.
func TestPayload(t *testing.T) {
	cborInt, _ := Marshal(7)
	pointBytes, _ := For[point]().Encode(point{1, 2})
	for _, c := range []struct {
		data []byte
		name string
		want string // the payload, or
		is   error  // the error it matches
	}{
		{cborInt, CBOR, string(cborInt[1:]), nil},
		{pointBytes, "point", string(pointBytes[7:]), nil},
		{cborInt, "point", "", ErrOtherCodec},
		{pointBytes, CBOR, "", ErrOtherCodec},
		{pointBytes, "label", "", ErrOtherCodec},
		{[]byte{9}, CBOR, "", ErrVersion},
		{nil, CBOR, "", errEmpty},
		{[]byte{Custom, 5, 'p'}, "point", "", nil},
	} {
		got, err := Payload(c.data, c.name)
		switch {
		case c.want != "" && (err != nil || string(got) != c.want):
			t.Errorf("Payload(%q, %q) = %q, %v; want %q", c.data, c.name, got, err, c.want)
		case c.want == "" && (err == nil || c.is != nil && !errors.Is(err, c.is)):
			t.Errorf("Payload(%q, %q) = %q, %v; want an error matching %v", c.data, c.name, got, err, c.is)
		}
	}
	if got := AppendPrefix([]byte("x"), CBOR); string(got) != "x\x01" {
		t.Errorf("AppendPrefix(CBOR) = %q", got)
	}
}
