// Package sqlitestore is the store of recovery directories: N SQLite partition files
// (see package recovery for the layout). It is apart from package state, which the engine
// and package run use, because its driver, SQLite translated to Go, is most of what a
// weir program compiles: a cold build of a flow with it took minutes here, one without it
// well under one. Importing this package (package recovery does) registers it with
// state.RegisterDirOpener for run's recovery directories.
package sqlitestore

import "github.com/weirflow/weir/internal/state"

var (
	_ state.Dir   = (*Store)(nil)
	_ state.Parts = (*Store)(nil)
)
