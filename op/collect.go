package op

import (
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/keyed"
)

// Collect gathers each key's values into a list, in arrival order, and emits the list
// when it reaches maxSize values, when timeout has passed since the key's last value
// (system time), or at the end of the stream, whichever comes first; the key then starts
// a new, empty list. A maxSize <= 0 sets no size limit and a timeout <= 0 sets no
// timeout, so with both the lists come out only at the end of the stream. A pending list
// and its deadline are part of the snapshot. Its step id is "id.stateful.stateful_batch".
func Collect[V any](id string, up weir.KeyedStream[V], timeout time.Duration, maxSize int) weir.KeyedStream[[]V] {
	return weir.Composite(id, up, func(in weir.KeyedStream[V]) weir.KeyedStream[[]V] {
		return weir.Composite("stateful", in, func(in weir.KeyedStream[V]) weir.KeyedStream[[]V] {
			return keyed.Add("stateful_batch", in, func() func(collectState[V], bool) Logic[V, []V, collectState[V]] {
				out := new(scratch[[]V])
				return func(resume collectState[V], _ bool) Logic[V, []V, collectState[V]] {
					return &collectLogic[V]{st: resume, timeout: timeout, max: maxSize, out: out}
				}
			})
		})
	})
}

// collectState is a key's pending list and when it times out (zero without a timeout).
type collectState[V any] struct {
	Items    []V
	Deadline time.Time
}

type collectLogic[V any] struct {
	st      collectState[V]
	timeout time.Duration
	max     int
	out     *scratch[[]V]
}

func (l *collectLogic[V]) OnBatch(values []V) ([][]V, bool) {
	out := l.out.reset()
	for _, v := range values {
		l.st.Items = append(l.st.Items, v)
		if len(l.st.Items) == l.max {
			// The full list goes downstream as is; the next value starts a new one.
			out = append(out, l.st.Items)
			l.st.Items = nil
		}
	}
	l.out.buf = out
	if len(l.st.Items) == 0 {
		return out, true
	}
	if l.timeout > 0 {
		l.st.Deadline = time.Now().Add(l.timeout)
	}
	return out, false
}

func (l *collectLogic[V]) OnNotify() ([][]V, bool) { return l.out.one(l.st.Items), true }
func (l *collectLogic[V]) OnEOF() ([][]V, bool)    { return l.out.one(l.st.Items), true }

func (l *collectLogic[V]) NotifyAt() (time.Time, bool) {
	return l.st.Deadline, l.timeout > 0 && !l.st.Deadline.IsZero()
}

func (l *collectLogic[V]) Snapshot() collectState[V] { return l.st }
