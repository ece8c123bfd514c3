package sqlitestore

import "github.com/weirflow/weir/internal/state"

// Linking this package registers it as the store of recovery directories (see
// state.RegisterDirOpener) and of a cluster's shares of them (state.RegisterPartOpener);
// package recovery imports it for every program that uses one.
func init() {
	state.RegisterDirOpener(func(dir string, create int) (state.Dir, error) {
		if create > 0 {
			return OpenOrInit(dir, create)
		}
		return Open(dir)
	})
	state.RegisterPartOpener(PartOpener)
}
