package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/weirflow/weir/internal/state"
)

// The setup rows and snapshot writes a cluster's processes send each other, in a plain
// binary form: uvarints and length-prefixed bytes. They come from authenticated peers, but
// are decoded as untrusted all the same (FuzzDecodeEpochs): every length is checked
// against what is left.

// appendRow appends a loaded row: the node's index, the key and the state.
func appendRow(b []byte, node int, key string, st []byte) []byte {
	b = binary.AppendUvarint(b, uint64(node))
	b = appendBytes(b, []byte(key))
	return appendBytes(b, st)
}

// eachRow calls fn with each row appendRow wrote in b.
func eachRow(b []byte, fn func(node int, key string, st []byte) error) error {
	d := decoder{b: b}
	for len(d.b) > 0 && d.err == nil {
		// A node's index, not a count: it may exceed the bytes left (fn checks it).
		node := int(min(d.uvarint(), math.MaxInt32))
		key := string(d.bytes())
		st := d.bytes()
		if d.err == nil {
			if err := fn(node, key, st); err != nil {
				return err
			}
		}
	}
	return d.err
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
			b = appendBytes(b, []byte(s.Step))
			b = binary.AppendUvarint(b, uint64(len(s.Changes)))
			for _, c := range s.Changes {
				b = appendBytes(b, []byte(c.Key))
				b = appendBool(b, c.Deleted)
				b = appendBytes(b, c.State)
			}
		}
	}
	return b
}

// decodeEpochs reads what appendEpochs wrote.
func decodeEpochs(b []byte) (worker int, epochs []state.Epoch, err error) {
	d := decoder{b: b}
	worker = int(min(d.uvarint(), math.MaxInt32)) // an id, not a count of what follows
	epochs = make([]state.Epoch, d.count())
	for i := range epochs {
		if d.err != nil {
			break
		}
		e := &epochs[i]
		e.Epoch = d.uvarint()
		e.Final = d.bool()
		e.Snaps = make([]state.Snapshot, d.count())
		for j := range e.Snaps {
			if d.err != nil {
				break
			}
			s := &e.Snaps[j]
			s.Step = string(d.bytes())
			s.Changes = make([]state.Change, d.count())
			for k := range s.Changes {
				if d.err != nil {
					break
				}
				s.Changes[k] = state.Change{Key: string(d.bytes()), Deleted: d.bool(), State: d.bytes()}
			}
		}
	}
	if d.err == nil && len(d.b) > 0 {
		d.err = fmt.Errorf("%d bytes after the epochs", len(d.b))
	}
	if d.err != nil {
		return 0, nil, d.err
	}
	return worker, epochs, nil
}

func appendBytes(b, v []byte) []byte {
	return append(binary.AppendUvarint(b, uint64(len(v))), v...)
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

var errShort = errors.New("message ends early")

// decoder reads uvarints and byte strings, keeping the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of things that each take at least a byte: one larger than what is
// left is an error, not an allocation.
func (d *decoder) count() int {
	v := d.uvarint()
	if v > uint64(len(d.b)) {
		if d.err == nil {
			d.err = errShort
		}
		return 0
	}
	return int(v)
}

func (d *decoder) bytes() []byte {
	n := d.count()
	if d.err != nil {
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) bool() bool {
	if d.err != nil {
		return false
	}
	if len(d.b) == 0 {
		d.err = errShort
		return false
	}
	v := d.b[0]
	d.b = d.b[1:]
	if v > 1 {
		d.err = fmt.Errorf("bool byte %d", v)
	}
	return v == 1
}
