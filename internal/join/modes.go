package join

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
