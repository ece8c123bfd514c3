// Command clicks turns a clickstream into sessions: for each user, the pages they saw
// with no pause longer than a gap (30 minutes by default), on event time. It reads a CSV
// file of user,time,page rows (the bundled clicks.csv by default), in which some rows
// may be malformed and some may arrive too late for their session.
//
//	go run ./examples/clicks                          # the bundled clicks; stops at the first bad row
//	go run ./examples/clicks --on-error skip          # skip malformed rows, counting them
//	go run ./examples/clicks --on-error dead-letter   # write them, with where they are, to bad-rows.txt
//	go run ./examples/clicks --help
//
// With a recovery directory, an interrupted run (Ctrl-C) resumes where it stopped, and
// the output file holds each session exactly once:
//
//	go run ./cmd/weir recovery init state 2
//	go run ./examples/clicks -r state --out sessions.txt big.csv
package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	_ "github.com/weirflow/weir/recovery" // the recovery store, for -r
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/window"
)

// Click is one row of the input.
type Click struct {
	User string    `csv:"user"`
	Time time.Time `csv:"time"`
	Page string    `csv:"page"`
}

var (
	onError = run.Flags().String("on-error", "fail", "what a malformed row does: `fail` the run, skip it, or dead-letter it")
	badPath = run.Flags().String("bad", "bad-rows.txt", "the `file` that --on-error dead-letter writes malformed rows to")
	outPath = run.Flags().String("out", "", "write the sessions to this `file` instead of printing them")
	gap     = run.Flags().Duration("gap", 30*time.Minute, "the pause that ends a session")
	wait    = run.Flags().Duration("wait", time.Minute, "how far behind a user's latest click a click may arrive before it is late")
	rate    = run.Flags().Int("rate", 0, "replay at most `N` rows a second (0: as fast as they are read)")
)

func main() {
	path := "examples/clicks/clicks.csv"
	if args := run.Args(); len(args) > 0 {
		path = args[0]
	}
	src := files.NewCSVStructSource[Click](path)
	switch *onError {
	case "fail", "dead-letter":
	case "skip":
		src.OnError(files.Skip)
	default:
		fmt.Fprintf(os.Stderr, "clicks: --on-error %q: want fail, skip or dead-letter (see clicks --help)\n", *onError)
		os.Exit(2)
	}
	code := run.MainStatus(sessions(src, *onError == "dead-letter"))
	if *onError == "skip" {
		fmt.Fprintf(os.Stderr, "clicks: skipped %d malformed rows\n", src.Skipped())
	}
	os.Exit(code)
}

func sessions(src *files.CSVStructSource[Click], deadLetter bool) *weir.Dataflow {
	flow := weir.NewDataflow("clicks")
	var clicks weir.Stream[Click]
	if deadLetter {
		var bad weir.Stream[files.BadRow]
		clicks, bad = files.Read("clicks", flow, src)
		op.Output("bad_rows", op.Map("describe", bad, files.BadRow.String), files.NewFileSink[string](*badPath))
	} else {
		clicks = op.Input("clicks", flow, src)
	}
	if *rate > 0 {
		clicks = op.FlatMapBatch("pace", clicks, func(batch []Click) []Click {
			time.Sleep(time.Duration(len(batch)) * time.Second / time.Duration(*rate))
			return batch
		})
	}
	byUser := op.KeyOn("user", clicks, func(c Click) string { return c.User })
	out := window.Collect("sessions", byUser, window.EventTime(func(c Click) time.Time { return c.Time }, *wait), window.Session(*gap))
	done := op.Map("format", out.Down, func(kv weir.KV[window.Windowed[[]Click]]) string {
		cs := kv.Value.Value
		pages := make([]string, len(cs))
		for i, c := range cs {
			pages[i] = c.Page
		}
		return fmt.Sprintf("%s session %d: %s to %s, %d pages: %s", kv.Key, kv.Value.Window,
			cs[0].Time.Format(time.TimeOnly), cs[len(cs)-1].Time.Format(time.TimeOnly), len(cs), strings.Join(pages, " "))
	})
	late := op.Map("late", out.Late, func(kv weir.KV[window.Windowed[Click]]) string {
		c := kv.Value.Value
		return fmt.Sprintf("%s late click at %s: %s", kv.Key, c.Time.Format(time.TimeOnly), c.Page)
	})
	lines := op.Merge("lines", done, late)
	var to sink.Sink[string] = stdio.NewSink[string]()
	if *outPath != "" {
		to = files.NewFileSink[string](*outPath)
	}
	op.Output("out", lines, to)
	return flow
}
