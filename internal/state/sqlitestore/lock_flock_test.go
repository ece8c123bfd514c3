//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sqlitestore

import (
	"sync"
	"syscall"
	"testing"
)

// A process that forks (exec.Command, in this program or a test running beside it)
// shares the lock file's open description with the child until the child execs. Closing
// the file alone then leaves the lock held for that moment, and a run that follows at once
// is refused as if another run held the directory. unlock must release the lock itself.
func TestUnlockWhileDuplicated(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	dup, err := syscall.Dup(int(l.f.Fd())) // what a child holds between fork and exec
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(dup)
	if err := l.unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := lockDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	again.unlock()
}

// The processes of a cluster that share a directory take and release its lock shared at
// once (each creates and opens its share): none may be refused while no single run holds
// it, as when a holder leaving converted its lock to exclusive to clear the holder's text.
func TestSharedLocksAtOnce(t *testing.T) {
	dir := t.TempDir()
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			for range 200 {
				l, err := lockShared(dir)
				if err != nil {
					errs[i] = err
					return
				}
				if err := l.unlock(); err != nil {
					errs[i] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("holder %d: %v", i, err)
		}
	}
}
