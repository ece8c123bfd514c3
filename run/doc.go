// Package run runs dataflows: Run in code, Main as a command-line program.
//
// # Workers and epochs
//
// A run has Workers goroutines in this process, each running the whole dataflow over its
// share of the data: partitions of partitioned sources are spread over the workers, and
// keyed items are exchanged to the worker that owns the key. Inputs close an epoch every
// EpochInterval and at the end of the stream; the first epoch is 1.
//
// # Options
//
// Run and Main take Options (Workers, EpochInterval, Recovery, ...), each stating its
// default in its doc comment. A run starts from the defaults and only the options given
// change them; there is no settings struct whose zero fields could mean something else.
// An invalid value (Workers(0), a negative interval) fails the run before it starts, with
// an error naming the setting. Main applies the options first, then its environment
// variables and flags over them.
//
// # Command line
//
// Main reads Bytewax's flags (-w workers per process, -s snapshot interval, -r recovery
// directory, -b backup interval), --recovery-partitions, --drop-removed-steps,
// --log-level and --log-interval, and their WEIR_
// environment variables, prints one usage for --help, and exits with a status that says
// how the run ended: 0 when every input ended, 1 when the flow failed (with the error, and
// the stack of a panic in user code), 2 for a bad flag, 130 or 143 when Ctrl-C or SIGTERM
// stopped it (cleanly: with a recovery directory, the last committed epoch stays
// resumable, and the line Main prints names the epoch the next run resumes from).
//
// A program adds its own flags to Flags and reads its own arguments with Args before it
// builds the flow:
//
//	limit := run.Flags().Int("limit", 0, "read at most `N` lines")
//	args := run.Args() // e.g. -w 2 --limit 100 input.csv: args is [input.csv]
//	flow := build(args[0], *limit)
//	run.Main(flow)
//
// # Recovery
//
// With a recovery directory (Recovery, -r DIR), a run snapshots every epoch and resumes
// from the last epoch every worker committed. The directory's store is in package
// recovery, which the program must import (else the run fails with ErrNoRecoveryStore):
//
//	import _ "github.com/weirflow/weir/recovery"
//
// A directory without partitions is refused, naming `weir recovery init DIR N` and
// RecoveryPartitions (--recovery-partitions N), which makes the run create it. A
// directory holding state of steps the dataflow no longer has is refused with a
// *recovery.RemovedStepError, unless DropRemovedSteps (--drop-removed-steps) lets the
// run delete that state and go on.
//
// # Logs
//
// A run logs to its Logger (Logger; run.Main's is text on stderr at --log-level, info by
// default) what it is doing, so that a stop by Ctrl-C reads differently from a finish:
//
//   - "weir: run starting" (info), once the execution has started: flow, workers,
//     epoch_interval, recovery (the directory, or "none"), resume (the epoch it starts
//     at) and from (what it resumes: "no recovery", "nothing committed", or the epoch
//     an earlier execution committed last).
//   - "weir: epoch written" (debug), each time a worker's committer has made epochs
//     durable in the recovery directory: worker, epoch (the last), epochs (how many in
//     that write), rows, bytes (of keys and states), final (the worker completed its
//     stream) and duration. An epoch is committed once every worker has written it.
//   - "weir: progress" (info), every LogEvery (30s; --log-interval): flow, in and out
//     (items read from inputs and written to sinks since the start), in_per_sec and
//     out_per_sec (over the interval), epoch (the latest epoch an input read in) and,
//     with recovery, committed (the last epoch every worker has written; 0 for none).
//   - one end line, last: "weir: run finished" (info; aborted when a source aborted the
//     run), "weir: run interrupted" (warn: ctx ended it, as Ctrl-C and SIGTERM do in
//     run.Main; cause) or "weir: run failed" (error; error), each with flow, in, out,
//     epoch, duration and, with recovery, resume (the epoch the next run on the directory
//     starts at) and committed (the epoch before it).
//
// With DropRemovedSteps, a run that deleted the state of removed steps logs "weir:
// recovery: dropped the state of steps this dataflow no longer has (--drop-removed-steps)"
// (warn) with dir and steps, before "weir: run starting".
//
// A run refused before it starts (a bad flow or configuration, a recovery directory it
// cannot open or resume) logs nothing: Run returns why.
package run
