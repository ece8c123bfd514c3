package main

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// TestBundled runs the example's flow on the bundled readings. Any batch size and worker
// count must give the same lines: the clock is pure event time, so the system time spent
// between batches cannot change which readings are late.
func TestBundled(t *testing.T) {
	for _, tc := range []struct {
		batch, workers int
		pause          time.Duration // between batches, as a slow feed or machine makes
	}{{8, 1, 0}, {1, 1, 0}, {1024, 1, 0}, {8, 2, 0}, {8, 1, time.Minute}, {1, 2, 5 * time.Second}} {
		t.Run(strconv.Itoa(tc.batch)+"x"+strconv.Itoa(tc.workers)+"/"+tc.pause.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out := weirtest.NewSink[string]()
				var src source.Source[string] = source.Lines(bundled).BatchSize(tc.batch)
				if tc.pause > 0 {
					paused := weirtest.NewSource[string]().BatchSize(tc.batch)
					lines := strings.Split(strings.TrimSuffix(bundled, "\n"), "\n")
					for i := 0; i < len(lines); i += tc.batch {
						paused.Then(lines[i:min(i+tc.batch, len(lines))]...).Pause(tc.pause)
					}
					src = paused
				}
				weirtest.Run(t, sensorFlow(src, out), tc.workers)
				got := out.Items()
				if len(got) != 33 { // 3 sensors x 10 minutes, and 3 late counts
					t.Fatalf("got %d lines, want 33:\n%q", len(got), got)
				}
				for _, want := range []string{
					"09:00-09:01  boiler       70.84 °C  (5 readings)",
					"09:02-09:03  greenhouse   22.90 °C  (6 readings)", // one reading out of order
					"09:05-09:06  freezer     -19.04 °C  (5 readings)",
					"09:09-09:10  greenhouse   23.84 °C  (5 readings)", // closed by the end of the input
					"boiler: 2 late readings",
					"freezer: 3 late readings",
					"greenhouse: 2 late readings",
				} {
					if !slices.Contains(got, want) {
						t.Errorf("missing %q in:\n%q", want, got)
					}
				}
				if tc.workers == 1 && got[30] != "boiler: 2 late readings" {
					t.Errorf("late counts do not come last:\n%q", got)
				}
			})
		})
	}
}

func TestParse(t *testing.T) {
	r, err := parse("2024-03-14T09:00:02Z,boiler,70.4")
	if err != nil || r.Sensor != "boiler" || r.Celsius != 70.4 || r.At.Second() != 2 {
		t.Errorf("got %+v, %v", r, err)
	}
	for _, bad := range []string{"garbage", "2024-03-14T09:00:02Z,boiler", "2024-03-14T09:00:02Z,boiler,warm"} {
		if _, err := parse(bad); err == nil {
			t.Errorf("parse(%q): no error", bad)
		}
	}
}
