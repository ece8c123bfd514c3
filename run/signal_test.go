package run

import (
	"bytes"
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
)

// SIGTERM (as Ctrl-C's SIGINT) stops an endless flow cleanly: exit status 0, no error.
func TestSignalStopsCleanly(t *testing.T) {
	started := make(chan struct{})
	flow := weir.NewDataflow("endless")
	ticks := op.Input("tick", flow, source.Poll(time.Millisecond, func(context.Context) (int, bool, error) {
		select {
		case <-started:
		default:
			close(started)
		}
		return 1, true, nil
	}))
	op.Output("out", ticks, sink.Func(func([]int) error { return nil }))
	var stderr bytes.Buffer
	code := make(chan int)
	go func() { code <- main(context.Background(), flow, nil, &stderr, nil) }()
	<-started // the run is going, so its signal handler is installed
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-code:
		if c != 0 || stderr.Len() != 0 {
			t.Errorf("exit %d, stderr %q; want 0 and nothing", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not stop on SIGTERM")
	}
}
