package sqlitestore

import (
	"errors"
	"syscall"
)

// isFull reports an error of a full file system under dir: SQLite's SQLITE_FULL, ENOSPC,
// or one of SQLite's I/O errors while the file system has no space left (SQLite reports a
// write-ahead log's shared-memory file that it could not grow as an I/O error, without the
// system's cause).
func isFull(dir string, err error) bool {
	switch sqliteCode(err) {
	case 13: // SQLITE_FULL
		return true
	case 10: // SQLITE_IOERR
		return noSpace(dir)
	}
	return errors.Is(err, syscall.ENOSPC)
}
