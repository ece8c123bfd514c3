package main

import (
	"testing"
	"time"

	"github.com/weirflow/weir/internal/bench/nexmark"
)

func TestParseBaseTime(t *testing.T) {
	const beam = 1_436_918_400_000 // 2015-07-15T00:00:00Z
	tests := []struct {
		in      string
		want    int64
		wantErr bool
	}{
		{in: "2015-07-15T00:00:00Z", want: beam},
		{in: "2015-07-15T02:00:00+02:00", want: beam},
		{in: "2015-07-15T00:00:00.001Z", want: beam + 1},
		{in: "2023-11-14T22:13:20Z", want: 1_700_000_000_000},
		{in: "1970-01-01T00:00:00Z", want: 0},
		{in: "2015-07-15T00:00:00.0005Z", wantErr: true},
		{in: "1969-12-31T23:59:59Z", wantErr: true},
		{in: "2015-07-15", wantErr: true},
		{in: "1436918400000", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseBaseTime(tt.in)
		if (err != nil) != tt.wantErr || (err == nil && got != tt.want) {
			t.Errorf("parseBaseTime(%q) = %d, %v; want %d, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if got := formatMillis(beam); got != "2015-07-15T00:00:00Z" {
		t.Errorf("formatMillis(%d) = %q", int64(beam), got)
	}
}

// TestRecoveryFlags runs -r over every query on a few events (each run with recovery must
// give as many outputs as without), and refuses -r with -out or -verify.
func TestRecoveryFlags(t *testing.T) {
	c := nexmark.DefaultConfig()
	c.Events = 20_000
	rec := recoveryFlags{on: true, rounds: 2, epoch: 20 * time.Millisecond}
	if err := run("all", c, 2, "", false, rec); err != nil {
		t.Fatal(err)
	}
	if err := run("4", c, 1, "", false, rec); err != nil {
		t.Fatal(err)
	}
	if err := run("4", c, 1, "", true, rec); err == nil {
		t.Error("-r with -verify: no error")
	}
	if err := run("4", c, 1, "", false, recoveryFlags{on: true, rounds: 0, epoch: time.Second}); err == nil {
		t.Error("-r with -rounds 0: no error")
	}
}
