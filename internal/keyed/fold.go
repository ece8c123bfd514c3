package keyed

// Folding is implemented by logics that can take their values one at a time: FoldOne(v)
// does what OnBatch would do with v appended to the values before it, emits nothing and
// never discards. The runtime uses it for logics that are also Quiet and Timeless and not
// Clocked (op's Final operators): it then folds each item into its key's logic as soon as
// it has looked the key up, instead of gathering the batch's values per key and calling
// OnBatch once per key afterwards. That saves, per item, appending the value to the key's
// list, and per key and batch, the list of keys touched, the OnBatch call and the clearing
// of the values: with batches of 1024 over 1000 keys, where nearly every item is its key's
// only one in the batch, those per-key costs are per-item costs (BenchmarkActivateCount).
//
// Keys seen for the first time in an activation still go through OnBatch, in key order as
// before, so that builders run in the same order whether or not their logics fold.
type Folding[V any] interface{ FoldOne(v V) }
