package weir

import "github.com/weirflow/weir/internal/graph"

// The build layer reaches the record behind the public types through graph.Bridge,
// installed here: the types' fields stay unexported, and only this package and
// internal/graph know how they are laid out. Streams are passed to it as `any` and
// asserted to the interfaces below, whose unexported methods no other package can
// implement.

// stream is a Stream[T] of any T.
type stream interface {
	parts() (graph.Site, graph.Port, error)
}

// streamSetter is a *Stream[T] of any T.
type streamSetter interface {
	set(site graph.Site, port graph.Port, err error)
}

// kvType is a *KV[V] of any V: it gives the function that reads an item's key, found once
// per type at build time instead of boxing each item.
type kvType interface{ keyFunc() any }

func (*KV[V]) keyFunc() any { return func(kv *KV[V]) string { return kv.Key } }

func (s Stream[T]) parts() (graph.Site, graph.Port, error) {
	return s.scope.site(), s.port, s.err
}

func (s *Stream[T]) set(site graph.Site, port graph.Port, err error) {
	s.scope, _ = site.Scope.(*Scope)
	s.port, s.err = port, err
}

func (s *Scope) site() graph.Site {
	if s == nil {
		return graph.Site{}
	}
	return graph.Site{Flow: s.flow.g, Path: s.path, Scope: s}
}

func init() {
	graph.SetBridge(graph.Bridge{
		Flow: func(f any) *graph.Dataflow {
			if f := f.(*Dataflow); f != nil {
				return f.g
			}
			return nil
		},
		Root: func(f any) graph.Site {
			if f := f.(*Dataflow); f != nil {
				return f.root.site()
			}
			return graph.Site{}
		},
		Stream:    func(s any) (graph.Site, graph.Port, error) { return s.(stream).parts() },
		SetStream: func(s any, site graph.Site, port graph.Port, err error) { s.(streamSetter).set(site, port, err) },
		KeyFunc: func(p any) any {
			if k, ok := p.(kvType); ok {
				return k.keyFunc()
			}
			return nil
		},
	})
}
