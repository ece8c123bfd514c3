package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Reader reads the varints, fixed-size fields and length-prefixed bytes of weir's binary
// formats (batches between processes, a cluster's setup messages and snapshot rows). It
// keeps the first error and returns zero values after it, so that a decoder reads a whole
// record and checks Err once. Lengths and counts are checked against what is left before
// anything is allocated for them: damaged or hostile bytes give an error, never a panic
// or an allocation of their choosing.
type Reader struct {
	Data []byte // what is left to read
	Err  error
}

var (
	errVarint = errors.New("truncated or overlong varint")
	errBool   = errors.New("a bool byte other than 0 and 1")
)

// Fail records err unless an error is recorded already.
func (r *Reader) Fail(err error) {
	if r.Err == nil {
		r.Err = err
	}
}

func (r *Reader) Uvarint() uint64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.Data)
	if n <= 0 {
		r.Err = errVarint
		return 0
	}
	r.Data = r.Data[n:]
	return v
}

func (r *Reader) Varint() int64 {
	if r.Err != nil {
		return 0
	}
	v, n := binary.Varint(r.Data)
	if n <= 0 {
		r.Err = errVarint
		return 0
	}
	r.Data = r.Data[n:]
	return v
}

// Count reads a count of things that each take at least a byte: one above the bytes left
// is an error, not an allocation.
func (r *Reader) Count() int {
	v := r.Uvarint()
	if r.Err == nil && v > uint64(len(r.Data)) {
		r.Err = fmt.Errorf("a count of %d with %d bytes left", v, len(r.Data))
	}
	if r.Err != nil {
		return 0
	}
	return int(v)
}

// Bytes reads a length and that many bytes, which stay in Data's array.
func (r *Reader) Bytes() []byte {
	n := r.Uvarint()
	if r.Err == nil && n > uint64(len(r.Data)) {
		r.Err = fmt.Errorf("a length of %d with %d bytes left", n, len(r.Data))
	}
	if r.Err != nil {
		return nil
	}
	b := r.Data[:n:n]
	r.Data = r.Data[n:]
	return b
}

// Fixed reads the next n bytes; after an error, n zero bytes.
func (r *Reader) Fixed(n int) []byte {
	if r.Err == nil && len(r.Data) < n {
		r.Err = fmt.Errorf("%d bytes left, want %d", len(r.Data), n)
	}
	if r.Err != nil {
		return make([]byte, n)
	}
	b := r.Data[:n]
	r.Data = r.Data[n:]
	return b
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
	b := r.Fixed(1)[0]
	if b > 1 {
		r.Fail(errBool)
	}
	return b == 1
}
