package codec

import (
	"encoding"
	"fmt"
	"math/big"
	"reflect"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Check reports a type whose values CBOR would not carry whole: one that holds, at any
// depth, a struct with an unexported field (which CBOR skips, so the value would arrive
// without it), outside a type that encodes itself (cbor.Marshaler,
// encoding.BinaryMarshaler, time.Time, big.Int). Kinds CBOR cannot encode at all, such as
// funcs and channels, fail when encoded and are not reported here; nor are interfaces,
// whose dynamic types are not known.
func Check(t reflect.Type) error {
	return check(t, map[reflect.Type]bool{})
}

var (
	typeMarshaler       = reflect.TypeFor[cbor.Marshaler]()
	typeBinaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()
)

func check(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	if t == reflect.TypeFor[time.Time]() || t == reflect.TypeFor[big.Int]() {
		return nil
	}
	if p := reflect.PointerTo(t); p.Implements(typeMarshaler) || p.Implements(typeBinaryMarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return check(t.Elem(), seen)
	case reflect.Map:
		if err := check(t.Key(), seen); err != nil {
			return err
		}
		return check(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" {
				continue // padding, which holds nothing
			}
			// An embedded struct of an unexported type still has its exported fields
			// carried, as encoding/json does.
			if !f.IsExported() && !(f.Anonymous && f.Type.Kind() == reflect.Struct) {
				return fmt.Errorf("%v has unexported field %s, which CBOR does not carry: export it, or register a codec for the encoded type", t, f.Name)
			}
			if err := check(f.Type, seen); err != nil {
				return err
			}
		}
	}
	return nil
}
