//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlitestore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// dirLock is a held lock of a recovery directory or of one of its partitions.
type dirLock struct {
	f      *os.File
	shared bool
}

// lockDir takes the lock of dir without waiting: a run that finds the directory in use
// must fail, not queue behind a job that may run for days. It fails with *LockedError
// when another run (in this process or another) holds it.
func lockDir(dir string) (*dirLock, error) { return lockFile(dir, -1, false) }

// lockShared takes the lock of dir shared, as each process of a cluster run does: it
// fails with *LockedError when a single run holds it.
func lockShared(dir string) (*dirLock, error) { return lockFile(dir, -1, true) }

// lockPartition takes the lock of partition p of dir (state.PartitionLockPath), failing
// with *LockedError naming p when another process (or another open in this one) holds it.
func lockPartition(dir string, p int) (*dirLock, error) { return lockFile(dir, p, false) }

// lockFile takes the lock of partition p of dir, or of dir itself when p is -1.
func lockFile(dir string, p int, shared bool) (*dirLock, error) {
	path := filepath.Join(dir, state.LockFile)
	if p >= 0 {
		path = state.PartitionLockPath(dir, p)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if isAccess(err) {
			return nil, &state.AccessError{Dir: dir, Partition: p, Cause: err}
		}
		return nil, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	how := syscall.LOCK_EX
	if shared {
		how = syscall.LOCK_SH
	}
	// flock locks belong to the open file, so a second open in this process conflicts too.
	if err := syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			e := &state.LockedError{Dir: dir, Partition: p}
			parseHolder(string(b), e)
			return nil, e
		}
		return nil, fmt.Errorf("weir: recovery directory %s: locking %s: %w", dir, filepath.Base(path), err)
	}
	// Holders of a shared lock each write themselves over the others: a run refused names
	// one of them (possibly one that has since left).
	host, _ := os.Hostname()
	holder := fmt.Sprintf("pid %d on host %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(holder), 0)
	}
	if err != nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
		if isAccess(err) {
			return nil, &state.AccessError{Dir: dir, Partition: p, Cause: err}
		}
		return nil, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	return &dirLock{f: f, shared: shared}, nil
}

// unlock releases the lock. The file stays: removing it would let a run that opened it
// just before lock a file no longer in the directory while a third run locks a new one.
//
// The lock is released explicitly before the file is closed: a child process forked at
// that moment (exec.Command anywhere in the program) holds the open file until it execs,
// and closing alone would leave the lock held by that copy, refusing a run that follows
// at once.
func (l *dirLock) unlock() error {
	if l == nil {
		return nil
	}
	// The holder's text would only mislead. A shared lock's other holders may still be
	// there, and telling the last one would take converting the lock to exclusive, which
	// for that moment refuses a process taking it shared: its text stays, for the next
	// holder to overwrite.
	if !l.shared {
		l.f.Truncate(0)
	}
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
