package op

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/batch"
	"github.com/weirflow/weir/internal/graph"
)

// The operators in this file are composites of FlatMapBatch and InspectDebug. Those built
// on appending keep one output buffer per worker and hand it downstream batch after
// batch: batches are only borrowed, so every consumer has copied what it keeps before the
// next batch is mapped. Per item they cost one call of the user's function.
//
// A buffer keeps the items of the largest batch it held until they are overwritten; that
// is bounded by the batch size and cheaper than clearing it on every batch.

// Map transforms each item into one item.
//
// Its inner step is "flat_map_batch": a panic in fn names "flow.id.flat_map_batch".
//
// Consecutive Map steps, each the only consumer of the one before, run fused: each item
// goes through all their functions in one loop. The steps after the first must keep its
// output type (a Map that changes it starts a new run of fused steps).
func Map[X, Y any](id string, up weir.Stream[X], fn func(X) Y) weir.Stream[Y] {
	return weir.Composite(id, up, func(in weir.Stream[X]) weir.Stream[Y] {
		out := appending(in, func(b []Y, xs []X) []Y {
			b = slices.Grow(b, len(xs))[:len(xs)]
			for i := range xs {
				b[i] = fn(xs[i])
			}
			return b
		})
		chainable(out, fn)
		return out
	})
}

// MapValue transforms the value of each keyed item into one value; the key is kept.
func MapValue[V, W any](id string, up weir.KeyedStream[V], fn func(V) W) weir.KeyedStream[W] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[W] {
		return appending(in, func(b []weir.KV[W], kvs []weir.KV[V]) []weir.KV[W] {
			b = slices.Grow(b, len(kvs))[:len(kvs)]
			for i := range kvs {
				b[i] = weir.KV[W]{Key: kvs[i].Key, Value: fn(kvs[i].Value)}
			}
			return b
		})
	})
}

// FlatMap transforms each item into any number of items: those of the slice fn returns,
// in order. The slice is copied, so fn may reuse it.
func FlatMap[X, Y any](id string, up weir.Stream[X], fn func(X) []Y) weir.Stream[Y] {
	return weir.Composite(id, up, func(in weir.Stream[X]) weir.Stream[Y] {
		return appending(in, func(b []Y, xs []X) []Y {
			for i := range xs {
				b = append(b, fn(xs[i])...)
			}
			return b
		})
	})
}

// FlatMapValue transforms the value of each keyed item into any number of values, each
// keyed with the item's key. The slice fn returns is copied, so fn may reuse it.
func FlatMapValue[V, W any](id string, up weir.KeyedStream[V], fn func(V) []W) weir.KeyedStream[W] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[W] {
		return appending(in, func(b []weir.KV[W], kvs []weir.KV[V]) []weir.KV[W] {
			for i := range kvs {
				for _, w := range fn(kvs[i].Value) {
					b = append(b, weir.KV[W]{Key: kvs[i].Key, Value: w})
				}
			}
			return b
		})
	})
}

// Flatten emits the items of each slice in the stream, in order.
func Flatten[X any](id string, up weir.Stream[[]X]) weir.Stream[X] {
	return weir.Composite(id, up, func(in weir.Stream[[]X]) weir.Stream[X] {
		return appending(in, func(b []X, xss [][]X) []X {
			for _, xs := range xss {
				b = append(b, xs...)
			}
			return b
		})
	})
}

// Filter keeps the items for which pred is true.
func Filter[X any](id string, up weir.Stream[X], pred func(X) bool) weir.Stream[X] {
	return weir.Composite(id, up, func(in weir.Stream[X]) weir.Stream[X] {
		return appending(in, func(b []X, xs []X) []X {
			for i := range xs {
				if pred(xs[i]) {
					b = append(b, xs[i])
				}
			}
			return b
		})
	})
}

// FilterValue keeps the keyed items whose value pred is true of.
func FilterValue[V any](id string, up weir.KeyedStream[V], pred func(V) bool) weir.KeyedStream[V] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[V] {
		return appending(in, func(b []weir.KV[V], kvs []weir.KV[V]) []weir.KV[V] {
			for i := range kvs {
				if pred(kvs[i].Value) {
					b = append(b, kvs[i])
				}
			}
			return b
		})
	})
}

