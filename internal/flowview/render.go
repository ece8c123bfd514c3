package flowview

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// WriteJSON writes g as indented JSON, the form the package doc describes.
func WriteJSON(w io.Writer, g *Graph) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(g)
}

// layout is what both drawings need: node ids by step, scope ids by scope, and what each
// scope holds directly (steps and scopes), in the order of the plan's first step in it.
type layout struct {
	node  map[string]string // step id -> n0, n1...
	scope map[string]string // scope id -> s0, s1...
	items map[string][]item // scope id (the flow's id for the top level) -> what it holds
}

// item is a step (an index into Graph.Steps) or, when scope is set, a nested scope.
type item struct {
	step  int
	scope string
}

func newLayout(g *Graph) *layout {
	l := &layout{node: map[string]string{}, scope: map[string]string{}, items: map[string][]item{}}
	parent := map[string]string{}
	for i, s := range g.Scopes {
		l.scope[s.ID] = "s" + strconv.Itoa(i)
		parent[s.ID] = s.Parent
	}
	placed := map[string]bool{}
	for i, s := range g.Steps {
		l.node[s.ID] = "n" + strconv.Itoa(i)
		l.items[s.Scope] = append(l.items[s.Scope], item{step: i})
		// The scopes around the step go where their first step is.
		for sc := s.Scope; sc != g.Flow && !placed[sc]; sc = parent[sc] {
			if _, ok := parent[sc]; !ok {
				break // not a scope of g: drawn at the top level
			}
			placed[sc] = true
			l.items[parent[sc]] = append(l.items[parent[sc]], item{scope: sc})
		}
	}
	return l
}

// edgeLabel is the label of an edge in a drawing: its exchange, but nothing for a
// forward edge, "fused" into a fused Map, and the side of a branch.
func edgeLabel(g *Graph, e Edge, fused map[string]bool, branch map[string]bool) string {
	var parts []string
	if branch[e.From] {
		parts = append(parts, [...]string{"true", "false"}[min(e.FromPort, 1)])
	}
	switch {
	case fused[e.To]:
		parts = append(parts, "fused")
	case e.Exchange != Forward:
		parts = append(parts, strings.ReplaceAll(e.Exchange, "_", " "))
	}
	return strings.Join(parts, ", ")
}

func marks(g *Graph) (fused, branch map[string]bool) {
	fused, branch = map[string]bool{}, map[string]bool{}
	for _, s := range g.Steps {
		if s.FusedInto != "" {
			fused[s.ID] = true
		}
		if s.Kind == "branch" {
			branch[s.ID] = true
		}
	}
	return fused, branch
}

// stepLabel is a step's label in a drawing: its name and, on a second line, its kind
// (unless the name is the kind, as in most composites), its item type and whether it is
// partitioned.
func stepLabel(s Step, newline string, esc func(string) string) string {
	var second []string
	if s.Kind != s.Name {
		second = append(second, s.Kind)
	}
	if s.ItemType != "" {
		second = append(second, s.ItemType)
	}
	if s.Partitioned {
		second = append(second, "partitioned")
	}
	if len(second) == 0 {
		return esc(s.Name)
	}
	return esc(s.Name) + newline + esc(strings.Join(second, " · "))
}

// WriteMermaid writes g as a Mermaid flowchart, top to bottom, with a subgraph per scope.
func WriteMermaid(w io.Writer, g *Graph) error {
	b := bufio.NewWriter(w)
	l := newLayout(g)
	fused, branch := marks(g)
	fmt.Fprintf(b, "flowchart TD\n")
	var scope func(id, indent string)
	scope = func(id, indent string) {
		for _, it := range l.items[id] {
			if it.scope != "" {
				_, name := split(it.scope)
				fmt.Fprintf(b, "%ssubgraph %s [\"%s\"]\n", indent, l.scope[it.scope], mermaidText(name))
				scope(it.scope, indent+"  ")
				fmt.Fprintf(b, "%send\n", indent)
				continue
			}
			s := g.Steps[it.step]
			open, close := mermaidShape(s.Kind)
			fmt.Fprintf(b, "%s%s%s\"%s\"%s\n", indent, l.node[s.ID], open, stepLabel(s, "<br/>", mermaidText), close)
		}
	}
	scope(g.Flow, "  ")
	for _, e := range g.Edges {
		if label := edgeLabel(g, e, fused, branch); label != "" {
			fmt.Fprintf(b, "  %s -->|\"%s\"| %s\n", l.node[e.From], mermaidText(label), l.node[e.To])
		} else {
			fmt.Fprintf(b, "  %s --> %s\n", l.node[e.From], l.node[e.To])
		}
	}
	return b.Flush()
}

