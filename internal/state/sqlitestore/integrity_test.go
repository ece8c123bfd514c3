package sqlitestore

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/state"
)

// damageDB opens partition p of dir with the driver alone, as a tool or a flipped bit on
// the disk would change it: the row changes but its checksum does not.
func damageDB(t *testing.T, dir string, p int, stmt string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+state.PartitionPath(dir, p))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	res, err := db.Exec(stmt, args...)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		t.Fatalf("%s changed no row", stmt)
	}
}

// flipBit flips one bit inside the stored state of key in table (where adds conditions).
func flipBit(table, key, where string) func(t *testing.T, dir string, p int) {
	return func(t *testing.T, dir string, p int) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+state.PartitionPath(dir, p))
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var b []byte
		q := fmt.Sprintf(`SELECT state FROM %s WHERE key = ? %s`, table, where)
		if err := db.QueryRow(q, key).Scan(&b); err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 4
		if _, err := db.Exec(fmt.Sprintf(`UPDATE %s SET state = ? WHERE key = ? %s`, table, where), b, key); err != nil {
			t.Fatal(err)
		}
	}
}

// Every kind of row fails its checksum when one bit of it changes, or when a value turns
// up under another key or epoch: opening, Begin or Load fails with a *CorruptError naming
// the partition and, for a state row, the step and key.
func TestChecksums(t *testing.T) {
	t.Parallel()
	const n = 2
	sql := func(stmt string) func(t *testing.T, dir string, p int) {
		return func(t *testing.T, dir string, p int) { damageDB(t, dir, p, stmt) }
	}
	tests := []struct {
		name    string
		collect bool // move the rows to compacted first
		damage  func(t *testing.T, dir string, p int)
		p       int    // -1: the partition of key001
		key     string // the key the error names, "" for a row that is not a state
		in      string // in the message besides the directory
	}{
		{"state bit", false, flipBit("snapshots", "key001", "AND epoch = 2"), -1, "key001", `step s, key "key001": checksum mismatch`},
		{"compacted state bit", true, flipBit("compacted", "key001", ""), -1, "key001", `step s, key "key001": checksum mismatch`},
		{"state under another key", false, sql(`UPDATE snapshots SET key = 'key999' WHERE key = 'key001' AND epoch = 2`), -1, "key999", "checksum mismatch"},
		{"state of another epoch", false, sql(`UPDATE snapshots SET epoch = 1 WHERE key = 'key001' AND epoch = 2`), -1, "key001", "checksum mismatch"},
		{"deletion turned state", false, sql(`UPDATE snapshots SET state = NULL WHERE key = 'key001' AND epoch = 2`), -1, "key001", "checksum mismatch"},
		{"frontier", false, sql(`UPDATE frontiers SET epoch = (epoch | 1) - (epoch & 1)`), 1, "", "frontier of execution 1, worker 0: checksum mismatch"},
		{"execution", false, sql(`UPDATE executions SET resume = resume | 8`), 0, "", "execution 1: checksum mismatch"},
		{"step name", false, sql(`UPDATE steps SET name = 'r'`), 1, "", `step id 1 ("r"): checksum mismatch`},
		{"meta", false, sql(`UPDATE meta SET value = 7 WHERE name = 'partitions'`), 0, "", "meta partitions: checksum mismatch"},
		{"collected", true, sql(`UPDATE meta SET value = value + 1 WHERE name = 'collected'`), 1, "", "meta collected: checksum mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			initT(t, dir, n)
			fill(t, dir, 1, 2)
			if tt.collect {
				s := openT(t, dir)
				if err := s.GC(0); err != nil {
					t.Fatal(err)
				}
				s.Close()
			}
			p := tt.p
			if p < 0 {
				p = partitionOf("s", "key001", n)
			}
			tt.damage(t, dir, p)
			err := func() error {
				s, err := Open(dir)
				if err != nil {
					return err
				}
				defer s.Close()
				if _, err := s.Begin(1); err != nil {
					return err
				}
				return s.Load(func(step, key string, state []byte) error { return nil })
			}()
			var ce *state.CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, state.ErrChecksum) {
				t.Fatalf("resume: %v, want a *CorruptError of ErrChecksum", err)
			}
			wantStep := ""
			if tt.key != "" {
				wantStep = "s"
			}
			if ce.Partition != p || ce.Step != wantStep || ce.Key != tt.key {
				t.Errorf("error names partition %d, step %q, key %q; want %d, %q, %q", ce.Partition, ce.Step, ce.Key, p, wantStep, tt.key)
			}
			want := fmt.Sprintf("weir: recovery directory %s: partition %d (part-%d.sqlite3) is corrupt: ", dir, p, p)
			if msg := err.Error(); !strings.HasPrefix(msg, want) || !strings.Contains(msg, tt.in) || strings.Count(msg, "weir:") != 1 {
				t.Errorf("message %q, want %q...%q", msg, want, tt.in)
			}
			// A full check finds it too.
			s, err := Read(dir)
			if err == nil {
				err = s.Check()
				s.Close()
			}
			if !errors.Is(err, state.ErrChecksum) {
				t.Errorf("check: %v, want ErrChecksum", err)
			}
		})
	}
}

