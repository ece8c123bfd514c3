//go:build race

package sqlitestore

// raceEnabled is set when the race detector is on, under which sync.Pool drops pooled
// values at random and allocation counts grow.
const raceEnabled = true
