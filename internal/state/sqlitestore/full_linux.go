package sqlitestore

import "syscall"

// lowSpace is the free space below which an I/O error is taken for a full file system:
// less than SQLite needs to grow a partition's shared-memory file (32 KiB) and its log.
const lowSpace = 1 << 20

// noSpace reports whether the file system under dir has less than lowSpace free for
// this user.
func noSpace(dir string) bool {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return false
	}
	return st.Bavail*uint64(st.Bsize) < lowSpace
}
