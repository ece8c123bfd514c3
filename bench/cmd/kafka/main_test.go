package main

import (
	"testing"
	"time"
)

// TestBench runs one small round of every path: each must move every record, which bench
// checks with a read_committed reader of each output topic.
func TestBench(t *testing.T) {
	if err := bench(3000, 1, 2, 2, 100*time.Millisecond, ""); err != nil {
		t.Fatal(err)
	}
}
