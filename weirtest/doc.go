// Package weirtest is weir's testing kit: a scripted source, a capture sink and a helper
// that runs a flow inside a test, in the spirit of net/http/httptest. weir's own tests use
// it exactly as users do.
//
// # Scripted input
//
// NewSource builds a source from items and markers placed between them:
//
//	src := weirtest.NewSource(1, 2).EOF().Then(3).Abort().Then(4).Pause(time.Minute).Then(5)
//
// EOF ends the stream for this run; a run that resumes from its snapshot continues after
// it. Abort stops the run at once, as a crash would, the first time it is reached; a
// later run with the same Source goes past it. Pause makes the source idle for a while:
// run the test inside testing/synctest so that the wait takes no real time. BatchSize
// sets how many items travel together (default 1); a batch never spans a marker.
//
// # Captured output
//
// NewSink captures every item written to it, from every worker, in arrival order. Read it
// with Items after the run, and Clear it between runs.
//
// # Running
//
// Run runs a flow with a given number of workers and fails the test on error:
//
//	flow := weir.NewDataflow("flow")
//	out := weirtest.NewSink[int]()
//	op.Output("out", op.Input("in", flow, weirtest.NewSource(1, 2, 3)), out)
//	weirtest.Run(t, flow, 1)
//
// With one worker the output order is deterministic; with several, compare sorted items.
//
// # Resuming
//
// NewRecovery makes a recovery directory for one test, and its Run runs a flow on it as
// often as the test needs, each run resuming from the snapshots of the runs before, as a
// user's job does when it is restarted:
//
//	rec := weirtest.NewRecovery(t, 3) // 3 partitions, as recovery.Init makes them
//	src := weirtest.NewSource(1, 2).Abort().Then(3).EOF().Then(4)
//	// ... build flow on src, writing to a Sink out
//	rec.Run(t, flow, 1) // 1 and 2, then the crash
//	rec.Run(t, flow, 3) // 3 on three workers, with the state the first run left
//	rec.Run(t, flow, 1) // 4
//
// Runs close an epoch, and snapshot, after every round of reads (an epoch interval of 0),
// so where a run stops and resumes depends only on the script of its sources. Options
// gives the same settings for calling run.Run directly, for example to check the typed
// error of package recovery that a damaged directory gives.
package weirtest