// FilterMap transforms each item into zero or one item: fn's result, when it returns true.
func FilterMap[X, Y any](id string, up weir.Stream[X], fn func(X) (Y, bool)) weir.Stream[Y] {
	return weir.Composite(id, up, func(in weir.Stream[X]) weir.Stream[Y] {
		return appending(in, func(b []Y, xs []X) []Y {
			for i := range xs {
				if y, ok := fn(xs[i]); ok {
					b = append(b, y)
				}
			}
			return b
		})
	})
}

// FilterMapValue transforms the value of each keyed item into zero or one value: fn's
// result, when it returns true. The key is kept.
func FilterMapValue[V, W any](id string, up weir.KeyedStream[V], fn func(V) (W, bool)) weir.KeyedStream[W] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[W] {
		return appending(in, func(b []weir.KV[W], kvs []weir.KV[V]) []weir.KV[W] {
			for i := range kvs {
				if w, ok := fn(kvs[i].Value); ok {
					b = append(b, weir.KV[W]{Key: kvs[i].Key, Value: w})
				}
			}
			return b
		})
	})
}

// KeyOn keys each item with the string key returns, so that keyed (stateful) operators
// can follow.
func KeyOn[X any](id string, up weir.Stream[X], key func(X) string) weir.KeyedStream[X] {
	return weir.Composite(id, up, func(in weir.Stream[X]) weir.KeyedStream[X] {
		return appending(in, keyAll(key))
	})
}

// keyAll returns KeyOn's batch function: b holds xs keyed.
func keyAll[X any](key func(X) string) func(b []weir.KV[X], xs []X) []weir.KV[X] {
	return func(b []weir.KV[X], xs []X) []weir.KV[X] {
		b = slices.Grow(b, len(xs))[:len(xs)]
		for i := range xs {
			// Field by field: a composite literal is built on the stack and copied, and
			// reading it back in 16-byte words stalls on the 8-byte stores that built it
			// (store forwarding): 7.2-8.8 ns an item against 1.9-3.1 (BenchmarkKeyAll).
			kv := &b[i]
			kv.Key = key(xs[i])
			kv.Value = xs[i]
		}
		return b
	}
}

// KeyRm drops the keys of a keyed stream, leaving the values.
func KeyRm[V any](id string, up weir.KeyedStream[V]) weir.Stream[V] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.Stream[V] {
		return appending(in, func(b []V, kvs []weir.KV[V]) []V {
			b = slices.Grow(b, len(kvs))[:len(kvs)]
			for i := range kvs {
				b[i] = kvs[i].Value
			}
			return b
		})
	})
}

// Inspect prints each item as "flow.id: item" (fmt's %v) on standard output and passes
// the items on unchanged. Each worker prints its own items; use one worker for a
// deterministic order. An inspect step counts as an output of the flow.
func Inspect[X any](id string, up weir.Stream[X]) weir.Stream[X] {
	return InspectWith(id, up, func(step string, item X) { fmt.Printf("%s: %v\n", step, item) })
}

// InspectWith calls fn with the step's full id ("flow.id") and each item, and passes the
// items on unchanged. fn runs on the worker that holds the item, so with several workers
// it is called concurrently. InspectDebug also gives the epoch and worker.
func InspectWith[X any](id string, up weir.Stream[X], fn func(step string, item X)) weir.Stream[X] {
	return weir.Composite(id, up, func(in weir.Stream[X]) weir.Stream[X] {
		// The composite's own id, not the inner "inspect_debug" one: that is the step the
		// user named.
		step := in.Scope().Path()
		spec := &graph.InspectSpec{Fn: func(_ string, b any, _ uint64, _ int) {
			for _, x := range b.([]X) {
				fn(step, x)
			}
		}}
		st := graph.Declare("inspect_debug", in)
		return graph.Out[weir.Stream[X]](st, st.Add(graph.Inspect, 1, batch.NewOps[X](), spec), 0)
	})
}

