package sqlitestore

import (
	"fmt"
	"os"
	"syscall"
)

// fileID identifies the file at path itself (state.Found.ID): the host, and the device
// and inode the file lives at, so that two processes of one machine that see it through
// different paths (a symbolic link, a bind mount) agree, and a copy elsewhere differs.
func fileID(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return absID(path)
	}
	host, err := os.Hostname()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s:%d:%d", host, st.Dev, st.Ino), nil
}
