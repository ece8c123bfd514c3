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
// directory, -b backup interval, -i process id, -a addresses), -p to start a local
// cluster, --recovery-partitions, --drop-removed-steps, --log-level, --log-format,
// --log-interval, --quiet, --http and the cluster's flags (below), and their WEIR_ environment variables (WEIR_ and the long
// flag's name: WEIR_PROCESS_ID for --process-id), prints one usage for --help, and exits
// with a status that says
// how the run ended: 0 when every input ended, 1 when the flow failed (with the error, and
// the stack of a panic in user code), 2 for a bad flag, 130 or 143 when Ctrl-C or SIGTERM
// stopped it (cleanly: with a recovery directory, the last committed epoch stays
// resumable, and the line Main prints names the epoch the next run resumes from).
//
// "prog graph [--format mermaid|dot|json]" prints the planned dataflow (steps, the
// composite operators around them, edges with their exchange) without running it.
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
// # Cluster
//
// A flow runs unchanged on several processes, on one machine or many: each process runs
// Workers workers, and keys and partitions are spread over the workers of all of them.
// A run is one process of a cluster when it is given more than one address (Addresses,
// -a): the host:port of every process, in the order of their ids, the same list for
// every process; each is told its own id (ProcessID, -i), listens on its own address and
// connects to every other. -a takes the list separated by ';', as Bytewax's does, or
// @FILE, a file of one address per line:
//
//	prog -w 2 -i 0 -a "10.0.0.1:9000;10.0.0.2:9000"   # on the first machine
//	prog -w 2 -i 1 -a "10.0.0.1:9000;10.0.0.2:9000"   # on the second
//
// The processes wait for each other up to StartupTimeout (--startup-timeout, 60s),
// logging whom they are waiting for, and each checks that the others run the same flow
// with the same process and worker counts. A secret (ClusterSecret;
// --cluster-secret-file FILE, or the secret itself in WEIR_CLUSTER_SECRET) keeps out a
// process that does not know it, and TLS (ClusterTLS; --tls-cert, --tls-key and
// --tls-ca, all three) encrypts the connections, each side checking the other's
// certificate against the authority. Neither the secret nor the key is ever logged.
//
// A cluster is fail-stop, as Bytewax's and Flink's are: when a process fails or is lost
// (its connection closes, or it is silent for HeartbeatTimeout, --heartbeat-timeout,
// 10s), every process stops with an error naming it. Restart them all, on the same
// recovery directories, to resume from the last epoch the whole cluster committed. With
// recovery, each process opens the partitions present in its own directory (-r): one
// directory shared by every process and one per machine both work, as long as the
// processes together hold every partition exactly once.
//
// -p N (--processes) starts N processes of this program on this machine as a cluster, on
// free loopback ports, each with its -i and the -a of all; it logs the addresses,
// forwards Ctrl-C and SIGTERM to every process, and when one fails it stops the others
// (SIGTERM, then SIGKILL after a few seconds) and exits with that process's status; else
// 0, or 130/143 after a signal, as a single process would. -p does not go with -i or -a.
//
// On Kubernetes, a pod of a StatefulSet needs neither -i nor -a: given the headless
// service's name (--statefulset-service, WEIR_STATEFULSET_SERVICE) and the replica count
// (--statefulset-replicas, WEIR_STATEFULSET_REPLICAS), the process id is the ordinal at
// the end of the pod's hostname (pod "wc-2" is process 2) and process k's address is
// "wc-k.<service>:<port>", the port being --cluster-port (WEIR_CLUSTER_PORT, 9000).
// deploy/kubernetes in the repository holds a StatefulSet and a Service that set them.
//
// # Monitoring
//
// With an HTTP address (HTTP, --http, WEIR_HTTP) a run serves its figures while it runs,
// from a server that starts before the run (logging "weir: monitor serving" with its url)
// and stops after it: Prometheus metrics at /metrics (items in and out, batches and time
// in user code per step and worker, epochs, snapshot and commit durations, in-flight
// bytes and backpressure, keys and timers, source lag, errors: docs/METRICS.md lists
// them), the dataflow and status API under /api/ (docs/API.md) and a live web view at /.
// The workers count per batch, never per item, and a scrape reads their counters without
// stopping them. Each process of a cluster serves its own workers, every metric labelled
// with its process; the processes of a local cluster (-p N) serve the port given plus
// their process id.
//
// # Logs
//
// A run logs to its Logger (Logger; run.Main's is text on stderr at --log-level, info by
// default, or JSON with --log-format json; Run's is slog.Default(), or stderr when given
// LogLevel or LogFormat) what it is doing, so that a stop by Ctrl-C reads differently
// from a finish:
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
//   - "weir: a source's call has not returned" (warn), once for a source's Build, Next or
//     Close that has run for 5 s, as a hanging read does (its worker does nothing else,
//     and the run's commits wait): step, partition, call, worker and for (how long so
//     far); once more as "weir: stopping: waiting for a source's call that has not
//     returned" when the run is stopping and waits for it (a second Ctrl-C ends run.Main
//     at once).
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
// On a terminal, run.Main draws a progress line below the logs while the run reads
// bounded sources that know their size (every partition a source.Sizer: files, slices):
// the share of the inputs read, the elapsed and remaining time, the items read and their
// rate over the last seconds. It is cleared when the run ends, and is off with --quiet
// (Quiet), when stderr is not a terminal, when stdout writes to the same terminal (the
// flow's output would break into the line: redirect it, prog > out.txt), and for any
// other source. Log records are written above it.
//
// A run refused before it starts (a bad flow or configuration, a recovery directory it
// cannot open or resume) logs nothing: Run returns why.
package run
