// Package systemtest tests weir's clusters as users run them: real processes of one
// program, connected over TCP on loopback, writing their output to files, killed with
// SIGKILL and restarted on their recovery directories.
//
// The package has no code of its own beyond this comment: it is its tests. The test
// binary is also the cluster's program. TestMain looks for WEIR_SYSTEMTEST_CHILD, which
// names the flow and its settings (input size, batch size, pacing, a stalled sink, a file
// for heap samples); when set, the binary builds that flow and hands it to run.Main with
// the command line the test gave it (-i, -a, -w, -r, -s, --recovery-partitions,
// --heartbeat-timeout), as any weir program would, and exits with run.Main's status. The
// inputs are generated partitions that every process lists alike, and each process
// writes its sinks' files under a directory of its own, so that a test reads the union of
// every process's output and compares it as a sorted multiset. That union is compared:
//
//   - across layouts (TestSameOutputEverywhere): a wordcount, a running sum per key, a
//     windowed count in event time and a join give the same output on 1 process x 4
//     workers, 2 x 2 and 4 x 1, without recovery and with one recovery directory shared
//     or one per process, and the output the inputs imply;
//   - across a kill (TestKill9): a 3-process job killed with SIGKILL stops, resumes when
//     restarted, and ends with a fault-free run's output;
//   - across rescales (TestRescale): killed as 3 x 1, resumed and killed as 2 x 2, and
//     finished as 1 x 3 on one recovery directory, the same output again.
//
// TestKillLoop runs three jobs alone (the running sum, the windowed count and the join),
// each killed with SIGKILL again and again on one recovery directory and one output
// directory: before a launch's first commit (in the first launch, before any snapshot,
// even while the directory is being made), within a millisecond of a write to a
// partition's write-ahead log (epochs close every 20 ms), or after a commit. Each launch
// takes another worker count: 1 to 4 workers on one process, or 2 x 1, 2 x 2 or 3 x 1
// processes, one of which is killed while the others stop by themselves. Every sink's
// lines are tallied against a fault-free run's (countLines: lost, doubled, wrong), and the
// time from a launch's start to its first committed epoch is reported.
//
// TestSilentProcess stops a process with SIGSTOP, which only the heartbeat can tell;
// TestRefusals starts a process with another worker count, flow, process count or secret;
// TestGarbageClient writes garbage to a process waiting for its peer;
// TestBoundedMemory stalls a sink on one process and samples both heaps;
// TestStalledSink slows a sink on one process to a write every 250 ms (5 s; 30 s long)
// and follows both heaps, the items read and the committed epoch (long: also a sink
// frozen in one write for 30 s); TestHangingSource (long only) hangs a source's partition
// in Next and reads what the log says of it, before and after an interrupt;
// TestConnectionFaults has process 1 dial process 0 through a proxy the test controls
// (proxy_test.go), which cuts the connection or holds its bytes, and resumes the job to
// the output its inputs imply; TestSlowStore runs a flow in process over a recovery
// directory whose writes are slowed, stops it and resumes it;
// TestSoak runs a 2-process job over a recovery store, its sources never dry, and checks
// that each process's heap and goroutine count stay flat (6 s by default; WEIR_SOAK=1:
// 30 minutes, sampled every 10 s; WEIR_SOAK_DURATION another length);
// TestClusterExample builds examples/cluster and runs it with -p 2 -w 2.
// TestKafkaCrashLoop runs a keyed running sum from one Kafka topic to another, exactly
// once and at least once, on 1 process x 2 workers and 2 x 1, killing a process again and
// again while the broker (kfake in a process of its own, or WEIR_KAFKA_BROKERS) lives on,
// and reads the output as a read_committed consumer: exactly a fault-free run's records,
// or all of them with the duplicates counted.
//
// The default run is short (well under a minute on two cores). WEIR_SYSTEMTEST_LONG=1
// runs the whole matrix of layouts, recovery directories, batch sizes and epoch intervals,
// twenty kills at random times, 110 kills of each kill loop's job, hundreds of kills of
// the Kafka job, and a sink stalled for 30 s instead of 5. BenchmarkCluster
// times a keyed count on 2 processes x 1 worker against 1 process x 2 workers.
package systemtest
