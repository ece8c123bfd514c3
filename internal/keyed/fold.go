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

// TryFolding is implemented by logics that emit on some items but not on most, and can
// tell which as an item comes: TryFold(v), for a key with no values yet in the
// activation, either does what OnBatch would do with v as its only value, when that emits
// nothing and does not discard, and returns true; or returns false, leaving the logic as
// OnBatch expects to find it, and the runtime gives v to OnBatch as usual, in key order,
// first of the key's values (the logic may keep what it read of v for that call: nothing
// else is called on it before). A value taken reaches no output, so neither the order of
// keys nor the grouping can be seen; the key is still asked NotifyAt and snapshotted as
// if OnBatch had run. The runtime uses it for logics that are not Clocked or whose clock
// is a SharedClock (told before any logic runs), and not Folding.
//
// A windowed count's item in its key's open window, which closes nothing, takes the
// first way: five of six items of the bench path (six per window per key), which then
// skip the key's values, the key order and the OnBatch call.
//
// The runtime asks a key that took a value for its notification time at once, when its
// notification is not due by the activation's time (else after OnNotify, as any key), and
// arms it if it is after that time: NotifyAtNano must then give, right after TryFold,
// what it would give after the activation, which holds when it depends only on the key's
// own logic and the activation's time (a SharedClock's). That saves listing the key and
// visiting its entry again after the batch.
//
// Such a logic is asked again for its notification on nearly every item it takes, so it
// gives the time as Unix nanoseconds too (NotifyAtNano, what NotifyAt gives, as
// time.Time.UnixNano), which the runtime asks instead: a time.Time made per item and
// taken apart again was 3% of the windowed count's CPU time.
type TryFolding[V any] interface {
	TryFold(v V) bool
	NotifyAtNano() (int64, bool)
}
