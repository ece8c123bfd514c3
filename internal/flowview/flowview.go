package flowview

import (
	"reflect"
	"regexp"
	"strings"

	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
)

// Version is the version of Graph's JSON form.
const Version = 1

// Graph is the description of a planned dataflow. Its JSON form is documented in the
// package doc.
type Graph struct {
	Version int     `json:"version"`
	Flow    string  `json:"flow"`
	Scopes  []Scope `json:"scopes"`
	Steps   []Step  `json:"steps"`
	Edges   []Edge  `json:"edges"`
}

// Scope is a composite step: an operator whose steps are nested in it.
type Scope struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Parent string `json:"parent"`
}

// Step is a core primitive of the plan.
type Step struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Scope       string `json:"scope"`
	Kind        string `json:"kind"`
	ItemType    string `json:"item_type"`
	Inputs      int    `json:"inputs"`
	Outputs     int    `json:"outputs"`
	Partitioned bool   `json:"partitioned,omitempty"`
	FusedInto   string `json:"fused_into,omitempty"`
}

// Edge connects an output port of one step to an input port of another.
type Edge struct {
	ID       int    `json:"id"`
	From     string `json:"from"`
	FromPort int    `json:"from_port"`
	To       string `json:"to"`
	ToPort   int    `json:"to_port"`
	Exchange string `json:"exchange"`
	ItemType string `json:"item_type"`
}

// The exchange kinds of Edge.Exchange.
const (
	Forward     = "forward"
	ByKey       = "by_key"
	ByPartition = "by_partition"
	RoundRobin  = "round_robin"
)

// exchangeName names plan's exchanges in the JSON form.
func exchangeName(x plan.Exchange) string {
	switch x {
	case plan.ByKey:
		return ByKey
	case plan.ByPartition:
		return ByPartition
	case plan.Even:
		return RoundRobin
	}
	return Forward
}

// Describe returns the description of p.
func Describe(p *plan.Plan) *Graph {
	g := &Graph{Version: Version, Flow: p.Flow, Scopes: []Scope{}, Steps: []Step{}, Edges: []Edge{}}
	seen := map[string]bool{}
	for _, n := range p.Nodes {
		scope, name := split(n.ID)
		g.addScopes(scope, seen)
		s := Step{ID: n.ID, Name: name, Scope: scope, Kind: n.Kind.String(), ItemType: itemType(n.Batch),
			Inputs: len(n.Inputs), Outputs: n.Outputs, Partitioned: n.Sharded}
		if n.FusedInto != nil {
			s.FusedInto = n.FusedInto.ID
		}
		g.Steps = append(g.Steps, s)
	}
	for _, e := range p.Edges {
		g.Edges = append(g.Edges, Edge{ID: e.ID, From: e.From.ID, FromPort: e.Port, To: e.To.ID, ToPort: e.In,
			Exchange: exchangeName(e.Exchange), ItemType: itemType(e.To.Batch)})
	}
	return g
}

// DescribeFlow plans flow and describes it; a flow that does not plan returns the plan's
// error (its build error, or no input or output).
func DescribeFlow(flow *graph.Dataflow) (*Graph, error) {
	p, err := plan.New(flow)
	if err != nil {
		return nil, err
	}
	return Describe(p), nil
}

// addScopes adds the scope whose full id is path and the scopes enclosing it, outermost
// first, unless seen; the flow's own top level is not a scope.
func (g *Graph) addScopes(path string, seen map[string]bool) {
	if path == g.Flow || seen[path] || !strings.Contains(path, ".") {
		return
	}
	parent, name := split(path)
	g.addScopes(parent, seen)
	seen[path] = true
	g.Scopes = append(g.Scopes, Scope{ID: path, Name: name, Parent: parent})
}

// split splits a full id into its scope's full id and its last part.
func split(id string) (scope, name string) {
	i := strings.LastIndexByte(id, '.')
	if i < 0 {
		return "", id
	}
	return id[:i], id[i+1:]
}

// typed is what batch operations that know their item type tell (internal/batch's do).
type typed interface{ ItemType() reflect.Type }

// itemType names the item type of ops, "" when it does not say.
func itemType(ops graph.BatchOps) string {
	t, ok := ops.(typed)
	if !ok {
		return ""
	}
	return shortType(t.ItemType().String())
}

// pkgPath matches the import path before a package name in a type's name, as reflect
// spells the type arguments of a generic type ("weir.KV[github.com/x/y.Event]").
var pkgPath = regexp.MustCompile(`[\w.\-~]+(/[\w.\-~]+)*/`)

// shortType shortens the package paths in a type's name to their last part, as Go
// spells types in source: "weir.KV[y.Event]".
func shortType(s string) string {
	if !strings.Contains(s, "/") {
		return s
	}
	return pkgPath.ReplaceAllString(s, "")
}
