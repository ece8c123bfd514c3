// Package keyhash is the stable hash of keys: the same in every process and run, so that
// the worker that owns a key (Of(key) % workers) and the recovery partition that stores it
// never depend on where they are computed. It is 64-bit FNV-1a.
package keyhash

// Of returns the 64-bit FNV-1a hash of key.
func Of(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= Prime
	}
	return h
}

// Prime is FNV-1a's multiplier, for callers that hash a key in parts (a step's name, a
// separator, the key) without building the joined string.
const Prime = 1099511628211