// Check reads the rows no resume reads now: those of an epoch not yet complete.
func TestCheckReadsEverything(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 1)
	fill(t, dir, 1, 2)
	damageDB(t, dir, 0, `UPDATE frontiers SET epoch = 2, crc = ? WHERE execution = 1`, sumFrontier(1, 0, 2, false))
	damageDB(t, dir, 0, `UPDATE snapshots SET state = CAST('y' AS BLOB) WHERE key = 'key003' AND epoch = 2`)
	s := openT(t, dir)
	if _, err := s.Begin(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Load(func(string, string, []byte) error { return nil }); err != nil {
		t.Fatalf("load of epoch 1 read the damaged row of epoch 2: %v", err)
	}
	var ce *state.CorruptError
	if err := s.Check(); !errors.As(err, &ce) || ce.Key != "key003" {
		t.Fatalf("check: %v, want the damaged row of key003", err)
	}
}

// A partition of the previous layout, without checksums, is refused as such: not corrupt.
func TestOlderFormat(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	damageDB(t, dir, 1, `UPDATE meta SET value = 2 WHERE name = 'format'`)
	_, err := Open(dir)
	var fe *state.FormatError
	if !errors.As(err, &fe) || fe.Partition != 1 || fe.Version != 2 {
		t.Fatalf("open: %v, want *FormatError of partition 1, version 2", err)
	}
	var ce *state.CorruptError
	if errors.As(err, &ce) {
		t.Errorf("an older format is reported as corruption: %v", err)
	}
	want := fmt.Sprintf("weir: recovery directory %s: partition 1 (part-1.sqlite3) has format version 2, this weir reads version 3: resume it with the weir that wrote it, or start a new recovery directory", dir)
	if err.Error() != want {
		t.Errorf("message\n%q, want\n%q", err, want)
	}
}

// One run at a time: a second open of the directory, in this process too, is refused
// with the holder's pid, host and start time; readers need no lock.
func TestLock(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	initT(t, dir, 2)
	s := openT(t, dir)
	_, err := Open(dir)
	var le *state.LockedError
	if !errors.As(err, &le) || !errors.Is(err, state.ErrLocked) {
		t.Fatalf("second open: %v, want *LockedError", err)
	}
	host, _ := os.Hostname()
	if le.PID != os.Getpid() || le.Host != host || time.Since(le.Since) > time.Minute {
		t.Errorf("holder %+v, want pid %d on %s, now", le, os.Getpid(), host)
	}
	want := fmt.Sprintf("weir: recovery directory %s is in use by pid %d on host %s since %s", dir, os.Getpid(), host, le.Since.UTC().Format(time.RFC3339))
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	r, err := Read(dir)
	if err != nil {
		t.Fatalf("read while locked: %v", err)
	}
	if _, err := r.Verify(); err != nil {
		t.Error(err)
	}
	if err := r.GC(0); err == nil {
		t.Error("GC on a store opened for reading succeeded")
	}
	r.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir)
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	s2.Close()
	// A refused open leaves the holder's lock alone.
	s3 := openT(t, dir)
	if _, err := Open(dir); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("third open: %v", err)
	}
	if _, err := Open(dir); !errors.Is(err, state.ErrLocked) {
		t.Fatalf("fourth open: %v", err)
	}
	s3.Close()
}

// makeReadOnly makes paths unwritable even for root (who ignores permission bits), with
// chattr +i, or skips the test where the file system or the user cannot.
func makeReadOnly(t *testing.T, paths ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		for _, p := range paths {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, fi.Mode().Perm()&^0o222); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(p, fi.Mode().Perm()) })
		}
		return
	}
	for _, p := range paths {
		if out, err := exec.Command("chattr", "+i", p).CombinedOutput(); err != nil {
			t.Skipf("cannot make %s read-only as root: chattr: %v %s", p, err, out)
		}
		t.Cleanup(func() { exec.Command("chattr", "-i", p).Run() })
	}
}

