package codec

import (
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"testing"
	"time"
)

func TestJSON(t *testing.T) {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	var nilPtr *int
	custom, _ := For[point]().Encode(point{1, 2})
	arrayKeys, _ := Marshal(map[[2]int]string{{1, 2}: "a"})
	tests := []struct {
		name string
		v    any // encoded with Marshal, unless data is set
		data []byte
		want string
	}{
		{"int", 42, nil, `42`},
		{"negative", -3, nil, `-3`},
		{"string", "a<b>&c\n", nil, `"a<b>&c\n"`},
		{"bool", true, nil, `true`},
		{"nil", nilPtr, nil, `null`},
		{"float", 1.5, nil, `1.5`},
		{"NaN", math.NaN(), nil, `"NaN"`},
		{"infinities", []float64{math.Inf(1), math.Inf(-1)}, nil, `["+Inf","-Inf"]`},
		{"big int", huge, nil, `123456789012345678901234567890`},
		{"bytes", []byte{1, 2, 3}, nil, `"AQID"`},
		{"struct", state{Name: "x", Count: 3, Seen: time.Date(2026, 11, 23, 10, 0, 0, 123456789, time.UTC),
			Tags: map[string][]float64{"t": {1.5}}, Items: []string{"a", "b"}}, nil,
			`{"Count":3,"Items":["a","b"],"Name":"x","Seen":"2026-11-23T10:00:00.123456789Z","Tags":{"t":[1.5]}}`},
		{"time with zone", time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)), nil, `"2026-01-02T03:04:05+01:00"`},
		{"int keys", map[int]string{2: "b", 10: "a", -1: "c"}, nil, `{"-1":"c","10":"a","2":"b"}`},
		{"bool keys", map[bool]int{true: 1, false: 0}, nil, `{"false":0,"true":1}`},
		{"float keys", map[float64]int{math.NaN(): 1, 0.5: 2}, nil, `{"0.5":2,"NaN":1}`},
		{"keys alike", map[any]int{1: 2, "1": 1}, nil, `{"1":1,"1":2}`},
		{"byte string keys", nil, []byte{Version, 0xa1, 0x42, 1, 2, 0x03}, `{"AQI=":3}`},
		{"other tag", nil, []byte{Version, 0xd8, 0x64, 0x01}, `{"tag":100,"value":1}`},
		{"simple value", nil, []byte{Version, 0xf0}, `{"simple":16}`},
		{"undefined", nil, []byte{Version, 0xf7}, `null`},
		{"array keys", nil, arrayKeys, `{"format":"cbor","diagnostic":"{[1, 2]: \"a\"}"}`},
		{"custom codec", nil, custom, `{"format":"custom","codec":"point","bytes":"AAAAAQAAAAI="}`},
		{"custom codec, no bytes", nil, []byte("\x02\x01x"), `{"format":"custom","codec":"x","bytes":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.data
			if data == nil {
				var err error
				if data, err = Marshal(tt.v); err != nil {
					t.Fatal(err)
				}
			}
			got, err := JSON(data)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("JSON = %s\nwant   %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("%s is not valid JSON", got)
			}
		})
	}
}

func TestJSONErrors(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		is   error
	}{
		{"empty", nil, nil},
		{"unknown version", []byte{9, 1}, ErrVersion},
		{"truncated name", []byte{Custom, 3, 'a'}, nil},
		{"not cbor", []byte{Version, 0xff}, nil},
		{"truncated cbor", []byte{Version, 0x82, 1}, nil},
		{"trailing bytes", []byte{Version, 1, 2}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := JSON(tt.data)
			if err == nil {
				t.Fatalf("JSON = %s, want an error", got)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
		})
	}
}

// Rendering untrusted bytes must fail cleanly or give valid JSON, never panic.
func FuzzJSON(f *testing.F) {
	for _, v := range []any{1, "s", []byte{1}, map[int]any{1: []any{nil, 1.5}},
		state{Name: "n", Seen: time.Unix(0, 0).UTC(), Items: []string{"x"}}} {
		b, _ := Marshal(v)
		f.Add(b)
	}
	f.Add([]byte("\x02\x01xyz"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if out, err := JSON(data); err == nil && !json.Valid(out) {
			t.Fatalf("JSON(%x) = %s, not valid JSON", data, out)
		}
	})
}
