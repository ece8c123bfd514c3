package files

import (
	"fmt"
	"os"
	"sync/atomic"
)

// extent publishes how much of its file a partition has read, for source.Lagger and
// source.Sizer (metrics' source lag, run.Main's progress line): the file's size when the
// partition opened it and the byte offset after the last batch, stored once per batch for
// readers on other goroutines. A file that grows while it is read has no lag left once
// the first size is read.
type extent struct {
	size int64
	read atomic.Int64
}

// newExtent returns the extent of f, opened at offset off.
func newExtent(f *os.File, off int64) (*extent, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("weir: files: %w", err)
	}
	e := &extent{size: info.Size()}
	e.read.Store(off)
	return e, nil
}

// Lag implements source.Lagger: the bytes left to read.
func (e *extent) Lag() (int64, bool) { return max(e.size-e.read.Load(), 0), true }

// Size implements source.Sizer: the file's size in bytes.
func (e *extent) Size() (int64, bool) { return e.size, true }
