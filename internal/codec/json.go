package codec

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/fxamacker/cbor/v2"
)

// generic decodes CBOR without a Go type to guide it, for JSON: times come out as RFC
// 3339 strings.
var generic cbor.DecMode

// JSON renders a stored value for people, as compact JSON, without knowing its Go type.
//
// A CBOR value is decoded generically: a struct comes out as an object of its exported
// fields, a map with keys other than strings as an object whose keys are the keys' JSON
// texts ("2" for 2, "true" for true), byte strings as base64, times as RFC 3339 strings,
// big integers as numbers, NaN and infinities as the strings "NaN", "+Inf" and "-Inf",
// other CBOR tags as {"tag": number, "value": content}. Object keys are sorted. A value
// that has no such rendering, a map keyed by arrays or structs, comes out as
// {"format": "cbor", "diagnostic": its CBOR diagnostic notation (RFC 8949)}.
//
// A value written by a registered codec, whose bytes only that codec can read, comes out
// as {"format": "custom", "codec": its name, "bytes": the bytes in base64}.
func JSON(data []byte) ([]byte, error) {
	if len(data) == 0 {
		return nil, errEmpty
	}
	switch data[0] {
	case Version:
	case Custom:
		name, payload, err := splitCustom(data)
		if err != nil {
			return nil, err
		}
		return json.Marshal(struct {
			Format string `json:"format"`
			Codec  string `json:"codec"`
			Bytes  []byte `json:"bytes"`
		}{"custom", name, payload})
	default:
		return nil, versionError(data[0])
	}
	var v any
	if err := generic.Unmarshal(data[1:], &v); err != nil {
		if generic.Wellformed(data[1:]) != nil {
			return nil, err
		}
		// Valid CBOR that Go cannot hold generically, such as a map keyed by arrays (a Go
		// map[[2]int]T): CBOR's own diagnostic notation still shows it.
		diag, derr := cbor.Diagnose(data[1:])
		if derr != nil {
			return nil, err
		}
		return json.Marshal(struct {
			Format     string `json:"format"`
			Diagnostic string `json:"diagnostic"`
		}{"cbor", diag})
	}
	var buf bytes.Buffer
	if err := writeJSON(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func writeJSON(buf *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil:
		buf.WriteString("null")
	case bool:
		buf.WriteString(strconv.FormatBool(v))
	case uint64:
		buf.WriteString(strconv.FormatUint(v, 10))
	case int64:
		buf.WriteString(strconv.FormatInt(v, 10))
	case big.Int:
		buf.WriteString(v.String())
	case float64:
		switch {
		case math.IsNaN(v):
			buf.WriteString(`"NaN"`)
		case math.IsInf(v, 1):
			buf.WriteString(`"+Inf"`)
		case math.IsInf(v, -1):
			buf.WriteString(`"-Inf"`)
		default:
			b, _ := json.Marshal(v) // finite: cannot fail
			buf.Write(b)
		}
	case string:
		writeString(buf, v)
	case []byte:
		writeString(buf, base64.StdEncoding.EncodeToString(v))
	case cbor.ByteString: // a byte string used as a map key
		writeString(buf, base64.StdEncoding.EncodeToString([]byte(v)))
	case []any:
		buf.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := writeJSON(buf, e); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
	case map[any]any:
		return writeObject(buf, v)
	case cbor.Tag:
		fmt.Fprintf(buf, `{"tag":%d,"value":`, v.Number)
		if err := writeJSON(buf, v.Content); err != nil {
			return err
		}
		buf.WriteByte('}')
	case cbor.SimpleValue:
		fmt.Fprintf(buf, `{"simple":%d}`, v)
	default:
		return fmt.Errorf("codec: cannot render %T as JSON", v)
	}
	return nil
}

// writeObject writes m with its keys rendered as strings, sorted. Keys that render alike
// (1 and "1") are all kept, ordered by their values, so that the output is deterministic.
func writeObject(buf *bytes.Buffer, m map[any]any) error {
	type field struct{ key, value string }
	fields := make([]field, 0, len(m))
	var scratch bytes.Buffer
	for k, v := range m {
		key, err := keyString(&scratch, k)
		if err != nil {
			return err
		}
		scratch.Reset()
		if err := writeJSON(&scratch, v); err != nil {
			return err
		}
		fields = append(fields, field{key, scratch.String()})
	}
	slices.SortFunc(fields, func(a, b field) int {
		if c := strings.Compare(a.key, b.key); c != 0 {
			return c
		}
		return strings.Compare(a.value, b.value)
	})
	buf.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(buf, f.key)
		buf.WriteByte(':')
		buf.WriteString(f.value)
	}
	buf.WriteByte('}')
	return nil
}

// keyString renders a map key: a string as itself, a byte string as base64, anything else
// as its JSON text.
func keyString(scratch *bytes.Buffer, k any) (string, error) {
	switch k := k.(type) {
	case string:
		return k, nil
	case []byte:
		return base64.StdEncoding.EncodeToString(k), nil
	case cbor.ByteString:
		return base64.StdEncoding.EncodeToString([]byte(k)), nil
	case float64:
		if math.IsNaN(k) || math.IsInf(k, 0) {
			return strconv.FormatFloat(k, 'g', -1, 64), nil // NaN, +Inf, -Inf, unquoted
		}
	}
	scratch.Reset()
	if err := writeJSON(scratch, k); err != nil {
		return "", err
	}
	return scratch.String(), nil
}

// writeString writes s as a JSON string, leaving <, > and & as they are: the output is
// read by people, not embedded in HTML.
func writeString(buf *bytes.Buffer, s string) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	e.Encode(s) // a string cannot fail to encode
	buf.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
}
