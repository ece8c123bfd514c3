// Package recovery sets up, checks and explains the recovery directories that let a
// dataflow resume after a crash or a stop, on any number of workers.
//
// It also holds the store: a program that runs with a recovery directory (run.Recovery,
// -r) imports it, if only for that:
//
//	import _ "github.com/weirflow/weir/recovery"
//
// Without it the run fails with run.ErrNoRecoveryStore, whose message says so. The
// store's SQLite driver is most of what a weir program compiles (about 60 s of CPU and
// 500 MB of memory on a cold build), so that programs without recovery leave it out.
//
// # Making a directory
//
// Init (`weir recovery init DIR N`; the command installs with
// `go install github.com/weirflow/weir/cmd/weir@latest`, or runs as `go run ./cmd/weir`
// in a checkout) makes DIR with N partitions. A run can make it instead: with
// run.RecoveryPartitions(N) (--recovery-partitions N), a directory with no partition, or
// none at all, is created with N under its lock; one that has partitions must have N. A
// run given a directory without partitions and no count is refused with ErrNoPartitions,
// whose message names both ways. Each partition is marked (part-<i>.sqlite3.init) from
// before the first is made until it is whole, so that a run given the count finishes a
// directory whose making a killed process left half done, while a partition missing
// without its mark is damage, refused as such.
//
// # Layout
//
// A recovery directory holds N partitions, created once with Init (or
// `weir recovery init DIR N`): the SQLite files part-0.sqlite3 … part-<N-1>.sqlite3, in
// WAL mode with synchronous=FULL, so a committed epoch survives a power loss. Open them
// with the sqlite3 tool to look inside. Each holds:
//
//   - meta: the format version, the partition's index and the partition count, and from
//     the first run of a single process on, the directory's origin: a random number the
//     same in every partition, so that a partition copied from another directory is
//     refused (a *CorruptError) rather than resumed with that directory's state. The
//     processes of a cluster write none; a partition without one is taken for any;
//   - executions: one row per run (its number, worker count and resume epoch);
//   - frontiers: per execution and worker, the epoch below which the worker has written
//     everything to this partition, and whether the worker completed the stream;
//   - steps: the step ids, numbered in this partition;
//   - snapshots: the state of a (step, key) as of a recent epoch, NULL for a deletion,
//     keyed by epoch first so that each epoch's rows are appended. A row lives in the
//     partition chosen by a stable hash of step and key, so the partition count is fixed
//     at Init but the worker count can change between runs;
//   - compacted: per (step, key), its latest state below the epoch garbage collection
//     has reached;
//   - commits: when every worker had completed an epoch, for garbage collection.
//
// Executions and frontiers are written to every partition, in the same transaction as
// the worker's snapshot rows for that partition: each partition can tell how far it is
// complete, and the store trusts only what all partitions hold.
//
// # Integrity
//
// Every row of every table carries a CRC-32C of its identity and value (for a state or a
// position: the step's name, the key, the epoch and the bytes), checked whenever the row
// is read: SQLite's own checks see only the file's structure, and one flipped bit inside
// a stored value would otherwise resume with a wrong state and exit 0. A mismatch is a
// *CorruptError whose Cause wraps ErrChecksum and whose Step and Key name the row (for an
// input or a sink, Key is the partition). Because the checksum covers the key and the
// epoch, a value that turns up under another key or epoch fails too. Verify (`weir
// recovery verify`) checks every row, including those no resume would read now.
//
// The layout is format version 3. A partition written by an older weir (version 2 had no
// checksums) is refused with a *FormatError rather than read unchecked: resume it with
// the weir that wrote it, or start a new directory.
//
// # One run at a time
//
// A run holds an exclusive lock on the directory's LockFile (weir.lock) from the moment
// it opens the directory until it ends. The lock is flock(2)'s: the kernel releases it
// when the process ends, however it ends, so a run killed with SIGKILL never leaves the
// directory locked. The file records the holder, so that a second run, in this process or
// another, is refused with a *LockedError (matching ErrLocked) such as
//
//	weir: recovery directory /data/rec is in use by pid 1234 on host worker-1 since 2026-12-04T17:00:00Z
//
// Verify, Inspect and State only read and take no lock: they work while a run writes,
// reading each partition as its last committed transaction left it (a run between two
// partitions' commits may therefore show one partition an epoch ahead of another, as a
// crash would leave them). In a directory no one can write, such as a read-only mount,
// they read the files as immutable. On systems without flock(2) no lock is taken.
//
// A run opens the store only to check it until its dataflow's state has loaded: a run
// refused because the directory is locked, missing or inconsistent, or holds state that
// this dataflow cannot resume (another dataflow, a moved input), leaves every partition
// as it found it. Only then is the execution recorded.
//
// # Resuming
//
// A run resumes from the earliest epoch every worker of the previous run completed (1 for
// a new directory); rows of that epoch and later are dropped and the work redone. It loads
// the latest row before that epoch for every (step, key) and routes it by the current
// worker count, so a job can be rescaled between runs.
//
// # Backups and garbage collection
//
// A row superseded by a newer one is deleted only when that newer row belongs to an
// epoch every worker had completed more than the backup interval ago (rows of older
// epochs move to compacted, the latest of each key kept). A copy of the directory taken
// within the interval, even file by file, therefore still resumes. A run collects once it
// has started (after its state loaded), every 10 seconds (and, with no backup interval,
// after each epoch's write, when no other write is under way), and when it stops cleanly:
// at the end of its inputs, or when its context is cancelled, as run.Main's is on Ctrl-C
// or SIGTERM. After a crash or a failure the next run's start collects instead.
//
// # Inspecting
//
// Inspect (`weir recovery inspect DIR`) lists executions, frontiers and per step the keys
// and bytes stored; State (`weir recovery inspect DIR STEP KEY`) shows the state one key
// resumes with, decoded to JSON. For an input or a sink, KEY is a partition and its value
// a position in the connector's own encoding: State returns its bytes and, when they are
// a sequence of unsigned varints (the files connectors' byte offsets), their values.
//
// # State codecs
//
// A step's state values are stored with the CBOR codec: exported struct fields, slices,
// maps, strings, numbers and times need nothing more. A struct may gain fields (old
// states leave them at zero) and lose fields (their stored values are dropped); a change
// of kind, such as a number that became a struct, fails.
//
// RegisterCodec replaces CBOR for one state type, in an init function:
//
//	func init() { recovery.RegisterCodec("session-v1", sessionCodec{}) }
//
// The codec's name is stored in front of each state it writes, and a state is decoded
// only by the codec that wrote it: a state written by CBOR and read by a registered codec,
// by another registered codec, or the reverse, is refused. The codec is chosen when the
// run starts, so encoding a state costs no lookup.
//
// A state that cannot be decoded into its step's type stops the resumed run with a
// *DecodeError (the type, the codec, the cause) inside a *weir.StepError naming the step
// and the key: the state is never dropped for a fresh one.
//
// # Errors
//
// A damaged directory never starts afresh silently. Opening or resuming fails with
// ErrNoPartitions, a *MissingPartitionsError (which partitions), a *CorruptError (not a
// SQLite file, truncated, a partition of another directory, a row that fails its
// checksum), a *FormatError (written by a weir of another format), an *AccessError (the
// operating system refuses to let the run write a file: permissions, a read-only mount;
// nothing is damaged, and it matches fs.ErrPermission), a *DiskFullError (the file system
// of a partition is full; what was committed is kept, and it matches syscall.ENOSPC), a
// *LockedError (another run holds the directory) or an *InconsistentError (a partition
// older than the epoch the others resume from, as when one file was restored from an
// older backup). Each message names the directory and the partition. A resume whose input or sink no longer lists a
// partition the directory holds a position of (its path was moved or renamed) fails with
// a *PartitionsChangedError naming the step and the partitions, rather than reading or
// writing them from the start.
//
// A resume of a dataflow that no longer has a step the directory holds state of (removed
// or renamed) fails with a *RemovedStepError naming the steps. With run.DropRemovedSteps
// (--drop-removed-steps), as Flink's allowNonRestoredState, the run goes on: the state of
// those steps is deleted in the transactions that record the run's start, so that the
// next run needs no option, and the run logs the steps at warning level.
package recovery
