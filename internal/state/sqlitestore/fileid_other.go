//go:build !linux

package sqlitestore

// fileID identifies the file at path itself (state.Found.ID): here, by its absolute path.
func fileID(path string) (string, error) { return absID(path) }
