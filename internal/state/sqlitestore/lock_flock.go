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

// dirLock is a held lock of a recovery directory.
type dirLock struct{ f *os.File }

// lockDir takes the lock of dir without waiting: a run that finds the directory in use
// must fail, not queue behind a job that may run for days. It fails with *LockedError
// when another run (in this process or another) holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, state.LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		if isAccess(err) {
			return nil, &state.AccessError{Dir: dir, Partition: -1, Cause: err}
		}
		return nil, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	// flock locks belong to the open file, so a second open in this process conflicts too.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		defer f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			b, _ := os.ReadFile(path)
			e := &state.LockedError{Dir: dir}
			parseHolder(string(b), e)
			return nil, e
		}
		return nil, fmt.Errorf("weir: recovery directory %s: locking %s: %w", dir, state.LockFile, err)
	}
	host, _ := os.Hostname()
	holder := fmt.Sprintf("pid %d on host %s since %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(holder), 0)
	}
	if err != nil {
		f.Close()
		if isAccess(err) {
			return nil, &state.AccessError{Dir: dir, Partition: -1, Cause: err}
		}
		return nil, fmt.Errorf("weir: recovery directory %s: %w", dir, err)
	}
	return &dirLock{f: f}, nil
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
	l.f.Truncate(0) // the holder's text would only mislead
	err := syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
