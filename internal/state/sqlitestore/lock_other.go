//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package sqlitestore

// On this system the directory is not locked (see state.LockFile).
type dirLock struct{}

func lockDir(dir string) (*dirLock, error) { return nil, nil }

func lockShared(dir string) (*dirLock, error) { return nil, nil }

func lockPartition(dir string, p int) (*dirLock, error) { return nil, nil }

func (l *dirLock) unlock() error { return nil }