// A directory or partition the run may not write is an access problem, not corruption:
// an operator told "corrupt" might delete a healthy partition.
//
// Not parallel: chattr's fork shares, until its exec, the lock file descriptors the other
// tests hold, so that a test reopening a directory it had just closed found it in use.
func TestReadOnly(t *testing.T) {
	t.Run("partition files", func(t *testing.T) {
		dir := t.TempDir()
		initT(t, dir, 2)
		fill(t, dir, 1)
		makeReadOnly(t, state.PartitionPath(dir, 1))
		_, err := Open(dir)
		var ae *state.AccessError
		if !errors.As(err, &ae) || ae.Partition != 1 || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("open: %v, want *AccessError of partition 1", err)
		}
		var ce *state.CorruptError
		if errors.As(err, &ce) || strings.Contains(err.Error(), "corrupt") {
			t.Errorf("reported as corruption: %v", err)
		}
		if !strings.Contains(err.Error(), "partition 1 (part-1.sqlite3) cannot be written: attempt to write a readonly database") {
			t.Errorf("message %q", err)
		}
	})
	t.Run("directory with its lock file", func(t *testing.T) {
		dir := t.TempDir()
		initT(t, dir, 2)
		fill(t, dir, 1) // leaves the lock file, which stays writable
		makeReadOnly(t, dir)
		_, err := Open(dir)
		var ae *state.AccessError
		if !errors.As(err, &ae) || ae.Partition != 0 || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("open: %v, want *AccessError of partition 0", err)
		}
		if strings.Contains(err.Error(), "corrupt") {
			t.Errorf("reported as corruption: %v", err)
		}
	})
	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		initT(t, dir, 2)
		fill(t, dir, 1)
		os.Remove(filepath.Join(dir, state.LockFile))
		makeReadOnly(t, dir)
		_, err := Open(dir)
		var ae *state.AccessError
		if !errors.As(err, &ae) || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("open: %v, want *AccessError", err)
		}
		if !strings.HasPrefix(err.Error(), "weir: recovery directory "+dir+": the directory cannot be written: ") {
			t.Errorf("message %q", err)
		}
		// Reading needs no write.
		r, err := Read(dir)
		if err != nil {
			t.Fatalf("read a read-only directory: %v", err)
		}
		defer r.Close()
		if resume, err := r.Verify(); err != nil || resume != 2 {
			t.Errorf("verify = %d, %v; want 2", resume, err)
		}
		if err := r.Check(); err != nil {
			t.Error(err)
		}
	})
}

// Any one flipped bit in a state row's step, key, epoch or state, and any shift of the
// boundary between step and key, changes its checksum: CRC-32C detects every single-bit
// error, provided the checksum covers the field and its length.
func FuzzStateSum(f *testing.F) {
	f.Add("flow.sum", "k1", uint64(3), []byte{1, 2, 3}, false, uint(7))
	f.Add("s", "", uint64(1), []byte{}, true, uint(0))
	f.Fuzz(func(t *testing.T, step, key string, epoch uint64, state []byte, deleted bool, bit uint) {
		if deleted {
			state = nil
		}
		var s summer
		sum := s.state(step, key, epoch, state, deleted)
		flip := func(b []byte) []byte {
			b = append([]byte(nil), b...)
			i := bit % uint(8*len(b))
			b[i/8] ^= 1 << (i % 8)
			return b
		}
		check := func(what string, got int64) {
			t.Helper()
			if got == sum {
				t.Errorf("%s: the checksum did not change", what)
			}
		}
		if len(step) > 0 {
			check("step", s.state(string(flip([]byte(step))), key, epoch, state, deleted))
			check("boundary", s.state(step[:len(step)-1], step[len(step)-1:]+key, epoch, state, deleted))
		}
		if len(key) > 0 {
			check("key", s.state(step, string(flip([]byte(key))), epoch, state, deleted))
		}
		check("epoch", s.state(step, key, epoch^(1<<(bit%64)), state, deleted))
		if len(state) > 0 {
			check("state", s.state(step, key, epoch, flip(state), deleted))
		}
		check("deletion", s.state(step, key, epoch, nil, !deleted))
	})
}
