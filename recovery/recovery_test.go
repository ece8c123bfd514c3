package recovery_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weirflow/weir/recovery"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		damage func(dir string) error
		check  func(err error) bool
	}{
		{"intact", func(string) error { return nil }, func(err error) bool { return err == nil }},
		{"no partitions", os.RemoveAll, func(err error) bool { return errors.Is(err, recovery.ErrNoPartitions) }},
		{"missing", func(dir string) error { return os.Remove(filepath.Join(dir, "part-1.sqlite3")) },
			func(err error) bool {
				var e *recovery.MissingPartitionsError
				return errors.As(err, &e) && fmt.Sprint(e.Missing) == "[1]"
			}},
		{"corrupt", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "part-0.sqlite3"), []byte(strings.Repeat("x", 8192)), 0o644)
		}, func(err error) bool {
			var e *recovery.CorruptError
			return errors.As(err, &e) && e.Partition == 0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "rec")
			if err := recovery.Init(dir, 2); err != nil {
				t.Fatal(err)
			}
			if err := tt.damage(dir); err != nil {
				t.Fatal(err)
			}
			resume, err := recovery.Verify(dir)
			if !tt.check(err) {
				t.Fatalf("verify: %v", err)
			}
			if err == nil && resume != 1 {
				t.Errorf("resume = %d, want 1", resume)
			}
			if err != nil && !strings.Contains(err.Error(), dir) {
				t.Errorf("message %q does not name %s", err, dir)
			}
		})
	}
}

func ExampleInit() {
	dir, err := os.MkdirTemp("", "weir-recovery")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	if err := recovery.Init(dir, 4); err != nil {
		panic(err)
	}
	resume, err := recovery.Verify(dir)
	fmt.Println("resume from epoch", resume, err)
	err = recovery.Init(dir, 4)
	fmt.Println("init again:", errors.Is(err, recovery.ErrExists))
	// Output:
	// resume from epoch 1 <nil>
	// init again: true
}
