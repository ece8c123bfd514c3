package state

import (
	"testing"

	"github.com/weirflow/weir/internal/keyhash"
)

// The partition of a row is the stable hash of its step, a zero byte and its key: it
// decides which file holds a row, in every process and run, so it must not change.
func TestPartitionOf(t *testing.T) {
	tests := []struct {
		step, key string
		n         int
	}{
		{"", "", 1},
		{"s", "a", 2},
		{"count.reduce", "user-42", 4},
		{"f.j", "\x00\xff", 7},
		{"window.w", "ключ", 16},
	}
	for _, tt := range tests {
		want := int(keyhash.Of(tt.step+"\x00"+tt.key) % uint64(tt.n))
		if got := PartitionOf(tt.step, tt.key, tt.n); got != want {
			t.Errorf("PartitionOf(%q, %q, %d) = %d, want %d", tt.step, tt.key, tt.n, got, want)
		}
		if got := HashStep(tt.step).Partition(tt.key, tt.n); got != want {
			t.Errorf("HashStep(%q).Partition(%q, %d) = %d, want %d", tt.step, tt.key, tt.n, got, want)
		}
	}
}
