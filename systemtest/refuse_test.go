package systemtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRefusals starts a process with another worker count, one with another dataflow, one
// told of another process count, and one with another cluster secret, beside a process of
// the job: each pair is refused, and both sides say why.
func TestRefusals(t *testing.T) {
	cases := []struct {
		name   string
		tweak  func(i int, s *childSpec)
		each   func(i int) []string
		reason string
	}{
		{name: "workers", each: func(i int) []string {
			if i == 1 {
				return []string{"-w", "1"}
			}
			return nil
		}, reason: "workers per process differ"},
		{name: "dataflow", tweak: func(i int, s *childSpec) { s.Variant = i == 1 }, reason: "dataflow differs"},
		{name: "processes", reason: "process count differs"},
		{name: "secret", reason: "secret does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := newJob(t, layout{2, 2}, childSpec{Flow: "all", Size: 100, Batch: 10, Startup: 5 * time.Second}, "--log-interval", "0")
			j.tweak, j.each = c.tweak, c.each
			if c.name == "secret" {
				// Each process knows a secret of its own.
				j.each = func(i int) []string {
					path := filepath.Join(j.dir, fmt.Sprintf("secret-%d", i))
					if err := os.WriteFile(path, []byte(fmt.Sprintf("secret of process %d\n", i)), 0o600); err != nil {
						t.Fatal(err)
					}
					return []string{"--cluster-secret-file", path}
				}
			}
			if c.name == "processes" {
				// Process 1 is told of a third process, at an address where none listens.
				j.each = func(i int) []string {
					if i == 1 {
						return []string{"-a", strings.Join(append(slices.Clone(j.addrs), freeAddresses(1)...), ";")}
					}
					return nil
				}
			}
			j.start()
			codes := j.wait(30 * time.Second)
			for i, code := range codes {
				if code == 0 {
					t.Errorf("process %d exited 0", i)
				}
				t.Logf("process %d: status %d: %s", i, code, lastLine(j.stderr(i)))
				if !strings.Contains(j.stderr(i), c.reason) {
					t.Errorf("process %d's stderr does not say %q", i, c.reason)
				}
			}
			if t.Failed() {
				t.Logf("statuses %v:\n%s", codes, j.stderrs())
			}
		})
	}
}

// TestGarbageClient connects to a process of a 2-process job while it waits for the other
// (started 700 ms later) and writes garbage, again and again: the clients are dropped, the
// processes join, and the job ends with the output the inputs imply. Once joined, the
// processes no longer listen.
func TestGarbageClient(t *testing.T) {
	const size = 1000
	j := newJob(t, layout{2, 2}, childSpec{Flow: "all", Size: size, Batch: 50, Pace: 20 * time.Millisecond},
		"-s", "100ms", "--log-interval", "0")
	j.tweak = func(i int, s *childSpec) {
		if i == 1 {
			s.Delay = 700 * time.Millisecond
		}
	}
	j.start()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 14))
	sent := 0
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(j.stderr(0), "run starting") {
		if time.Now().After(deadline) || done(j.procs[0]) {
			t.Fatalf("the job did not start:\n%s", j.stderrs())
		}
		conn, err := net.DialTimeout("tcp", j.addrs[0], time.Second)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue // not listening yet, or no more
		}
		b := make([]byte, 1+rng.IntN(64<<10))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		if rng.IntN(2) == 0 {
			copy(b, "WEIRMESH") // a hello's magic, so that the garbage reaches the checks after it
		}
		conn.SetDeadline(time.Now().Add(time.Second))
		if _, err := conn.Write(b); err == nil {
			sent++
		}
		conn.Close()
		time.Sleep(10 * time.Millisecond)
	}
	j.mustSucceed(time.Minute)
	t.Logf("%d garbage clients while process 0 waited for process 1", sent)
	if sent < 5 {
		t.Errorf("only %d garbage clients wrote to process 0 while it waited", sent)
	}
	want := expected(size)
	for _, s := range []string{"wordcount", "running", "join"} {
		sameLines(t, s+" with garbage clients", j.output(s), want[s])
	}
	checkWindows(t, j.output("windows"), j.output("late"), size)
}
