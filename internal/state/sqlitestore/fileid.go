package sqlitestore

import (
	"os"
	"path/filepath"
)

// absID identifies a file by its host and absolute path, where the system gives no
// device and inode.
func absID(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	host, err := os.Hostname()
	if err != nil {
		return "", err
	}
	return host + ":" + abs, nil
}
