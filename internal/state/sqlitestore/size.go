package sqlitestore

import (
	"os"

	"github.com/weirflow/weir/internal/state"
)

// Size returns the bytes on disk of the partitions this store holds: each partition's
// file and its write-ahead log, which holds the latest commits until SQLite checkpoints
// them into the file. It only stats the files, so the monitor may call it while a run
// writes; ok is false when no file could be read.
func (s *Store) Size() (bytes int64, ok bool) {
	for _, i := range s.held {
		path := state.PartitionPath(s.dir, i)
		for _, f := range []string{path, path + "-wal"} {
			if fi, err := os.Stat(f); err == nil {
				bytes += fi.Size()
				ok = true
			}
		}
	}
	return bytes, ok
}
