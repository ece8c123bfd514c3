package sqlitestore

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"time"

	"modernc.org/sqlite"

	"github.com/weirflow/weir/internal/state"
)

// checksumError is a row that failed its checksum, before the partition is known.
type checksumError struct {
	step, key string
	row       string // the row, when it is not a state or position
}

func (e *checksumError) Error() string {
	if e.step != "" {
		return fmt.Sprintf("step %s, key %q: %v", e.step, e.key, state.ErrChecksum)
	}
	return fmt.Sprintf("%s: %v", e.row, state.ErrChecksum)
}

func (e *checksumError) Unwrap() error { return state.ErrChecksum }

// invalidError is a partition that opened but is not one this weir can use.
type invalidError struct{ err error }

func (e invalidError) Error() string { return e.err.Error() }
func (e invalidError) Unwrap() error { return e.err }

// sqliteCode is the primary result code of a SQLite error, 0 for other errors.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() & 0xff
	}
	var re *rawError
	if errors.As(err, &re) {
		return re.code & 0xff
	}
	return 0
}

// isAccess reports an error of the operating system's permissions rather than of the data.
func isAccess(err error) bool {
	switch sqliteCode(err) {
	case 3, 8, 14, 23: // SQLITE_PERM, SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_AUTH
		return true
	}
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// classify types an error met on partition p of dir. atOpen says the partition was being
// opened and checked, where any failure but access means the file is unusable.
func classify(dir string, p int, err error, atOpen bool) error {
	if isFull(dir, err) {
		// Before the rest: at open, SQLite reports a shared-memory file it could not grow
		// as an I/O error, which would otherwise read as corruption.
		return &state.DiskFullError{Dir: dir, Partition: p, Cause: err}
	}
	var ce *checksumError
	if errors.As(err, &ce) {
		cause := error(state.ErrChecksum)
		if ce.step == "" {
			cause = fmt.Errorf("%s: %w", ce.row, state.ErrChecksum)
		}
		return &state.CorruptError{Dir: dir, Partition: p, Step: ce.step, Key: ce.key, Cause: cause}
	}
	var fe *state.FormatError
	if errors.As(err, &fe) {
		return &state.FormatError{Dir: dir, Partition: p, Version: fe.Version}
	}
	if isAccess(err) {
		return &state.AccessError{Dir: dir, Partition: p, Cause: err}
	}
	var inv invalidError
	switch c := sqliteCode(err); {
	case atOpen, errors.As(err, &inv), c == 11, c == 26, isScan(err): // SQLITE_CORRUPT, SQLITE_NOTADB
		return &state.CorruptError{Dir: dir, Partition: p, Cause: err}
	}
	return fmt.Errorf("weir: recovery directory %s: partition %d: %w", dir, p, err)
}

// isScan reports an error of database/sql reading a column into a Go value: a value of
// another type than the store writes there (a text or a float for an integer, a negative
// epoch, a NULL), which only damage or another program can have put in its place, since
// SQLite keeps whatever type it is given. database/sql has no type for the error, only
// its message.
func isScan(err error) bool { return strings.Contains(err.Error(), "sql: Scan error on column") }

// parseHolder reads the holder a lock file's text records ("pid P on host H since T").
func parseHolder(text string, e *state.LockedError) {
	var pid int
	var host, since string
	if _, err := fmt.Sscanf(strings.TrimSpace(text), "pid %d on host %s since %s", &pid, &host, &since); err != nil {
		return
	}
	t, err := time.Parse(time.RFC3339, since)
	if err != nil {
		return
	}
	e.PID, e.Host, e.Since = pid, host, t
}
