package sqlitestore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Every row of a partition carries a CRC-32C (hardware-accelerated, about a nanosecond per
// few bytes) of its identity and value, checked whenever the row is read: SQLite's own
// checks see only the file's structure, and a flipped bit inside a stored value would
// otherwise resume with a wrong state and exit 0. The checksum covers the step's name
// rather than its per-partition id, and the key and epoch with the state, so that a value
// that turns up under another step, key or epoch fails too. Each table's rows start with
// their own tag byte, so a row cannot pass for one of another table.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// summer computes row checksums in a reusable buffer.
type summer struct{ buf []byte }

// state is the checksum of the row of (step, key) at epoch; state is nil for a deletion,
// which deleted marks (an empty state is not a deletion).
func (s *summer) state(step, key string, epoch uint64, state []byte, deleted bool) int64 {
	b := append(s.buf[:0], tagState)
	b = binary.AppendUvarint(b, uint64(len(step)))
	b = append(b, step...)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.LittleEndian.AppendUint64(b, epoch)
	if deleted {
		state = nil
		b = append(b, 0)
	} else {
		b = append(b, 1)
	}
	s.buf = b
	return int64(crc32.Update(crc32.Update(0, crcTable, b), crcTable, state))
}

// ints is the checksum of a row of the table tagged tag made of integers only.
func (s *summer) ints(tag byte, vals ...int64) int64 {
	b := append(s.buf[:0], tag)
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint64(b, uint64(v))
	}
	s.buf = b
	return int64(crc32.Checksum(b, crcTable))
}

// named is the checksum of a row of the table tagged tag made of a name and an integer.
func (s *summer) named(tag byte, name string, v int64) int64 {
	b := append(s.buf[:0], tag)
	b = binary.AppendUvarint(b, uint64(len(name)))
	b = append(b, name...)
	b = binary.LittleEndian.AppendUint64(b, uint64(v))
	s.buf = b
	return int64(crc32.Checksum(b, crcTable))
}

// Row tags.
const (
	tagMeta            = 'm'
	tagExecution       = 'e'
	tagFrontier        = 'f'
	tagStep            = 't'
	tagCommit          = 'c'
	tagState           = 's' // snapshots and compacted share it: collection moves rows as they are
	boolTrue     int64 = 1
)

func boolInt(b bool) int64 {
	if b {
		return boolTrue
	}
	return 0
}

func sumMeta(name string, v int64) int64 { return new(summer).named(tagMeta, name, v) }

func sumExecution(number, workers int64, resume uint64, began int64) int64 {
	return new(summer).ints(tagExecution, number, workers, int64(resume), began)
}

func sumFrontier(execution, worker int64, epoch uint64, final bool) int64 {
	return new(summer).ints(tagFrontier, execution, worker, int64(epoch), boolInt(final))
}

func sumStep(id int64, name string) int64 { return new(summer).named(tagStep, name, id) }

func sumCommit(epoch uint64, at int64) int64 { return new(summer).ints(tagCommit, int64(epoch), at) }

// checkExecution, checkFrontier and checkCommit are nil when crc is the checksum of the
// row, and otherwise its *checksumError, named the same wherever the row is read.
func checkExecution(crc, number, workers int64, resume uint64, began int64) error {
	if crc != sumExecution(number, workers, resume, began) {
		return &checksumError{row: fmt.Sprintf("execution %d", number)}
	}
	return nil
}

func checkFrontier(crc, execution, worker int64, epoch uint64, final bool) error {
	if crc != sumFrontier(execution, worker, epoch, final) {
		return &checksumError{row: fmt.Sprintf("frontier of execution %d, worker %d", execution, worker)}
	}
	return nil
}

func checkCommit(crc int64, epoch uint64, at int64) error {
	if crc != sumCommit(epoch, at) {
		return &checksumError{row: fmt.Sprintf("commit time of epoch %d", epoch)}
	}
	return nil
}
