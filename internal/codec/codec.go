// Package codec is weir's default codec for snapshots and, later, for batches crossing
// process boundaries: CBOR in deterministic mode, behind a one-byte format version.
//
// Values are ordinary Go values: exported struct fields, slices, maps, strings, numbers,
// time.Time. Encoding happens per snapshot or per batch, never per item inside a process.
package codec

import (
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Version is the format version written before every encoded value. A store written with
// another version is refused with ErrVersion instead of being misread.
const Version byte = 1

// ErrVersion reports data written in a format this build does not read.
var ErrVersion = errors.New("codec: unknown format version")

var (
	enc cbor.EncMode
	dec cbor.DecMode
)

func init() {
	var err error
	enc, err = cbor.EncOptions{
		Sort:    cbor.SortCoreDeterministic,
		Time:    cbor.TimeRFC3339Nano,
		TimeTag: cbor.EncTagRequired,
	}.EncMode()
	if err != nil {
		panic(err)
	}
	dec, err = cbor.DecOptions{}.DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal encodes v with the version byte in front.
func Marshal(v any) ([]byte, error) {
	b, err := enc.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+1)
	return append(append(out, Version), b...), nil
}

// Unmarshal decodes data written by Marshal into v, a pointer.
func Unmarshal(data []byte, v any) error {
	if len(data) == 0 {
		return errors.New("codec: empty data")
	}
	if data[0] != Version {
		return fmt.Errorf("%w %d (this build reads %d)", ErrVersion, data[0], Version)
	}
	return dec.Unmarshal(data[1:], v)
}
