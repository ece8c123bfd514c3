//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package state

// LockFile is the file in a recovery directory whose lock a run holds while it uses the
// directory, on systems with flock(2). On this system the directory is not locked: two
// runs on one directory are not detected.
const LockFile = "weir.lock"

type dirLock struct{}

func lockDir(dir string) (*dirLock, error) { return nil, nil }

func (l *dirLock) unlock() error { return nil }
