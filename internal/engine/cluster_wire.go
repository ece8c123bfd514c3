package engine

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/internal/state"
)

// The setup rows and snapshot writes a cluster's processes send each other, in a plain
// binary form: uvarints and length-prefixed bytes. They come from authenticated peers, but
// are decoded as untrusted all the same (FuzzDecodeEpochs): every length is checked
// against what is left.

// appendRow appends a loaded row: the node's index, the key and the state.
func appendRow(b []byte, node int, key string, st []byte) []byte {
	b = binary.AppendUvarint(b, uint64(node))
	b = appendBytes(b, key)
	return appendBytes(b, st)
}

// eachRow calls fn with each row appendRow wrote in b.
func eachRow(b []byte, fn func(node int, key string, st []byte) error) error {
	d := codec.Reader{Data: b}
	for len(d.Data) > 0 && d.Err == nil {
		// A node's index, not a count: it may exceed the bytes left (fn checks it).
		node := int(min(d.Uvarint(), math.MaxInt32))
		key := string(d.Bytes())
		st := d.Bytes()
		if d.Err == nil {
			if err := fn(node, key, st); err != nil {
				return err
			}
		}
	}
	return d.Err
}

// The calls a worker's committer makes to the other processes start with their kind.
const (
	callRows    byte = iota // appendEpochs: rows for the partitions held there, and the frontier
	callWritten             // appendWritten: the worker's frontier is written at every process
)

// appendWritten appends the notice that worker's frontier (and whether it is final) is
// written at every process.
func appendWritten(b []byte, worker int, frontier uint64, final bool) []byte {
	b = binary.AppendUvarint(b, uint64(worker))
	b = binary.AppendUvarint(b, frontier)
	return appendBool(b, final)
}

// decodeWritten reads what appendWritten wrote.
func decodeWritten(b []byte) (worker int, frontier uint64, final bool, err error) {
	d := codec.Reader{Data: b}
	worker = int(min(d.Uvarint(), math.MaxInt32))
	frontier = d.Uvarint()
	final = d.Bool()
	if d.Err == nil && len(d.Data) > 0 {
		d.Err = fmt.Errorf("%d bytes after the notice", len(d.Data))
	}
	return worker, frontier, final, d.Err
}

// appendEpochs appends a worker's epochs as a committer writes them.
func appendEpochs(b []byte, worker int, epochs []state.Epoch) []byte {
	b = binary.AppendUvarint(b, uint64(worker))
	b = binary.AppendUvarint(b, uint64(len(epochs)))
	for _, e := range epochs {
		b = binary.AppendUvarint(b, e.Epoch)
		b = appendBool(b, e.Final)
		b = binary.AppendUvarint(b, uint64(len(e.Snaps)))
		for _, s := range e.Snaps {
			b = appendBytes(b, s.Step)
			b = binary.AppendUvarint(b, uint64(len(s.Changes)))
			for _, c := range s.Changes {
				b = appendBytes(b, c.Key)
				b = appendBool(b, c.Deleted)
				b = appendBytes(b, c.State)
			}
		}
	}
	return b
}

// decodeEpochs reads what appendEpochs wrote.
func decodeEpochs(b []byte) (worker int, epochs []state.Epoch, err error) {
	d := codec.Reader{Data: b}
	worker = int(min(d.Uvarint(), math.MaxInt32)) // an id, not a count of what follows
	epochs = make([]state.Epoch, d.Count())
	for i := range epochs {
		if d.Err != nil {
			break
		}
		e := &epochs[i]
		e.Epoch = d.Uvarint()
		e.Final = d.Bool()
		e.Snaps = make([]state.Snapshot, d.Count())
		for j := range e.Snaps {
			if d.Err != nil {
				break
			}
			s := &e.Snaps[j]
			s.Step = string(d.Bytes())
			s.Changes = make([]state.Change, d.Count())
			for k := range s.Changes {
				if d.Err != nil {
					break
				}
				s.Changes[k] = state.Change{Key: string(d.Bytes()), Deleted: d.Bool(), State: d.Bytes()}
			}
		}
	}
	if d.Err == nil && len(d.Data) > 0 {
		d.Err = fmt.Errorf("%d bytes after the epochs", len(d.Data))
	}
	if d.Err != nil {
		return 0, nil, d.Err
	}
	return worker, epochs, nil
}

func appendBytes[S string | []byte](b []byte, v S) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}
