// Package run runs dataflows: Run in code, Main as a command-line program.
//
// # Workers and epochs
//
// A run has Workers goroutines in this process, each running the whole dataflow over its
// share of the data: partitions of partitioned sources are spread over the workers, and
// keyed items are exchanged to the worker that owns the key. Inputs close an epoch every
// EpochInterval and at the end of the stream; the first epoch is 1.
//
// # Command line
//
// Main reads Bytewax's flags (-w workers per process, -s snapshot interval, -r recovery
// directory, -b backup interval) and their WEIR_ environment variables, prints one usage
// for --help, and exits with a status that says how the run ended: 0 when every input
// ended, 1 when the flow failed (with the error, and the stack of a panic in user code),
// 2 for a bad flag, 130 or 143 when Ctrl-C or SIGTERM stopped it (cleanly: with a
// recovery directory, the last committed epoch stays resumable).
//
// A program adds its own flags to Flags and reads its own arguments with Args before it
// builds the flow:
//
//	limit := run.Flags().Int("limit", 0, "read at most `N` lines")
//	args := run.Args() // e.g. -w 2 --limit 100 input.csv: args is [input.csv]
//	flow := build(args[0], *limit)
//	run.Main(flow)
package run
