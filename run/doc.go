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
// Main reads Bytewax's flags (-w workers per process, -s snapshot interval) and their
// WEIR_ environment variables, stops cleanly on Ctrl-C or SIGTERM, and exits non-zero with
// the error when the flow fails. Recovery, multi-process clusters and metrics flags come
// with those features.
package run
