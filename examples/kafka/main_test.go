package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/weirflow/weir/internal/kafkatest"
	"github.com/weirflow/weir/run"
)

// want is what the program prints for the sales startLocal writes.
func want(out string) string {
	totals := map[string]int{}
	for i := range Sales {
		p, n := sale(i)
		totals[p] += n
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d updates committed to %s; the totals:\n", Sales, out)
	keys := make([]string, 0, len(totals))
	for k := range totals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%-8s %s\n", k, strconv.Itoa(totals[k]))
	}
	return b.String()
}

// TestExample runs the example's flow on the broker and sales it starts by itself, on 1
// and on 2 workers, and checks what it prints: one committed update per sale, and each
// product's total.
func TestExample(t *testing.T) {
	for _, workers := range []int{1, 2} {
		t.Run(strconv.Itoa(workers), func(t *testing.T) {
			b, err := startLocal("sales", "totals")
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = run.Run(ctx, totals(b.Addrs(), "sales", "totals"), run.Workers(workers),
				run.Recovery(t.TempDir()), run.RecoveryPartitions(2), run.EpochInterval(50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			if err := printTotals(&got, b.Addrs(), "totals"); err != nil {
				t.Fatal(err)
			}
			if w := want("totals"); got.String() != w {
				t.Errorf("printed:\n%s\nwant:\n%s", got.String(), w)
			}
		})
	}
}

// TestExampleRealCluster runs the flow against the cluster WEIR_KAFKA_BROKERS names, on
// topics of its own.
func TestExampleRealCluster(t *testing.T) {
	kafkatest.SkipUnlessReal(t)
	b := kafkatest.Start(t)
	in, out := b.Topic(t, "sales", 4), b.Topic(t, "totals", 4)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := produceSales(ctx, b.Addrs(), in); err != nil {
		t.Fatal(err)
	}
	if err := run.Run(ctx, totals(b.Addrs(), in, out), run.Recovery(t.TempDir()), run.RecoveryPartitions(2)); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	if err := printTotals(&got, b.Addrs(), out); err != nil {
		t.Fatal(err)
	}
	if w := want(out); got.String() != w {
		t.Errorf("printed:\n%s\nwant:\n%s", got.String(), w)
	}
}
