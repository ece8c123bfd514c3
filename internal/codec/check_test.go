package codec

import (
	"math/big"
	"reflect"
	"strings"
	"testing"
	"time"
)

type (
	exported struct {
		A int
		B []string
		C map[string]*exported
		T time.Time
		N *big.Int
		_ int
	}
	hidden       struct{ a int }
	inner        struct{ X, y int }
	nested       struct{ In []map[string]inner }
	selfMarshal  struct{ a int }
	embedsHidden struct {
		hiddenEmbed
		Z int
	}
	hiddenEmbed struct{ Y int }
	recursive   struct {
		Next *recursive
		Kids []recursive
	}
)

func (selfMarshal) MarshalBinary() ([]byte, error) { return nil, nil }

// Check finds the unexported fields that CBOR would drop, at any depth, and nothing else.
func TestCheck(t *testing.T) {
	for _, c := range []struct {
		typ  reflect.Type
		want string // in the error; "" for none
	}{
		{reflect.TypeFor[int](), ""},
		{reflect.TypeFor[exported](), ""},
		{reflect.TypeFor[embedsHidden](), ""},
		{reflect.TypeFor[recursive](), ""},
		{reflect.TypeFor[selfMarshal](), ""},
		{reflect.TypeFor[[]selfMarshal](), ""},
		{reflect.TypeFor[point](), ""},
		{reflect.TypeFor[hidden](), "codec.hidden has unexported field a"},
		{reflect.TypeFor[*hidden](), "codec.hidden has unexported field a"},
		{reflect.TypeFor[nested](), "codec.inner has unexported field y"},
		{reflect.TypeFor[map[hidden]int](), "codec.hidden"},
		{reflect.TypeFor[[2]hidden](), "codec.hidden"},
	} {
		err := Check(c.typ)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("Check(%v) = %v, want nil", c.typ, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("Check(%v) = %v, want an error with %q", c.typ, err, c.want)
		}
	}
}
