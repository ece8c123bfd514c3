package nexmark_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/weirflow/weir/bench/nexmark"
)

// TestQueriesMatchReference runs every query on 1 and 2 workers and compares its output
// with the plain-loop reference over the same events. The Wait is short enough that
// windows and auctions close during the run, not only at its end.
func TestQueriesMatchReference(t *testing.T) {
	c := nexmark.DefaultConfig()
	c.Events = 600_000
	c.Rate = 10_000
	if testing.Short() {
		c.Events = 200_000
	}
	p := nexmark.DefaultParams(c)
	p.Wait = 20 * time.Second
	// Q3's sellers expire after 600 s of event time by default, longer than the run.
	short := p
	short.MaxAuctionsWaiting = 3 * time.Second
	type run struct {
		name string
		q    int
		p    nexmark.Params
	}
	var runs []run
	for q := range nexmark.Queries {
		runs = append(runs, run{fmt.Sprintf("q%d", q), q, p})
	}
	runs = append(runs, run{"q3-expiring", 3, short})
	for _, r := range runs {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/%dw", r.name, workers), func(t *testing.T) {
				t.Parallel()
				if err := nexmark.Verify(context.Background(), r.q, c, r.p, workers); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
