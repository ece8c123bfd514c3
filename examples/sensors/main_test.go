package main

import (
	"slices"
	"strconv"
	"testing"
	"testing/synctest"

	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/weirtest"
)

// TestBundled runs the example's flow on the bundled readings. Any batch size and worker
// count must give the same lines: the bundled readings are never exactly at a watermark,
// so system time spent between batches cannot change which ones are late.
func TestBundled(t *testing.T) {
	for _, tc := range []struct{ batch, workers int }{{8, 1}, {1, 1}, {1024, 1}, {8, 2}} {
		t.Run(strconv.Itoa(tc.batch)+"x"+strconv.Itoa(tc.workers), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				out := weirtest.NewSink[string]()
				weirtest.Run(t, sensorFlow(source.Lines(bundled).BatchSize(tc.batch), out), tc.workers)
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
