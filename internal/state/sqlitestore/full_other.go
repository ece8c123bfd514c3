//go:build !linux

package sqlitestore

// noSpace reports false: the free space is read only on Linux, elsewhere only SQLite's
// SQLITE_FULL and ENOSPC tell a full file system.
func noSpace(dir string) bool { return false }
