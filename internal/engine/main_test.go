package engine_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every run must stop all of its goroutines, whatever way it ends.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