// mermaidShape is the shape of a kind of step: sources are stadiums, sinks
// parallelograms, stateful steps cylinders (they hold state), the rest rectangles.
func mermaidShape(kind string) (open, close string) {
	switch kind {
	case "input":
		return "([", "])"
	case "output":
		return "[/", "/]"
	case "stateful_batch":
		return "[(", ")]"
	}
	return "[", "]"
}

// mermaidText escapes text for a quoted Mermaid label: quotes and the characters that
// labels take as markup become entity codes.
func mermaidText(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString("#quot;")
		case '<':
			b.WriteString("#lt;")
		case '>':
			b.WriteString("#gt;")
		case '#':
			b.WriteString("#35;")
		case '&':
			b.WriteString("#amp;")
		case '\n', '\r':
			b.WriteString(" ")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// WriteDOT writes g as a Graphviz digraph, top to bottom, with a cluster per scope.
func WriteDOT(w io.Writer, g *Graph) error {
	b := bufio.NewWriter(w)
	l := newLayout(g)
	fused, branch := marks(g)
	fmt.Fprintf(b, "digraph %s {\n", dotText(g.Flow))
	fmt.Fprintf(b, "  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n")
	var scope func(id, indent string)
	scope = func(id, indent string) {
		for _, it := range l.items[id] {
			if it.scope != "" {
				_, name := split(it.scope)
				fmt.Fprintf(b, "%ssubgraph cluster_%s {\n", indent, l.scope[it.scope])
				fmt.Fprintf(b, "%s  label=%s;\n", indent, dotText(name))
				scope(it.scope, indent+"  ")
				fmt.Fprintf(b, "%s}\n", indent)
				continue
			}
			s := g.Steps[it.step]
			fmt.Fprintf(b, "%s%s [label=%s, shape=%s];\n", indent, l.node[s.ID], dotText(stepLabel(s, "\n", noEscape)), dotShape(s.Kind))
		}
	}
	scope(g.Flow, "  ")
	for _, e := range g.Edges {
		if label := edgeLabel(g, e, fused, branch); label != "" {
			fmt.Fprintf(b, "  %s -> %s [label=%s];\n", l.node[e.From], l.node[e.To], dotText(label))
		} else {
			fmt.Fprintf(b, "  %s -> %s;\n", l.node[e.From], l.node[e.To])
		}
	}
	fmt.Fprintf(b, "}\n")
	return b.Flush()
}

func noEscape(s string) string { return s }

// dotShape is the DOT shape of a kind of step, as mermaidShape's.
func dotShape(kind string) string {
	switch kind {
	case "input":
		return "invhouse"
	case "output":
		return "parallelogram"
	case "stateful_batch":
		return "cylinder"
	}
	return "box"
}

// dotText quotes s as a DOT string: backslashes and quotes escaped, newlines as \n.
func dotText(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Format is an output format of Write.
type Format string

// The formats of Write.
const (
	JSON    Format = "json"
	Mermaid Format = "mermaid"
	DOT     Format = "dot"
)

// Write writes g in format f; an unknown format is an error naming the known ones.
func Write(w io.Writer, g *Graph, f Format) error {
	switch f {
	case JSON:
		return WriteJSON(w, g)
	case Mermaid:
		return WriteMermaid(w, g)
	case DOT:
		return WriteDOT(w, g)
	}
	return fmt.Errorf("weir: graph format %q: want mermaid, dot or json", f)
}
