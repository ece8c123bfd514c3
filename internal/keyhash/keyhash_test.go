package keyhash

import (
	"hash/fnv"
	"testing"
)

// The hash decides owners and recovery partitions: it must stay FNV-1a, byte for byte.
func TestOfIsFNV1a(t *testing.T) {
	for _, key := range []string{"", "a", "user-42", "\x00\xff", "ключ"} {
		h := fnv.New64a()
		h.Write([]byte(key))
		if got, want := Of(key), h.Sum64(); got != want {
			t.Errorf("Of(%q) = %x, want %x", key, got, want)
		}
	}
}
