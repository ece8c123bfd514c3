package web

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/engine"
)

// paths lists the key paths of a JSON document: "workers[].snapshots[].epoch".
func paths(v any, prefix string, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			out[p] = true
			paths(x, p, out)
		}
	case []any:
		for _, x := range v {
			paths(x, prefix+"[]", out)
		}
	}
}

// fullStatus is a status with every field that can be there.
func fullStatus(t *testing.T) map[string]bool {
	var r rater
	r.window = 5 * time.Second
	st := twoSteps()
	st.Running, st.Ended, st.Err = false, t0.Add(time.Second), "weir: step f.out: boom"
	st.Steps[0].Workers[0].Lag = []engine.PartitionLag{{Partition: "p", Behind: 1}}
	st.Steps = append(st.Steps, engine.StepStatus{ID: "f.s", Kind: "stateful_batch", FusedInto: "f.x",
		Workers: []engine.StepWorker{{Worker: 2, HasKeys: true}}})
	st.Commits = []engine.CommitRecord{{Worker: 2, Epoch: 1}}
	st.WorkerStatus[0].SentBytes = []int64{1, 0}
	st.Errors = []engine.ErrorRecord{{Step: "f.out", Error: "boom"}}
	st.StoreBytes, st.StoreKnown = 1, true
	b, err := json.Marshal(r.status(st, t0.Add(time.Second)))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	paths(v, "", got)
	return got
}

// TestAPIDoc checks docs/API.md against the JSON /api/status serves: its examples have
// no field the JSON lacks, together they show every field (but one), and its table
// names each.
func TestAPIDoc(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/API.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	sec := text[strings.Index(text, "## /api/status"):]
	sec = sec[:strings.Index(sec, "\n## ")]
	want := fullStatus(t)
	shown := map[string]bool{}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(sec, -1)
	if len(blocks) == 0 {
		t.Fatal("no example under /api/status")
	}
	for _, b := range blocks {
		var v any
		if err := json.Unmarshal([]byte(b[1]), &v); err != nil {
			t.Fatalf("an example is not JSON: %v", err)
		}
		paths(v, "", shown)
	}
	for p := range shown {
		if !want[p] {
			t.Errorf("docs/API.md shows %s, which /api/status does not have", p)
		}
	}
	var missing []string
	for p := range want {
		// The examples are read from real runs, whose stores do not tell their size yet:
		// the table documents the field.
		if !shown[p] && p != "store_bytes" {
			missing = append(missing, p)
		}
		name := p[strings.LastIndex(p, ".")+1:]
		named := false
		for _, form := range []string{"`%s`", "`.%s`", "`%s[]`", "`.%s[]`"} {
			named = named || strings.Contains(sec, fmt.Sprintf(form, name))
		}
		if !named {
			t.Errorf("docs/API.md's table does not name %s", p)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("docs/API.md's examples lack %v", missing)
	}
}
