// Package flowviewtest checks the graphs a program prints with its graph sub-command:
// against golden files, and the Mermaid ones with Mermaid's own parser.
//
// The Mermaid check runs the mermaid package's parser under Node (testdata/mermaid:
// parse.mjs, with mermaid and jsdom pinned in its package-lock.json), installed by
//
//	npm ci --prefix internal/flowview/flowviewtest/testdata/mermaid
//
// Without Node or that install a test skips the check, saying so, unless
// WEIR_REQUIRE_MERMAID is set (CI sets it), in which case the test fails.
package flowviewtest

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/flowview"
	"github.com/weirflow/weir/internal/graph"
)

var update = flag.Bool("update", false, "rewrite the graph golden files with the output of the code")

// mainEnv, set in a test binary's environment, makes ExampleMain run the program's main
// rather than its tests.
const mainEnv = "WEIR_FLOWVIEWTEST_MAIN"

// ExampleMain is the TestMain of a program's package: run as the program by CheckExample,
// it calls main, which exits; otherwise it runs the tests.
func ExampleMain(m *testing.M, main func()) {
	if os.Getenv(mainEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Formats are the graph sub-command's formats and the golden files' extensions.
var Formats = []string{"mermaid", "dot", "json"}

// CheckExample runs the test binary as the program (see ExampleMain) with "graph --format
// F" and args for each format, and compares each output with testdata/graph.F.golden (or
// writes it with -update). The Mermaid golden files of weir's examples are parsed by
// internal/flowview's tests, all in one run of Node.
func CheckExample(t *testing.T, args ...string) {
	t.Helper()
	for _, f := range Formats {
		cmd := exec.Command(os.Args[0], append([]string{"graph", "--format", f}, args...)...)
		cmd.Env = append(os.Environ(), mainEnv+"=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Fatalf("graph --format %s: %v\n%s", f, err, stderr.String())
		}
		Golden(t, filepath.Join("testdata", "graph."+f+".golden"), stdout.Bytes())
	}
}

// CheckFlow is CheckExample for a program whose main does more than run its flow (starts
// a broker, say): it compares flow's description in each format, as the graph
// sub-command prints it, with testdata/graph.F.golden.
func CheckFlow(t *testing.T, flow *weir.Dataflow) {
	t.Helper()
	g, err := flowview.DescribeFlow(graph.FlowOf(flow))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range Formats {
		var b bytes.Buffer
		if err := flowview.Write(&b, g, flowview.Format(f)); err != nil {
			t.Fatal(err)
		}
		Golden(t, filepath.Join("testdata", "graph."+f+".golden"), b.Bytes())
	}
}

// Golden compares got with the file at path, or writes it there with -update.
func Golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (write it with go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// CheckMermaid parses each diagram, by name, with Mermaid's own parser under Node, and
// fails the test for each that does not parse as a flowchart. Without the parser it skips,
// or fails when WEIR_REQUIRE_MERMAID is set.
func CheckMermaid(t testing.TB, diagrams map[string][]byte) {
	t.Helper()
	node, dir, err := parser()
	if err != nil {
		msg := "the Mermaid check needs Node and: npm ci --prefix " + dir + " (" + err.Error() + ")"
		if os.Getenv("WEIR_REQUIRE_MERMAID") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	tmp := t.TempDir()
	args := []string{filepath.Join(dir, "parse.mjs")}
	names := map[string]string{}
	for name, d := range diagrams {
		path := filepath.Join(tmp, strings.ReplaceAll(name, "/", "_")+".mmd")
		if err := os.WriteFile(path, d, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, path)
		names[path] = name
	}
	out, err := exec.Command(node, args...).CombinedOutput()
	ok := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		switch verdict, rest, _ := strings.Cut(line, " "); verdict {
		case "ok":
			kind, path, _ := strings.Cut(rest, " ")
			if kind != "flowchart-v2" && kind != "flowchart" {
				t.Errorf("Mermaid takes %s for a %s, not a flowchart", names[path], kind)
			}
			ok++
		case "error":
			path, msg, _ := strings.Cut(rest, ": ")
			t.Errorf("Mermaid cannot parse %s: %s\n%s", names[path], msg, diagrams[names[path]])
		}
	}
	if err != nil && ok == len(diagrams) || ok+countErrors(out) != len(diagrams) {
		t.Fatalf("the Mermaid check did not run to the end: %v\n%s", err, out)
	}
}

// parser returns Node's path and the directory of the Mermaid check, or why it cannot run.
func parser() (node, dir string, err error) {
	_, self, _, _ := runtime.Caller(0)
	dir = filepath.Join(filepath.Dir(self), "testdata", "mermaid")
	node, err = exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(dir, "node_modules", "mermaid", "package.json"))
	}
	return node, dir, err
}

func countErrors(out []byte) int {
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "error ") {
			n++
		}
	}
	return n
}
