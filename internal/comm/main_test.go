package comm

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test leaves no goroutine behind: a mesh's readers, writers, dialers and
// handshakes all end with Join's failure or with Leave.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
