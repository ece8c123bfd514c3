package flowview_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/flowview"
)

// mermaidJS is Mermaid's browser bundle, installed with the parser (flowviewtest's doc).
const mermaidJS = "flowviewtest/testdata/mermaid/node_modules/mermaid/dist/mermaid.min.js"

// TestMermaidRenders renders the sample flow, the flow with ids to escape and the
// examples' Mermaid golden files with Mermaid itself in headless Chromium, and checks that
// each becomes an SVG with a node per step and a cluster per scope. It needs Chromium
// (skipped without it unless WEIR_BROWSER_TEST=1, as CI sets) and Mermaid's bundle
// (skipped without it unless WEIR_REQUIRE_MERMAID is set, as CI sets).
func TestMermaidRenders(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	path := chromium(t)
	if _, err := os.Stat(mermaidJS); err != nil {
		msg := "Mermaid's bundle is not installed (npm ci --prefix internal/flowview/flowviewtest/testdata/mermaid): " + err.Error()
		if os.Getenv("WEIR_REQUIRE_MERMAID") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	diagrams := map[string]string{}
	for name, flow := range map[string]*weir.Dataflow{"sample": sample(), "odd": odd()} {
		var b strings.Builder
		if err := flowview.WriteMermaid(&b, describe(t, flow)); err != nil {
			t.Fatal(err)
		}
		diagrams[name] = b.String()
	}
	for path, d := range exampleGoldens(t) {
		diagrams[path] = string(d)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<!DOCTYPE html><html><body><script src="/mermaid.min.js"></script>`+
			`<script>mermaid.initialize({startOnLoad: false, securityLevel: "strict"});</script></body></html>`)
	})
	mux.HandleFunc("/mermaid.min.js", func(w http.ResponseWriter, r *http.Request) { http.ServeFile(w, r, mermaidJS) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	dir := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.NoFirstRun, chromedp.UserDataDir(dir))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	defer cancelTimeout()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatalf("loading the page in %s: %v", path, err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`typeof mermaid !== "undefined"`)); err != nil {
		t.Fatalf("loading Mermaid in %s: %v", path, err)
	}
	nodeDef := regexp.MustCompile(`(?m)^\s*n\d+[\[(]`)
	cluster := regexp.MustCompile(`class="cluster[ "]`)
	i := 0
	for name, d := range diagrams {
		i++
		text, _ := json.Marshal(d)
		svg, err := chromedp.Run(ctx, chromedp.Evaluate[string](
			fmt.Sprintf(`mermaid.render("d%d", %s).then(r => r.svg)`, i, text), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Errorf("Mermaid cannot render %s: %v\n%s", name, err, d)
			continue
		}
		nodes, clusters := strings.Count(svg, `class="node `), len(cluster.FindAllString(svg, -1))
		if want := len(nodeDef.FindAllString(d, -1)); nodes != want {
			t.Errorf("%s: %d nodes drawn, want %d", name, nodes, want)
		}
		if want := strings.Count(d, "subgraph "); clusters != want {
			t.Errorf("%s: %d clusters drawn, want %d", name, clusters, want)
		}
		if strings.Contains(svg, "Syntax error") {
			t.Errorf("%s: Mermaid drew a syntax error", name)
		}
	}
}

// chromium returns the path of a Chromium: $WEIR_CHROMIUM or the usual names on $PATH.
// Without one the test skips, unless WEIR_BROWSER_TEST=1 makes that a failure.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("WEIR_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless_shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no Chromium found (chromium, chromium-browser or google-chrome on $PATH, or $WEIR_CHROMIUM)"
	if os.Getenv("WEIR_BROWSER_TEST") == "1" {
		t.Fatal(msg + "; WEIR_BROWSER_TEST=1 asks for it")
	}
	t.Skip(msg)
	return ""
}
