// Package sqlitestore is the store of recovery directories: N SQLite partition files
// (see package recovery for the layout). It is apart from package state, which the engine
// and package run use, because its driver, SQLite translated to Go, is most of what a
// weir program compiles: a cold build of a flow with it took minutes here, one without it
// well under one. Importing this package (package recovery does) registers it with
// state.RegisterDirOpener for run's recovery directories.
//
// # A directory spread over the processes of a cluster
//
// In a cluster each process holds some of the partitions of one logical directory, and
// it registers PartOpener for that (state.RegisterPartOpener). The processes of one
// machine may share one directory, or each machine (each pod) may have its own holding
// some of the partition files: the files are the same either way, part-<i>.sqlite3, each
// with every table of a single run's partition. Scan lists the files a process sees, with
// the count each was made for and an ID of the file itself (host, device and inode), so
// that the cluster tells a file seen by several processes from copies of a partition;
// it takes no lock and leaves the files as they are. Create makes a process's share of a
// new directory. OpenParts opens only the partitions held, checked as Open checks them,
// holding the directory's weir.lock shared and each held partition's part-<i>.lock
// exclusively: a single run, which holds weir.lock exclusively, and a cluster refuse each
// other, and two clusters refuse each other on a partition (*LockedError naming it).
//
// The store OpenParts returns is the same Store with the partitions held elsewhere left
// out: Write ignores their rows and writes the worker's frontier to every held partition,
// Load, Start and collection act on the held ones, Views says what each held partition
// records of the last execution for state.PlanViews, and BeginAt takes the plan the
// cluster made of every process's views. As every partition still records every worker's
// frontiers, a cluster's directory (per-machine directories gathered in one) resumes in a
// single process, or in a cluster split another way, and a partition left behind by a
// crash is detected as in one process. A process collects its partitions only below the
// epoch it knows every partition holds: a worker's Write that reaches it from epoch e
// shows that the worker's previous Write reached every process, as a worker writes to all
// of them and waits before writing again.
//
// The processes of a cluster write no origin, the random number a single process's first
// run gives every partition of a directory so that a partition copied from another
// directory is refused (see origin.go): they could not agree on one without a word
// between them. In a directory only ever run as a cluster, a partition of another
// directory is told only by its executions and frontiers.
package sqlitestore

import "github.com/weirflow/weir/internal/state"

var (
	_ state.Dir   = (*Store)(nil)
	_ state.Parts = (*Store)(nil)
)
