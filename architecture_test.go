package weir_test

import (
	"bufio"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const module = "github.com/weirflow/weir"

// TestLayers checks docs/ARCHITECTURE.md's layer table against the imports of the code:
// every package is in exactly one layer, and no package imports one of a layer above its
// own. Test files are left out: tests may use anything.
func TestLayers(t *testing.T) {
	layers := readLayers(t, "docs/ARCHITECTURE.md")
	if len(layers) == 0 {
		t.Fatal("no layer table in docs/ARCHITECTURE.md")
	}
	imports := packageImports(t)
	layerOf := map[string]int{}
	used := make([]bool, len(layers))
	for pkg := range imports {
		found := -1
		for i, l := range layers {
			if l.matches(pkg) {
				if found >= 0 {
					t.Errorf("package %s is in two layers: %s and %s", pkg, layers[found].name, l.name)
				}
				found = i
				used[i] = true
			}
		}
		if found < 0 {
			t.Errorf("package %s is in no layer of docs/ARCHITECTURE.md", pkg)
			continue
		}
		layerOf[pkg] = found
	}
	for i, l := range layers {
		if !used[i] {
			t.Errorf("layer %s lists no package that exists (%v)", l.name, l.patterns)
		}
	}
	for pkg, deps := range imports {
		seen := map[string]bool{}
		for _, dep := range deps {
			if seen[dep] {
				continue
			}
			seen[dep] = true
			from, okf := layerOf[pkg]
			to, okt := layerOf[dep]
			if okf && okt && to < from {
				t.Errorf("%s (layer %s) imports %s (layer %s, above it)", pkg, layers[from].name, dep, layers[to].name)
			}
		}
	}
}

type layer struct {
	name     string
	patterns []string // package paths relative to the module, "." for the root; "x/*" is x's subpackages
}

func (l layer) matches(pkg string) bool {
	for _, p := range l.patterns {
		if p == pkg || (strings.HasSuffix(p, "/*") && strings.HasPrefix(pkg, strings.TrimSuffix(p, "*"))) {
			return true
		}
	}
	return false
}

// readLayers reads the rows of the table under "## The layers": | layer | `pkg`, `pkg` | what |.
func readLayers(t *testing.T, path string) []layer {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var layers []layer
	in := false
	code := regexp.MustCompile("`([^`]+)`")
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "## "):
			in = line == "## The layers"
		case in && strings.HasPrefix(line, "|"):
			cells := strings.Split(line, "|")
			if len(cells) < 4 || strings.HasPrefix(strings.TrimSpace(cells[1]), "---") || strings.TrimSpace(cells[1]) == "layer" {
				continue
			}
			l := layer{name: strings.TrimSpace(cells[1])}
			for _, m := range code.FindAllStringSubmatch(cells[2], -1) {
				p := m[1]
				if p == "weir" {
					p = "."
				}
				l.patterns = append(l.patterns, p)
			}
			layers = append(layers, l)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return layers
}

// packageImports returns, for every package of the module (by path relative to it), the
// module's packages its non-test files import.
func packageImports(t *testing.T) map[string][]string {
	imports := map[string][]string{}
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != "." && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != "." {
				return filepath.SkipDir // a module of its own (deploy), not this module's packages
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		pkg := filepath.ToSlash(filepath.Dir(path))
		if _, ok := imports[pkg]; !ok {
			imports[pkg] = nil
		}
		for _, imp := range file.Imports {
			p := strings.Trim(imp.Path.Value, `"`)
			switch {
			case p == module:
				imports[pkg] = append(imports[pkg], ".")
			case strings.HasPrefix(p, module+"/"):
				imports[pkg] = append(imports[pkg], strings.TrimPrefix(p, module+"/"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return imports
}
