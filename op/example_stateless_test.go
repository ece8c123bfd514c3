package op_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/weirtest"
)

func ExampleMap() {
	flow := weir.NewDataflow("map_eg")
	s := op.Input("inp", flow, weirtest.NewSource(0, 1, 2))
	s = op.Map("add_ten", s, func(x int) int { return x + 10 })
	op.Inspect("out", s)

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// map_eg.out: 10
	// map_eg.out: 11
	// map_eg.out: 12
}

func ExampleFlatMap() {
	flow := weir.NewDataflow("flat_map_eg")
	lines := op.Input("inp", flow, weirtest.NewSource("hello world", "bye"))
	op.Inspect("out", op.FlatMap("split", lines, strings.Fields))

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// flat_map_eg.out: hello
	// flat_map_eg.out: world
	// flat_map_eg.out: bye
}

func ExampleFilter() {
	flow := weir.NewDataflow("filter_eg")
	s := op.Input("inp", flow, weirtest.NewSource(0, 1, 2, 3))
	op.Inspect("out", op.Filter("odd", s, func(x int) bool { return x%2 == 1 }))

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// filter_eg.out: 1
	// filter_eg.out: 3
}

func ExampleFilterMap() {
	flow := weir.NewDataflow("filter_map_eg")
	s := op.Input("inp", flow, weirtest.NewSource("1", "two", "3"))
	nums := op.FilterMap("parse", s, func(x string) (int, bool) {
		n, err := strconv.Atoi(x)
		return n, err == nil
	})
	op.Inspect("out", nums)

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// filter_map_eg.out: 1
	// filter_map_eg.out: 3
}

func ExampleKeyOn() {
	type event struct {
		User  string
		Bytes int
	}
	flow := weir.NewDataflow("key_on_eg")
	s := op.Input("inp", flow, weirtest.NewSource(event{"ann", 10}, event{"bob", 20}))
	keyed := op.KeyOn("by_user", s, func(e event) string { return e.User })
	bytes := op.MapValue("bytes", keyed, func(e event) int { return e.Bytes })
	op.Inspect("keyed", bytes)
	op.Inspect("values", op.KeyRm("unkey", bytes))

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// key_on_eg.keyed: (ann, 10)
	// key_on_eg.values: 10
	// key_on_eg.keyed: (bob, 20)
	// key_on_eg.values: 20
}

func ExampleInspectWith() {
	flow := weir.NewDataflow("inspect_eg")
	s := op.Input("inp", flow, weirtest.NewSource("a", "b"))
	op.InspectWith("log", s, func(step, item string) {
		fmt.Printf("step %s saw %q\n", step, item)
	})

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// step inspect_eg.log saw "a"
	// step inspect_eg.log saw "b"
}

func ExampleRaises() {
	flow := weir.NewDataflow("raises_eg")
	s := op.Input("inp", flow, weirtest.NewSource(1, 2, -3))
	op.Inspect("out", s)
	op.Raises("no_negatives", op.Filter("negative", s, func(x int) bool { return x < 0 }))

	err := run.Run(context.Background(), flow)
	fmt.Println(errors.Is(err, op.ErrRaised))
	// Output:
	// raises_eg.out: 1
	// raises_eg.out: 2
	// raises_eg.out: -3
	// true
}

func ExampleEnrichCached() {
	// A slow service, asked once per code and worker as long as its answer is fresh.
	iconURL := func(code string) (string, error) {
		fmt.Println("looking up", code)
		return "https://icons.invalid/" + code + ".png", nil
	}

	flow := weir.NewDataflow("enrich_eg")
	codes := op.Input("inp", flow, weirtest.NewSource("dog", "cat", "dog"))
	urls := op.EnrichCached("with_url", codes, time.Hour, iconURL,
		func(c *op.Cache[string, string], code string) string {
			url, err := c.Get(code)
			if err != nil {
				return "unknown"
			}
			return url
		})
	op.Inspect("out", urls)

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// looking up dog
	// enrich_eg.out: https://icons.invalid/dog.png
	// looking up cat
	// enrich_eg.out: https://icons.invalid/cat.png
	// enrich_eg.out: https://icons.invalid/dog.png
}

func ExampleRoute() {
	flow := weir.NewDataflow("route_eg")
	temps := op.Input("inp", flow, weirtest.NewSource(-5, 12, 31, 20))
	byRange := op.Route("by_range", temps, []string{"cold", "mild", "hot"}, func(c int) string {
		switch {
		case c < 0:
			return "cold"
		case c < 25:
			return "mild"
		}
		return "hot"
	})
	op.Inspect("cold", byRange.Out("cold"))
	op.Inspect("mild", byRange.Out("mild"))
	op.Inspect("hot", byRange.Out("hot"))

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// route_eg.cold: -5
	// route_eg.mild: 12
	// route_eg.hot: 31
	// route_eg.mild: 20
}

func ExampleTryMap() {
	flow := weir.NewDataflow("try_map_eg")
	s := op.Input("inp", flow, weirtest.NewSource("1", "x", "3"))
	nums, bad := op.TryMap("parse", s, strconv.Atoi)
	op.Inspect("ok", nums)
	op.Inspect("dead_letters", bad)

	if err := run.Run(context.Background(), flow); err != nil {
		fmt.Println(err)
	}
	// Output:
	// try_map_eg.ok: 1
	// try_map_eg.dead_letters: x: strconv.Atoi: parsing "x": invalid syntax
	// try_map_eg.ok: 3
}
