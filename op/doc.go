// Package op holds weir's operators: plain functions that each add one step to a dataflow
// and return its output stream.
//
//	flow := weir.NewDataflow("words")
//	lines := op.Input("in", flow, src)
//	words := op.FlatMap("split", lines, strings.Fields)
//	long := op.Filter("long", words, func(w string) bool { return len(w) > 3 })
//	op.Output("out", op.Map("upper", long, strings.ToUpper), snk)
//
// # Steps and ids
//
// Every operator takes a step id, unique within its scope. Most operators are composites
// of the core primitives below and declare their inner steps with nested ids: op.Map
// called "add_one" in flow "df" runs as the primitive "df.add_one.flat_map_batch". A
// panic in a user function stops the run with a *weir.StepError naming that full id;
// errors.Is and errors.As reach the panic value when it is an error. Write your own
// composites the same way, with weir.Composite or Scope.Nest and weir.In.
//
// # Batches
//
// Items move in batches. The function given to a stateless operator is called once per
// item (FlatMapBatch's: once per batch) on the worker that holds the item; with several
// workers, calls run concurrently. A batch handed to a function is only borrowed for the
// call: copy what you keep.
//
// # Core primitives
//
// [Input] reads a source and [Output] writes a sink (packages source and sink).
// [FlatMapBatch] maps whole batches without moving data between workers. [Branch] splits
// a stream in two by a predicate, [Merge] joins streams of one type, [Redistribute]
// spreads items over the workers, [InspectDebug] observes items with their epoch and
// worker, and [StatefulBatch] runs per-key logic with state, timers and end-of-stream
// hooks (see Logic).
//
// # Stateless operators
//
// One to one: [Map], and [MapValue] for the value of a keyed item. One to many: [FlatMap]
// and [FlatMapValue] (the function returns a slice) and [Flatten] (a stream of slices).
// One to maybe one: [Filter], [FilterValue], [FilterMap] and [FilterMapValue] (the
// function returns a value and whether to keep it). [KeyOn] keys items with a string
// key, making a weir.KeyedStream for the stateful operators; [KeyRm] drops the keys.
//
// [Inspect] prints each item as "flow.step: item"; [InspectWith] hands it to a function.
// [Raises] fails the run if any item arrives. [EnrichCached] maps items with a per-worker
// cache of a lookup function whose values expire after a TTL; the cache is not recovered.
//
// Stateless operators keep the order of the items of each source partition.
//
// # Routing and side outputs
//
// [Branch] splits a stream by a predicate. [Route] sends each item to one of several named
// outputs chosen by a function, read with Routes.Out; a name that is not an output stops
// the run. [TryMap] maps with a function that may fail: results go to one stream and the
// failed items, as [Failure] values holding the item and its error, to a dead-letter
// stream. Window operators (package window) have side outputs for late items and window
// metadata.
//
// # Stateful operators
//
// Stateful operators work on keyed streams: items are routed to the worker that owns their
// key, and each key has its own state, snapshotted at every epoch close and restored on
// resume. Stateful runs per-item logic with the hooks of StatefulBatch (notifications,
// end of stream, discard). StatefulMap and StatefulFlatMap call a mapper with the key's
// state handle (Get, Set, Discard) and emit what it returns. Collect gathers each key's
// values into lists, emitted at a maximum size, after a timeout since the key's last
// value, or at end of stream.
//
// The Final operators emit one value per key, and only at end of stream, so they suit
// bounded input; use package window on unbounded streams. FoldFinal folds values into an
// accumulator built per key; ReduceFinal combines values pairwise and pre-reduces each
// worker's values per key and epoch before the exchange; CountFinal counts items per key;
// MaxFinal and MinFinal emit the whole winning item.
//
// # Joins
//
// Join gathers, per key, the values of two or more keyed streams of one type; Join2 and
// Join3 join sides of different types into typed rows. The insert mode says which values
// a side keeps: the first, the last, or all of them (for a cartesian product). The emit
// mode says when rows come out: when every side has a value (complete, the default,
// which then drops the key's state), at end of stream (final), or after every value
// (running). InsertMode and EmitMode set them, each documenting its default. A missing
// side is told apart from a zero value. Windowed joins are in package window, and take
// the same InsertMode and EmitMode through window.JoinModes.
package op
