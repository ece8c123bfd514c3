package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWalkthrough is the first hour of a new user, scripted: build the program as the
// README says, get a flag wrong, ask for help, meet malformed rows under each error
// policy, then interrupt a run with a recovery directory and resume it. It checks what
// the user sees: exit statuses, messages and output.
func TestWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two programs")
	}
	bin := t.TempDir()
	clicks, weir := filepath.Join(bin, "clicks"), filepath.Join(bin, "weir")
	for _, b := range [][2]string{{clicks, "./examples/clicks"}, {weir, "./cmd/weir"}} {
		cmd := exec.Command("go", "build", "-o", b[0], b[1])
		cmd.Dir = "../.."
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", b[1], err, out)
		}
	}
	// run runs a command from the repository's root, as the README's commands are.
	run := func(t *testing.T, name string, args ...string) (code int, stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Dir = "../.."
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), o.String(), withoutLogs(e.String())
		} else if err != nil {
			t.Fatal(err)
		}
		return 0, o.String(), withoutLogs(e.String())
	}
	sessions := strings.Join([]string{
		"alice session 0: 09:00:00 to 09:07:00, 5 pages: home search product cart pay",
		"bob session 0: 09:00:30 to 09:04:00, 2 pages: home pricing",
		"alice late click at 09:02:00: help",
		"alice session 1: 10:15:00 to 10:16:00, 2 pages: home orders",
		"bob session 1: 09:41:00 to 09:42:30, 2 pages: home docs",
		"carol session 0: 09:50:00 to 09:52:00, 2 pages: home pricing",
	}, "\n") + "\n"

	t.Run("bad flag", func(t *testing.T) {
		code, stdout, stderr := run(t, clicks, "--worker", "2")
		if code != 2 || stdout != "" || stderr != "clicks: flag provided but not defined: -worker (see clicks --help)\n" {
			t.Errorf("status %d, stdout %q, stderr %q; want 2 and one line naming the flag", code, stdout, stderr)
		}
		code, _, stderr = run(t, clicks, "-w", "two")
		if code != 2 || !strings.Contains(stderr, `invalid value "two" for flag -w`) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("-w two: status %d, stderr %q", code, stderr)
		}
	})
	t.Run("help", func(t *testing.T) {
		code, stdout, stderr := run(t, clicks, "--help")
		if code != 0 || stderr != "" {
			t.Fatalf("status %d, stderr %q", code, stderr)
		}
		for _, want := range []string{"-w, --workers-per-process N", "-r, --recovery-directory DIR", "WEIR_SNAPSHOT_INTERVAL",
			"clicks flags:", "--on-error fail", "--out file"} {
			if strings.Count(stdout, want) != 1 {
				t.Errorf("--help shows %q %d times, want once:\n%s", want, strings.Count(stdout, want), stdout)
			}
		}
	})
	t.Run("malformed row fails the run", func(t *testing.T) {
		code, stdout, stderr := run(t, clicks)
		first, _, _ := strings.Cut(stderr, "\n")
		for _, want := range []string{"step clicks.clicks", "clicks.csv:7", "wrong number of fields", "byte 179"} {
			if !strings.Contains(first, want) {
				t.Errorf("error %q lacks %q", first, want)
			}
		}
		if code != 1 || strings.Contains(stdout, "session") {
			t.Errorf("status %d, stdout %q; want 1 and no sessions", code, stdout)
		}
	})
	t.Run("skip", func(t *testing.T) {
		code, stdout, stderr := run(t, clicks, "--on-error", "skip")
		if code != 0 || stdout != sessions || stderr != "clicks: skipped 2 malformed rows\n" {
			t.Errorf("status %d, stderr %q, stdout:\n%s", code, stderr, stdout)
		}
	})
	t.Run("dead letter", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "bad", "rows.txt")
		code, stdout, stderr := run(t, clicks, "--on-error", "dead-letter", "--bad", bad)
		if code != 0 || stdout != sessions || stderr != "" {
			t.Errorf("status %d, stderr %q, stdout:\n%s", code, stderr, stdout)
		}
		got, err := os.ReadFile(bad)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(got)), "\n")
		if len(lines) != 2 || !strings.Contains(lines[0], "clicks.csv:7 (byte 179)") || !strings.Contains(lines[1], "clicks.csv:9 (byte 238)") ||
			!strings.Contains(lines[1], `"bob,not-a-time,signup"`) {
			t.Errorf("dead letters:\n%s", got)
		}
	})
	t.Run("interrupt and resume", func(t *testing.T) {
		dir := t.TempDir()
		input := filepath.Join(dir, "big.csv")
		writeClicks(t, input, 20000)
		code, _, stderr := run(t, weir, "recovery", "init", filepath.Join(dir, "state"), "2")
		if code != 0 {
			t.Fatalf("weir recovery init: status %d: %s", code, stderr)
		}
		want := filepath.Join(dir, "want.txt")
		if code, _, stderr := run(t, clicks, "--out", want, input); code != 0 {
			t.Fatalf("fault-free run: status %d: %s", code, stderr)
		}

		// Replayed at 20k rows a second, the run takes about a second: interrupt it once
		// sessions have been written.
		got := filepath.Join(dir, "got.txt")
		cmd := exec.Command(clicks, "-r", filepath.Join(dir, "state"), "-s", "50ms", "--rate", "20000", "--out", got, input)
		cmd.Dir = "../.."
		var e bytes.Buffer
		cmd.Stderr = &e
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if fi, err := os.Stat(got); err == nil && fi.Size() > 0 {
				break
			}
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := cmd.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 130 || !strings.Contains(e.String(), "interrupted by SIGINT") ||
			!strings.Contains(e.String(), `msg="weir: run interrupted"`) {
			t.Fatalf("interrupted run: %v, stderr %q; want status 130 and a line saying so", err, e.String())
		}
		partial, _ := os.ReadFile(got)
		code, _, stderr = run(t, clicks, "-r", filepath.Join(dir, "state"), "--out", got, input)
		if code != 0 {
			t.Fatalf("resumed run: status %d: %s", code, stderr)
		}
		a, _ := os.ReadFile(want)
		b, _ := os.ReadFile(got)
		if !bytes.Equal(a, b) {
			t.Errorf("after the interruption (%d bytes written) and the resume, the output (%d bytes) is not the fault-free run's (%d bytes)", len(partial), len(b), len(a))
		}
		if len(partial) == 0 || len(partial) >= len(a) {
			t.Logf("the interruption came after %d of %d bytes: the test did not interrupt mid-run", len(partial), len(a))
		}
	})
}

// withoutLogs drops the run's log lines (its start, progress and end, which run.Main writes
// to stderr) from stderr, leaving the messages the walkthrough checks.
func withoutLogs(stderr string) string {
	var kept []string
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if !(strings.HasPrefix(l, "time=") && strings.Contains(l, ` msg="weir: `)) {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}

// writeClicks writes n clicks of 50 users, a few seconds apart, with a pause of an hour
// every 1000 rows, so that every user's sessions close all along the file.
func writeClicks(t *testing.T, path string, n int) {
	var b strings.Builder
	b.WriteString("user,time,page\n")
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	pages := []string{"home", "search", "product", "cart", "pay"}
	for i := range n {
		at = at.Add(3 * time.Second)
		if i%1000 == 999 {
			at = at.Add(time.Hour)
		}
		fmt.Fprintf(&b, "u%d,%s,%s\n", i%50, at.Format(time.RFC3339), pages[i%len(pages)])
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
