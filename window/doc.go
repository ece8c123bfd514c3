// Package window groups each key's items into windows of time and runs an aggregate or a
// user logic per window.
//
// # Clocks
//
// A Clock gives each item a timestamp and each key a watermark. SystemClock uses the
// system time; EventClock reads a timestamp from each item and lets the watermark trail
// the largest one seen by a wait, advancing with system time in between. Watermarks are
// per key. An item whose timestamp is strictly below its key's watermark (counting the
// item itself) is late: it goes to the Late stream instead of its windows.
//
// # Windowers
//
// A Windower maps timestamps to window ids: Tumbling and Sliding windows of a fixed length
// aligned to a time, and Session windows that end after a gap of inactivity and merge
// when items bridge them.
//
// # Operators
//
// Collect, Fold, Reduce, Count, Max, Min, Join and the generic Window each return an Out
// of three keyed streams: Down (window id, result), Late (window id, item) and Meta
// (window id, bounds and merged ids). In ordered mode (the default for Collect, Fold, Join
// and Window) on-time items wait until the watermark passes them and are applied in
// timestamp order; Count, Reduce, Max and Min apply them as they arrive. Each closed
// window emits its result, then its metadata; windows closing together come out in the
// order they opened; at the end of the stream every window closes, keys in sorted order.
//
// # State
//
// A key's whole window state (clock, open windows, their logics, queued items) is part of
// the step's snapshots, and its pending closes are re-armed after a resume. A key with no
// open window and nothing queued frees its state, sessions included.
package window
