package engine

import "time"

// StuckAfter sets how long a source's call runs before the log names it, until restore.
func StuckAfter(d time.Duration) (restore func()) {
	old := stuckAfter
	stuckAfter = d
	return func() { stuckAfter = old }
}
