package recovery

import "github.com/weirflow/weir/internal/codec"

// Codec encodes and decodes the state values of one type, in place of the default CBOR
// codec: for a faster or smaller encoding, for a type CBOR cannot encode (unexported
// fields), or to migrate states written by an older version of the type.
type Codec[T any] = codec.Codec[T]

// RegisterCodec makes c the codec of every state of type T, in every step, under name. The
// name is stored with each state, so that a state is only ever decoded by a codec of the
// same name: give the codec a new name when it can no longer read what it wrote before.
//
// It is also the codec of items of type T (or of KV items whose value is a T) that a
// cluster sends from one process to another: by default they go as CBOR, which a codec
// written for the type usually beats several times over (BenchmarkMeshItems in
// internal/batch), except items of a basic type (a string, a number, a bool) or KV items
// of one, which go in a compact built-in form. Every process of a cluster must register
// the same codecs, which running one program everywhere gives.
//
// Call it from an init function. It panics when c is nil, when name is empty, longer than
// 255 bytes, "cbor" or "weir-plain", when T or name already has a codec, or when a step has
// already been built with T's state, since a run would then write states with two codecs.
func RegisterCodec[T any](name string, c Codec[T]) { codec.Register(name, c) }

// DecodeError reports a stored state that cannot be decoded into its step's state type:
// the type or its codec changed since the state was written, or the data is damaged. Type
// names the Go type and Codec its codec ("cbor" or a registered name). A run that meets
// one fails with a *weir.StepError naming the step and the key, wrapping the DecodeError.
type DecodeError = codec.DecodeError
