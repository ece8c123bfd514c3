package codec

import (
	"encoding/binary"
	"testing"
)

// A Reader keeps the first error, returns zero values after it, and refuses a length or a
// count above the bytes left.
func TestReader(t *testing.T) {
	data := binary.AppendUvarint(nil, 3)
	data = append(data, "abc"...)
	data = binary.AppendVarint(data, -5)
	data = append(data, 1, 7, 7)
	r := Reader{Data: data}
	if b, v, ok, f := r.Bytes(), r.Varint(), r.Bool(), r.Fixed(2); string(b) != "abc" || v != -5 || !ok || string(f) != "\x07\x07" || r.Err != nil || len(r.Data) != 0 {
		t.Fatalf("read %q %d %v %q, err %v, %d left", b, v, ok, f, r.Err, len(r.Data))
	}
	for _, tc := range []struct {
		name string
		data []byte
		read func(*Reader)
	}{
		{"a length beyond the end", []byte{5, 'a'}, func(r *Reader) { r.Bytes() }},
		{"a count beyond the end", []byte{2, 0}, func(r *Reader) { r.Count() }},
		{"a varint cut short", []byte{0x80}, func(r *Reader) { r.Uvarint() }},
		{"a bool of 2", []byte{2}, func(r *Reader) { r.Bool() }},
		{"a fixed field cut short", []byte{1, 2}, func(r *Reader) { r.Fixed(4) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Reader{Data: tc.data}
			tc.read(&r)
			first := r.Err
			if first == nil {
				t.Fatal("no error")
			}
			if r.Uvarint() != 0 || r.Bytes() != nil || r.Err != first {
				t.Errorf("after the error: values read, or the error replaced by %v", r.Err)
			}
		})
	}
}
