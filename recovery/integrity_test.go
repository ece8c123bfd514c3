package recovery_test

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/weirflow/weir/recovery"
	"github.com/weirflow/weir/run"
)

// job is a finished run of crashFlow on a recovery directory of 3 partitions.
type job struct {
	dir, in, out string
}

func finishedJob(t *testing.T, lines int) job {
	t.Helper()
	tmp := t.TempDir()
	j := job{dir: filepath.Join(tmp, "rec"), in: filepath.Join(tmp, "in.txt"), out: filepath.Join(tmp, "out.txt")}
	var b strings.Builder
	for i := range lines {
		fmt.Fprintf(&b, "%d\n", i)
	}
	if err := os.WriteFile(j.in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := recovery.Init(j.dir, 3); err != nil {
		t.Fatal(err)
	}
	if err := j.run(t); err != nil {
		t.Fatal(err)
	}
	return j
}

func (j job) run(t *testing.T) error {
	return run.Run(t.Context(), crashFlow(j.in, j.out, 0), run.Workers(2),
		run.EpochInterval(5*time.Millisecond), run.Recovery(j.dir))
}

// flipStored flips one bit inside the stored value of (step, key) in whichever partition
// and table holds it, with the SQLite driver alone, as a damaged disk or copy would:
// SQLite's structure stays intact and only the checksum can tell. It returns the partition.
func flipStored(t *testing.T, dir, step, key string) int {
	t.Helper()
	for p := range 3 {
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, fmt.Sprintf("part-%d.sqlite3", p)))
		if err != nil {
			t.Fatal(err)
		}
		for _, table := range []string{"snapshots", "compacted"} {
			var id, epoch int64
			var b []byte
			err := db.QueryRow(`SELECT x.step, x.epoch, x.state FROM `+table+` AS x JOIN steps ON steps.id = x.step
				WHERE steps.name = ? AND x.key = ? ORDER BY x.epoch DESC LIMIT 1`, step, key).Scan(&id, &epoch, &b)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)-1] ^= 1
			if _, err := db.Exec(`UPDATE `+table+` SET state = ? WHERE step = ? AND key = ? AND epoch = ?`, b, id, key, epoch); err != nil {
				t.Fatal(err)
			}
			db.Close()
			return p
		}
		db.Close()
	}
	t.Fatalf("no stored value of step %s, key %q", step, key)
	return 0
}

// One flipped bit in any stored row stops the resume with a *recovery.CorruptError naming
// the partition and, for a state or position, the step and key: before checksums, a
// flipped bit in a state resumed with exit 0 and wrong sums from then on.
func TestBitRot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		step string // "" for a frontier
		key  func(j job) string
	}{
		{"state", "crashloop.sum.stateful_flat_map.stateful.stateful_batch", func(job) string { return "3" }},
		{"source position", "crashloop.inp", func(j job) string { return j.in }},
		{"sink position", "crashloop.out", func(j job) string { return filepath.Base(j.out) }},
		{"frontier", "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			j := finishedJob(t, 200)
			var p int
			var key string
			if tt.step != "" {
				key = tt.key(j)
				p = flipStored(t, j.dir, tt.step, key)
			} else {
				p = 2
				db, err := sql.Open("sqlite", "file:"+filepath.Join(j.dir, "part-2.sqlite3"))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec(`UPDATE frontiers SET epoch = epoch + 64 WHERE worker = 1`); err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
			err := j.run(t)
			var ce *recovery.CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, recovery.ErrChecksum) {
				t.Fatalf("resume: %v, want a *recovery.CorruptError of a checksum", err)
			}
			if ce.Partition != p || ce.Step != tt.step || ce.Key != key {
				t.Errorf("error names partition %d, step %q, key %q; want %d, %q, %q", ce.Partition, ce.Step, ce.Key, p, tt.step, key)
			}
			if _, err := recovery.Verify(j.dir); !errors.Is(err, recovery.ErrChecksum) {
				t.Errorf("verify: %v, want the checksum mismatch", err)
			}
		})
	}
}

// A second process is refused while the first runs, with the first's pid; once the first
// is killed with SIGKILL, the kernel has released its lock and a run goes ahead. The child
// is the crash-loop job (see TestMain), slowed down so that it is still running.
func TestLockAcrossProcesses(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	dir, in, out := filepath.Join(tmp, "rec"), filepath.Join(tmp, "in.txt"), filepath.Join(tmp, "out.txt")
	var b strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&b, "%d\n", i)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := recovery.Init(dir, 2); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envJob+"=1", envDir+"="+dir, envIn+"="+in, envOut+"="+out, envWorkers+"=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	// The child records itself in the lock file once it holds the lock; polling another
	// process's file, there is nothing to wait on but time.
	holder := "pid " + strconv.Itoa(cmd.Process.Pid) + " "
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if b, _ := os.ReadFile(filepath.Join(dir, recovery.LockFile)); strings.HasPrefix(string(b), holder) {
			break
		}
		if len(exited) > 0 || time.Now().After(deadline) {
			t.Fatal("the child never took the lock")
		}
	}
	err := run.Run(t.Context(), crashFlow(in, out, 0), run.Recovery(dir))
	var le *recovery.LockedError
	if !errors.As(err, &le) || !errors.Is(err, recovery.ErrLocked) || le.PID != cmd.Process.Pid {
		t.Fatalf("second run: %v, want *recovery.LockedError naming pid %d", err, cmd.Process.Pid)
	}
	host, _ := os.Hostname()
	want := fmt.Sprintf("weir: recovery directory %s is in use by pid %d on host %s since ", dir, cmd.Process.Pid, host)
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("message %q, want %q...", err, want)
	}
	// Reading needs no lock.
	if _, err := recovery.Inspect(dir); err != nil {
		t.Errorf("inspect while the child runs: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	<-exited
	if err := run.Run(t.Context(), crashFlow(in, out, 0), run.Recovery(dir)); err != nil {
		t.Fatalf("run after the holder was killed: %v", err)
	}
}
