package source_test

import (
	"testing"

	"go.uber.org/goleak"
)

// FromFunc and FromChan start goroutines: every run must stop them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
