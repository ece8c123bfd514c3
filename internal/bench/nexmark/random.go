package nexmark

// javaRandom reproduces java.util.Random bit for bit, because the reference generator
// derives every field of an event from a Random seeded with the event's id: any other
// generator would give other people, auctions and bids. It is a value type so that a
// generator reseeds it per event without allocating.
type javaRandom struct {
	seed uint64 // only the low 48 bits are used
}

// The constants of the linear congruential generator of java.util.Random (Knuth, TAOCP
// vol. 2, section 3.2.1), which its specification fixes.
const (
	jrMultiplier = 0x5DEECE66D
	jrAddend     = 0xB
	jrMask       = 1<<48 - 1
)

// newJavaRandom returns the generator new java.util.Random(seed) returns.
func newJavaRandom(seed int64) javaRandom {
	var r javaRandom
	r.setSeed(seed)
	return r
}

// setSeed scrambles the seed as Java does, so that seeds 0, 1, 2... do not start from
// nearly equal states.
func (r *javaRandom) setSeed(seed int64) {
	r.seed = (uint64(seed) ^ jrMultiplier) & jrMask
}

// next advances the state and returns its top bits bits (1 to 32), as a signed int:
// Java's (int) cast keeps the low 32 bits of the shifted state.
func (r *javaRandom) next(bits uint) int32 {
	r.seed = (r.seed*jrMultiplier + jrAddend) & jrMask
	return int32(r.seed >> (48 - bits))
}

// nextInt returns a uniformly distributed int32 over its whole range.
func (r *javaRandom) nextInt() int32 { return r.next(32) }

// nextIntn returns a value in [0, bound), as Java's nextInt(bound): bound must be
// positive (Java throws, this panics). The rejection loop relies on int32 wrap-around,
// which Go has too: u-v+m overflows to negative exactly when u falls in the last,
// incomplete run of bound values, which would bias the result.
func (r *javaRandom) nextIntn(bound int32) int32 {
	if bound <= 0 {
		panic("weir: nexmark: random bound must be positive")
	}
	v := r.next(31)
	m := bound - 1
	if bound&m == 0 { // a power of two: the high bits are the better ones of an LCG
		return int32((int64(bound) * int64(v)) >> 31)
	}
	for u := v; ; u = r.next(31) {
		v = u % bound
		if u-v+m >= 0 {
			return v
		}
	}
}

// nextLong returns a uniformly distributed int64, from two 32-bit draws; the second is
// sign-extended before the addition, as in Java.
func (r *javaRandom) nextLong() int64 {
	hi := int64(r.next(32))
	return hi<<32 + int64(r.next(32))
}

// nextDouble returns a value in [0, 1) made of 53 random bits.
func (r *javaRandom) nextDouble() float64 {
	hi := int64(r.next(26))
	return float64(hi<<27+int64(r.next(27))) * 0x1p-53
}
