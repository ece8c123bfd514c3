package join

import "github.com/weirflow/weir"

// Modes are a join's insert and emit modes, numbered as op.JoinInsert and op.JoinEmit
// number them. They live here, below op and window, so that op's join options can set
// them for either join: a plain join starts from its defaults (insert last, emit
// complete), a windowed one from its own (insert last, emit final), and both read the
// options the caller gave over them.
type Modes struct {
	Insert int
	Emit   int
	// Err is the first invalid mode an option was given, as the option describes it; a
	// join reports it as its build error.
	Err error
}

// Site returns the first scope that is not nil, among those of a join's sides: a join
// builds where any of its sides is, so that a side no operator declared (the zero Stream)
// is a build error of that flow rather than a join that silently builds nothing.
func Site(scopes ...*weir.Scope) *weir.Scope {
	for _, sc := range scopes {
		if sc != nil {
			return sc
		}
	}
	return nil
}

// SiteOf is Site over the scopes of streams, the sides of a join of one type.
func SiteOf[V any](streams []weir.KeyedStream[V]) *weir.Scope {
	for _, s := range streams {
		if sc := s.Scope(); sc != nil {
			return sc
		}
	}
	return nil
}
