package nexmark

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestQueriesMatchReference runs every query on 1 and 2 workers and compares its output
// with the plain-loop reference over the same events. The Wait is short enough that
// windows and auctions close during the run, not only at its end. The stateless queries,
// Q0 to Q2, see each event on its own, so a shorter stream tests them as well.
func TestQueriesMatchReference(t *testing.T) {
	c := DefaultConfig()
	c.Events = 600_000
	c.Rate = 10_000
	if testing.Short() {
		c.Events = 200_000
	}
	p := DefaultParams(c)
	p.Wait = 20 * time.Second
	// Q3's sellers expire after 600 s of event time by default, longer than the run.
	short := p
	short.MaxAuctionsWaiting = 3 * time.Second
	type run struct {
		name string
		q    int
		p    Params
	}
	var runs []run
	for q := range Queries {
		runs = append(runs, run{fmt.Sprintf("q%d", q), q, p})
	}
	runs = append(runs, run{"q3-expiring", 3, short})
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			c := c
			if r.q <= 2 {
				c.Events = min(c.Events, 100_000)
			}
			want, err := Reference(r.q, c, r.p)
			if err != nil {
				t.Fatal(err)
			}
			for _, workers := range []int{1, 2} {
				t.Run(fmt.Sprintf("%dw", workers), func(t *testing.T) {
					t.Parallel()
					if err := verifyAgainst(context.Background(), Options{Query: r.q, Config: c, Params: r.p, Workers: workers}, want); err != nil {
						t.Fatal(err)
					}
				})
			}
			// With a recovery store and epochs of 20 ms, the run snapshots every step's
			// state many times over (what the command's -r measures): the outputs must
			// not change. Committing every 20 ms under -race on a loaded machine made a
			// run of 20 s of event time take 37 s, and EventClock's watermark moves with
			// the system time, so q8 once found 124 events late with the Wait above. Here
			// the Wait outlasts any run (windows close at the end of the stream); the runs
			// above test windows closing during the run.
			t.Run("2w-recovery", func(t *testing.T) {
				t.Parallel()
				p := r.p
				p.Wait = 10 * time.Minute
				want, err := Reference(r.q, c, p)
				if err != nil {
					t.Fatal(err)
				}
				o := Options{Query: r.q, Config: c, Params: p, Workers: 2,
					Recovery: filepath.Join(t.TempDir(), "recovery"), EpochInterval: 20 * time.Millisecond}
				if err := verifyAgainst(context.Background(), o, want); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}
