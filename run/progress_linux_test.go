package run

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/source"
)

// openPTY opens a pseudo-terminal: the terminal end a program writes to, and the end
// that reads what a terminal would show.
func openPTY(t *testing.T) (tty, reader *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		t.Skipf("no pseudo-terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminal: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return s, m
}

// TestProgressOnTerminal runs Main with stderr on a pseudo-terminal: a flow over a slice
// draws the progress line (share read, items and rate), which is gone when the run ends,
// while --quiet, a stderr that is not a terminal, a stdout on the same terminal, or a
// source that does not know its size draw none. The logs are written in full either way.
func TestProgressOnTerminal(t *testing.T) {
	items := make([]int, 30)
	sized := func() *weir.Dataflow {
		flow := weir.NewDataflow("f")
		in := op.Input("in", flow, source.FromSlice(items...).BatchSize(3))
		slow := op.Map("slow", in, func(i int) int { time.Sleep(20 * time.Millisecond); return i })
		op.Output("out", slow, discard[int]())
		return flow
	}
	unsized := func() *weir.Dataflow {
		flow := weir.NewDataflow("f")
		n := 0
		src := source.Poll(50*time.Millisecond, func(context.Context) (int, bool, error) {
			if n++; n == 12 {
				return n, true, io.EOF
			}
			return n, true, nil
		})
		op.Output("out", op.Input("in", flow, src), discard[int]())
		return flow
	}
	for _, tc := range []struct {
		name     string
		flow     func() *weir.Dataflow
		args     []string
		terminal bool
		drawn    bool
	}{
		{"terminal", sized, nil, true, true},
		{"output on the same terminal", sized, []string{"same"}, true, false},
		{"quiet", sized, []string{"--quiet"}, true, false},
		{"not a terminal", sized, nil, false, false},
		{"unsized source", unsized, nil, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			var stderr io.Writer = &out
			read := make(chan struct{})
			if tc.terminal {
				tty, reader := openPTY(t)
				stderr = tty
				go func() {
					defer close(read)
					io.Copy(&out, reader) // until the terminal end closes: EIO
				}()
				defer func() {
					tty.Close()
					<-read
				}()
			} else {
				close(read)
			}
			var stdout io.Writer = io.Discard
			args := tc.args
			if len(args) == 1 && args[0] == "same" {
				stdout, args = stderr, nil // the flow's output to the terminal of the line
			}
			code := main(context.Background(), newCommandLine("prog"), tc.flow(), args, stdout, stderr, nil)
			if tc.terminal {
				stderr.(*os.File).Close()
				<-read
			}
			if code != 0 {
				t.Fatalf("status %d: %s", code, out.String())
			}
			got := out.String()
			drawn := strings.Contains(got, "% |") && strings.Contains(got, " items/s")
			if drawn != tc.drawn {
				t.Errorf("progress drawn %v, want %v:\n%q", drawn, tc.drawn, got)
			}
			if !strings.Contains(got, `msg="weir: run starting"`) || !strings.Contains(got, `msg="weir: run finished"`) {
				t.Errorf("logs missing:\n%q", got)
			}
			// The end record is the last line the terminal shows: what is written after it
			// (the line drawn again, then cleared) ends with a carriage return and blanks.
			last := got[strings.LastIndex(got, `msg="weir: run finished"`):]
			after := last[strings.IndexByte(last, '\n')+1:]
			if shown := after[strings.LastIndexByte(after, '\r')+1:]; strings.TrimSpace(shown) != "" {
				t.Errorf("the terminal shows %q after the end record (%q)", shown, after)
			}
		})
	}
}
