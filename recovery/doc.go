// Package recovery sets up, checks and explains the recovery directories that let a
// dataflow resume after a crash or a stop, on any number of workers.
//
// # Layout
//
// A recovery directory holds N partitions, created once with Init (or
// `weir recovery init DIR N`): the SQLite files part-0.sqlite3 … part-<N-1>.sqlite3, in
// WAL mode with synchronous=FULL, so a committed epoch survives a power loss. Open them
// with the sqlite3 tool to look inside. Each holds:
//
//   - meta: the format version, the partition's index and the partition count;
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
// within the interval, even file by file, therefore still resumes. A run collects at its
// start, every 10 seconds and at its end.
//
// # Inspecting
//
// Inspect (`weir recovery inspect DIR`) lists executions, frontiers and per step the keys
// and bytes stored; State (`weir recovery inspect DIR STEP KEY`) shows the state one key
// resumes with, decoded to JSON.
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
// SQLite file, truncated, another format or directory) or an *InconsistentError (a
// partition older than the epoch the others resume from, as when one file was restored
// from an older backup). Each message names the directory and the partition.
package recovery
