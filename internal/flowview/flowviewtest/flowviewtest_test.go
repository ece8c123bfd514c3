package flowviewtest

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that keeps the failures of the check it is given to.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// TestCheckMermaidRejects checks that the check fails a diagram Mermaid cannot parse, and
// one that is not a flowchart, and passes the others.
func TestCheckMermaidRejects(t *testing.T) {
	if _, _, err := parser(); err != nil {
		CheckMermaid(t, nil) // skips, or fails in CI
	}
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		CheckMermaid(r, map[string][]byte{
			"good":  []byte("flowchart TD\n  n0([\"in\"]) -->|\"by key\"| n1[(\"st\")]\n"),
			"bad":   []byte("flowchart TD\n  n0[\"in\" --> n1\n"),
			"other": []byte("pie\n  \"a\" : 1\n"),
		})
	}()
	<-done
	got := strings.Join(r.failed, "\n")
	if len(r.failed) != 2 || !strings.Contains(got, "cannot parse bad") || !strings.Contains(got, "other for a pie") {
		t.Errorf("failures:\n%s\nwant one for bad and one for other", got)
	}
}
