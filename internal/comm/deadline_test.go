package comm

import (
	"bufio"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// A frame that takes longer than the heartbeat timeout to arrive, its bytes flowing all
// the while, is read whole; a pause of the timeout in the middle of one is silence. (The
// reader once set its deadline per frame, so a 1 MiB frame that took more than the
// timeout to cross a loaded machine lost the peer: TestTCPAfterBurst, 2 runs in 3.)
func TestReadDeadlineMovesWithBytes(t *testing.T) {
	const timeout = 200 * time.Millisecond
	frame := AppendFrame(nil, Frame{Kind: FrameHeartbeat, Payload: make([]byte, 64<<10)})
	for _, tt := range []struct {
		name  string
		pause time.Duration // between pieces of 4 KiB
		at    int           // the piece before which it pauses; -1: every piece
		fails bool
	}{
		{"steady, 16 times the timeout in all", timeout / 4, -1, false},
		{"silent for the timeout mid-frame", 2 * timeout, 8, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, b := net.Pipe()
			defer a.Close()
			defer b.Close()
			go func() {
				for i := 0; 4096*i < len(frame); i++ {
					if tt.at < 0 || i == tt.at {
						time.Sleep(tt.pause)
					}
					if _, err := a.Write(frame[4096*i : min(len(frame), 4096*(i+1))]); err != nil {
						return
					}
				}
			}()
			br := bufio.NewReaderSize(&deadlineReader{conn: b, timeout: timeout}, 256<<10)
			start := time.Now()
			f, _, err := ReadFrame(br, 1<<20, nil)
			switch {
			case tt.fails && !errors.Is(err, os.ErrDeadlineExceeded):
				t.Fatalf("a pause of %v mid-frame: %v, want a deadline exceeded", tt.pause, err)
			case !tt.fails && err != nil:
				t.Fatalf("after %v: %v", time.Since(start), err)
			case !tt.fails && len(f.Payload) != 64<<10:
				t.Fatalf("payload of %d bytes", len(f.Payload))
			}
		})
	}
}
