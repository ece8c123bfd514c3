package keyed

import (
	"slices"
	"testing"
	"time"

	"github.com/weirflow/weir"
)

// sharedNow is the time a runtime's tellTime logics share, like the window's scratch.
type sharedNow struct {
	now   time.Time
	calls int
}

// tellTime emits the activation's time from each call, and asks to be notified a second
// after its first batch.
type tellTime struct {
	sh *sharedNow
	at int64
}

func (l *tellTime) OnBatch([]int) ([]int64, bool) {
	if l.at == 0 {
		l.at = l.sh.now.Unix() + 1
	}
	return []int64{l.sh.now.Unix()}, false
}
func (l *tellTime) OnNotify() ([]int64, bool)   { l.at = -1; return []int64{l.sh.now.Unix()}, false }
func (l *tellTime) OnEOF() ([]int64, bool)      { return []int64{l.sh.now.Unix()}, false }
func (l *tellTime) NotifyAt() (time.Time, bool) { return time.Unix(l.at, 0), l.at > 0 }
func (l *tellTime) Snapshot() int               { return 0 }
func (l *tellTime) SetNow(now time.Time)        { l.sh.now = now; l.sh.calls++ }

// sharedTellTime is a tellTime that says its time is shared (SharedClock).
type sharedTellTime struct{ tellTime }

func (*sharedTellTime) SharedClock() {}

// A SharedClock logic's SetNow is called once per activation however many keys run, and
// every key's OnBatch, OnNotify and OnEOF sees the activation's time; a plain Clocked
// logic is still told before each call.
func TestSharedClockOncePerActivation(t *testing.T) {
	for _, shared := range []bool{true, false} {
		sh := &sharedNow{}
		rt := New(func(int, bool) Logic[int, int64, int] {
			if shared {
				return &sharedTellTime{tellTime{sh: sh}}
			}
			return &tellTime{sh: sh}
		})
		times := func(out any) []int64 {
			var ts []int64
			if out != nil {
				for _, kv := range out.([]weir.KV[int64]) {
					ts = append(ts, kv.Value)
				}
			}
			return ts
		}
		steps := []struct {
			batch []weir.KV[int]
			now   int64
			eof   bool
			want  []int64 // times emitted
			calls int     // SetNow calls so far, shared
		}{
			{[]weir.KV[int]{{Key: "a"}, {Key: "b"}, {Key: "c"}}, 5, false, []int64{5, 5, 5}, 1},
			{[]weir.KV[int]{{Key: "d"}}, 7, false, []int64{7, 7, 7, 7}, 2}, // d's batch; a, b, c notified
			{nil, 8, false, []int64{8}, 3},                                 // d notified
			{nil, 9, true, []int64{9, 9, 9, 9}, 4},                         // EOF
		}
		perKey := 0
		for i, st := range steps {
			out, err := rt.Activate(st.batch, time.Unix(st.now, 0), st.eof)
			if err != nil {
				t.Fatal(err)
			}
			if got := times(out); !slices.Equal(got, st.want) {
				t.Errorf("shared %v, step %d: emitted %v, want %v", shared, i, got, st.want)
			}
			perKey += len(st.want)
			want := st.calls
			if !shared {
				want = perKey // one call before each call of the logic
			}
			if sh.calls != want {
				t.Errorf("shared %v, step %d: SetNow called %d times, want %d", shared, i, sh.calls, want)
			}
		}
	}
}
