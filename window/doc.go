// Package window groups each key's items into windows of time and runs an aggregate or a
// user logic per window.
//
// # Clocks
//
// A Clock gives each item a timestamp and each key a watermark. Watermarks are per key.
// An item whose timestamp is strictly below its key's watermark (counting the item
// itself) is late: it goes to the Late stream instead of its windows. At the end of the
// stream every watermark jumps to the end of time, so every window closes.
//
//   - EventTime reads a timestamp from each item; the watermark is the largest one seen
//     minus a wait, and moves with event time only. Use it when replaying a file or a
//     topic, in tests, and wherever the output should depend on the input alone.
//   - EventClock, Bytewax's event clock, also reads a timestamp from each item, and lets
//     the watermark advance with the system time between items.
//   - SystemClock stamps each item with the system time, which is also the watermark.
//
// A wait of Forever makes no item late: the watermark stays at the beginning of time
// until the end of the stream.
//
// # Pure event time
//
// EventClock adds to the watermark the system time elapsed since the key's largest
// timestamp was seen, so that a key's windows close even if it receives nothing more.
// But then which items are late, and what the windows hold, depends on how fast the
// input is read: the same file gives other results on a slower machine, with a pause of
// the source, or when the run is interrupted and resumed 20 s later. EventTime, weir's
// addition, leaves the system time out: given the same items in the same order per key
// (as one partition, or partitions split by key, give them; the inputs of a Join
// interleave as they come), each key's windows get the same items and close in the same order whatever the speed, the number of workers, the
// batch sizes and the interruptions. The cost is that a key's last windows close only
// when a later item of the key moves its watermark, or at the end of the stream, and the
// key's state is kept until then; IdleTimeout lets the watermark of a key that has had no
// item for a while advance with the system time, trading that much determinism for
// progress.
//
// Timestamps are held as nanoseconds since 1970 in an int64: an item's timestamp outside
// 1677-09-21..2262-04-11 fails the run with a TimeRangeError (ErrTimeRange), and an
// alignTo outside that range is a build error. Within it, window ids are exact however
// far apart the timestamp and alignTo are; Meta clamps a window bound beyond the range
// to its end.
//
// # Windowers
//
// A Windower maps timestamps to window ids: Tumbling and Sliding windows of a fixed length
// aligned to a time, and Session windows that end after a gap of inactivity and merge
// when items bridge them.
//
// # Operators
//
// Collect, Fold, Reduce, Count, Max, Min, Join and the generic Window each return an
// Out of three keyed streams: Down (window id, result), Late (window id, item) and Meta
// (window id, bounds and merged ids). Out.WithBounds adds a fourth, each result emitted
// as its window closes together with that window's Meta, for "a count, start and end
// per session" without a join of Down and Meta; a result a Window logic emits before
// its window closes is only on Down. In ordered mode (the default for Collect, Fold,
// Join and Window) on-time items wait until the watermark passes them and are applied
// in timestamp order; Count, Reduce, Max and Min apply them as they arrive (Ordered
// changes it). The joins take package op's InsertMode and EmitMode through JoinModes,
// their streams second as in every operator: Join(id, sides, clock, windower). Each closed
// window emits its result, then its metadata; windows closing together come out in the
// order they opened; at the end of the stream every window closes, keys in sorted
// order.
//
// # Order independent of batching
//
// Two choices differ from Bytewax on purpose. A session merge is applied right after the
// item that bridges the sessions, where Bytewax applies a batch's merges after all its
// items; and windows that close together come out in the order they opened (then by
// id), where Bytewax uses the order items first opened them in. Both make a window's
// results, and the order of a key's closes, the same whatever way the items were split
// into batches, which Bytewax's orders are not.
//
// # State
//
// A key's whole window state (clock, open windows, their logics, queued items) is part of
// the step's snapshots, and its pending closes (and idle timeouts) are re-armed after a
// resume. A key with no open window and nothing queued frees its state, sessions
// included; its clock starts afresh with its next item, which may then open again a
// window that already closed. Under EventTime without an idle timeout that cannot
// happen: a key's last item keeps a window open (or waits in the queue) until the end
// of the stream.
package window
