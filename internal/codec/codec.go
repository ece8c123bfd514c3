// Package codec is weir's codec for snapshots and for batches crossing process
// boundaries: CBOR in deterministic mode by default, or a codec registered for the type,
// behind a one-byte format tag. Package batch builds a batch's encoding on it (each
// exchange edge's BatchOps.AppendEncode and Decode), with Registered, AppendPrefix and
// Payload.
//
// Values are ordinary Go values: exported struct fields, slices, maps, strings, numbers,
// time.Time. Encoding happens per snapshot or per batch, never per item inside a process
// (an in-process exchange hands batches over as they are).
//
// # Formats
//
// Every encoded value starts with a format byte: Version for CBOR, Custom for a value
// written by a registered codec, which is followed by the codec's name (one length byte,
// then the name) and the codec's own bytes. A reader refuses a value of another format or
// another codec's name instead of misreading it.
package codec

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/fxamacker/cbor/v2"
)

// Version is the format byte written before every CBOR-encoded value. A store written
// with another version is refused with ErrVersion instead of being misread.
const Version byte = 1

// Custom is the format byte written before every value encoded by a registered codec.
const Custom byte = 2

// ErrVersion reports data written in a format this build does not read.
var ErrVersion = errors.New("codec: unknown format version")

// ErrOtherCodec reports data written by another codec than the one reading it: CBOR read
// by a registered codec, or the reverse, or two registered codecs of different names.
var ErrOtherCodec = errors.New("codec: written by another codec")

// errEmpty reports a value with not even a format byte.
var errEmpty = errors.New("codec: empty data")

var (
	enc cbor.UserBufferEncMode
	dec cbor.DecMode
)

// limits lifts the decoder's default caps (131072 elements, 32 levels), which the encoder
// does not share: a state it wrote, such as a list of 200000 items, must decode on resume.
// Lengths are still checked against the data before anything is allocated.
func limits(o cbor.DecOptions) cbor.DecOptions {
	o.MaxArrayElements = math.MaxInt32
	o.MaxMapPairs = math.MaxInt32
	o.MaxNestedLevels = math.MaxUint16
	return o
}

func init() {
	var err error
	enc, err = cbor.EncOptions{
		Sort:    cbor.SortCoreDeterministic,
		Time:    cbor.TimeRFC3339Nano,
		TimeTag: cbor.EncTagRequired,
	}.UserBufferEncMode()
	if err != nil {
		panic(err)
	}
	dec, err = limits(cbor.DecOptions{}).DecMode()
	if err != nil {
		panic(err)
	}
	generic, err = limits(cbor.DecOptions{TimeTagToAny: cbor.TimeTagToRFC3339Nano}).DecMode()
	if err != nil {
		panic(err)
	}
}

// Marshal encodes v as CBOR with the version byte in front.
func Marshal(v any) ([]byte, error) {
	b, err := enc.Marshal(v)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(b)+1)
	return append(append(out, Version), b...), nil
}

// AppendMarshal appends to dst what Marshal returns for v, without a buffer of its own:
// for a batch encoded into a frame being built. On error dst is returned as it came.
func AppendMarshal(dst []byte, v any) ([]byte, error) {
	buf := bytes.NewBuffer(append(dst, Version))
	if err := enc.MarshalToBuffer(v, buf); err != nil {
		return dst, err
	}
	return buf.Bytes(), nil
}

// Unmarshal decodes data written by Marshal into v, a pointer.
func Unmarshal(data []byte, v any) error {
	if len(data) == 0 {
		return errEmpty
	}
	switch data[0] {
	case Version:
		return dec.Unmarshal(data[1:], v)
	case Custom:
		name, _, err := splitCustom(data)
		if err != nil {
			return err
		}
		return otherCodecError(name)
	}
	return versionError(data[0])
}

// otherCodecError names the codec that wrote a value another codec reads; the reader
// names itself (see DecodeError).
type otherCodecError string

func (e otherCodecError) Error() string        { return fmt.Sprintf("written by codec %q", string(e)) }
func (e otherCodecError) Is(target error) bool { return target == ErrOtherCodec }

func versionError(b byte) error {
	return fmt.Errorf("%w %d (this build reads %d, CBOR, and %d, registered codecs)", ErrVersion, b, Version, Custom)
}

// splitCustom splits a value of the Custom format into its codec's name and bytes.
func splitCustom(data []byte) (name string, payload []byte, err error) {
	if len(data) < 2 || len(data) < 2+int(data[1]) {
		return "", nil, errors.New("codec: truncated codec name")
	}
	n := int(data[1])
	return string(data[2 : 2+n]), data[2+n:], nil
}
