package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/weirflow/weir/connectors/demo"
	"github.com/weirflow/weir/weirtest"
)

// TestSummaries: every metric prints one summary per 100 readings, with the same
// figures on one worker as on three.
func TestSummaries(t *testing.T) {
	var got [][]string
	for _, workers := range []int{1, 3} {
		out := weirtest.NewSink[string]()
		weirtest.Run(t, summaries(demo.Metrics(metrics...).Interval(0).Count(2*every+50), out), workers)
		lines := out.Items()
		slices.Sort(lines)
		got = append(got, lines)
	}
	if len(got[0]) != 2*len(metrics) {
		t.Fatalf("%d lines, want 2 per metric: %q", len(got[0]), got[0])
	}
	for _, m := range metrics {
		for i, n := range []string{"100 readings", "200 readings"} {
			if l := got[0][2*slices.Index(sorted(metrics), m)+i]; !strings.HasPrefix(l, m+": "+n+", mean ") {
				t.Errorf("line %q, want %s's summary after %s", l, m, n)
			}
		}
	}
	if !slices.Equal(got[0], got[1]) {
		t.Errorf("1 worker printed %q\n3 workers printed %q", got[0], got[1])
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
