package run

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// Package run, and so every flow that does not import package recovery, does not depend on
// the SQLite driver: compiling it made the first build of such a flow take minutes.
func TestNoSQLiteWithoutRecovery(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "github.com/weirflow/weir/run").CombinedOutput()
	if err != nil {
		t.Skipf("go list: %v\n%s", err, out)
	}
	for _, pkg := range strings.Fields(string(out)) {
		if strings.HasPrefix(pkg, "modernc.org/") || strings.HasSuffix(pkg, "/sqlitestore") {
			t.Errorf("package run depends on %s", pkg)
		}
	}
}
