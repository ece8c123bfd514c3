package run

import "testing"

// The processes of a local cluster (-p N) share --http: each serves the port plus its
// process id, and a free port (0) stays free; a process not started by the launcher
// serves the address given.
func TestMonitorAddr(t *testing.T) {
	for _, tc := range []struct {
		launched bool
		addr     string
		process  int
		want     string
	}{
		{false, ":9090", 2, ":9090"},
		{true, ":9090", 0, ":9090"},
		{true, ":9090", 2, ":9092"},
		{true, "127.0.0.1:8000", 1, "127.0.0.1:8001"},
		{true, "127.0.0.1:0", 3, "127.0.0.1:0"},
	} {
		if tc.launched {
			t.Setenv(launchedEnv, "1")
		} else {
			t.Setenv(launchedEnv, "")
		}
		if got := monitorAddr(config{httpAddr: tc.addr, processID: tc.process}); got != tc.want {
			t.Errorf("launched %v, %s, process %d: %s, want %s", tc.launched, tc.addr, tc.process, got, tc.want)
		}
	}
}
