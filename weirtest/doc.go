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
package weirtest