// ErrRaised is the cause of the error of a run stopped by a Raises step.
var ErrRaised = errors.New("weir: raises step got an item")

// Raises fails the run as soon as any item arrives on up: the run's error names the step
// and the item, and errors.Is(err, ErrRaised) holds. Use it on a stream that must stay
// empty, such as a dead-letter stream in a test. A raises step counts as an output.
func Raises[X any](id string, up weir.Stream[X]) {
	weir.Composite(id, up, func(in weir.Stream[X]) weir.Stream[X] {
		return InspectDebug("inspect_debug", in, func(_ string, item X, _ uint64, _ int) {
			// A panic with an error: the engine wraps it with the step id, and errors.Is
			// reaches ErrRaised through the panic.
			panic(fmt.Errorf("%w: %v", ErrRaised, item))
		})
	})
}

// Cache is a worker's cache of looked-up values, handed to the mapper of EnrichCached.
// It is not safe for use by other goroutines and is not recovered: after a restart every
// value is looked up again.
type Cache[K comparable, V any] struct {
	lookup  func(K) (V, error)
	ttl     time.Duration // <= 0: values never expire
	now     time.Time     // time of the current batch
	swept   time.Time     // last removal of expired values
	entries map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	at time.Time
	v  V
}

// Get returns the value for k: the cached one while it is younger than the step's TTL,
// otherwise a fresh one from the lookup function, which is then cached. A lookup error is
// returned and not cached, so the next Get of k tries again.
func (c *Cache[K, V]) Get(k K) (V, error) {
	if e, ok := c.entries[k]; ok && !c.expired(e.at) {
		return e.v, nil
	}
	v, err := c.lookup(k)
	if err != nil {
		var zero V
		return zero, err
	}
	c.entries[k] = cacheEntry[V]{at: c.now, v: v}
	return v, nil
}

// Remove drops the cached value for k, if any: the next Get looks it up again.
func (c *Cache[K, V]) Remove(k K) { delete(c.entries, k) }

func (c *Cache[K, V]) expired(at time.Time) bool { return c.ttl > 0 && c.now.Sub(at) > c.ttl }

// startBatch fixes the cache's clock for one batch and, at most once per TTL, drops the
// expired values, so that keys that are not seen again do not hold memory forever.
func (c *Cache[K, V]) startBatch() {
	c.now = time.Now()
	if c.ttl <= 0 || c.now.Sub(c.swept) <= c.ttl {
		return
	}
	for k, e := range c.entries {
		if c.expired(e.at) {
			delete(c.entries, k)
		}
	}
	c.swept = c.now
}

// EnrichCached maps each item with access to a cache of a lookup function, for joining
// the stream with slowly changing data from an outside service (a database, an HTTP API)
// without calling it for every item. mapper is called once per item and gets the cache;
// Cache.Get returns the value for a key, calling lookup when the key is not cached or its
// value is older than ttl. A ttl of 0 or less keeps values until Cache.Remove.
//
// Each worker keeps its own cache, without a size limit beyond the expiry of values; the
// cache is not part of snapshots, so results may change across resumes if the looked-up
// data changes. The age of a value is measured with the time at the start of each batch.
// For data that is pushed rather than pulled, or whose updates must be emitted, use a
// second Input and a running Join instead.
func EnrichCached[X any, K comparable, V, Y any](id string, up weir.Stream[X], ttl time.Duration, lookup func(K) (V, error), mapper func(c *Cache[K, V], item X) Y) weir.Stream[Y] {
	return weir.Composite(id, up, func(in weir.Stream[X]) weir.Stream[Y] {
		return flatMapBatch("flat_map_batch", in, func() func([]X) []Y {
			c := &Cache[K, V]{lookup: lookup, ttl: ttl, entries: map[K]cacheEntry[V]{}}
			c.swept = time.Now()
			var buf []Y
			return func(xs []X) []Y {
				c.startBatch()
				b := slices.Grow(buf[:0], len(xs))[:len(xs)]
				for i := range xs {
					b[i] = mapper(c, xs[i])
				}
				buf = b // a local in the loop: the captured variable would be reloaded after every call
				return b
			}
		})
	})
}
