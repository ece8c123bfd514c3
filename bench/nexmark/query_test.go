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
	for q := range nexmark.Queries {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("q%d/%dw", q, workers), func(t *testing.T) {
				t.Parallel()
				if err := nexmark.Verify(context.Background(), q, c, p, workers); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
