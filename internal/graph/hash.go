package graph

// Hash is the stable hash of a key (64-bit FNV-1a): the same in every process and run, so
// that a key's owner, hash(key) % workers, never depends on where it is computed.
func Hash(key string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(key); i++ {
		h ^= uint64(key[i])
		h *= 1099511628211
	}
	return h
}
