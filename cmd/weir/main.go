// Command weir manages what weir programs keep on disk.
//
//	weir recovery init DIR N   create the recovery directory DIR with N partitions
//	weir recovery verify DIR   check DIR and print the epoch the next run resumes from
//	weir recovery inspect DIR  list DIR's executions, frontiers and stored state per step
//	weir recovery inspect DIR STEP KEY
//	                           print the state KEY of STEP resumes with, as JSON; for
//	                           an input or a sink, KEY is a partition and its position
//	                           is shown as bytes (and as the unsigned varints the files
//	                           connectors store)
//
// verify and inspect only read, without the directory's lock, so they work while a run
// uses the directory: each partition is read as its last committed transaction left it.
//
// Install it with
//
//	go install github.com/weirflow/weir/cmd/weir@latest
//
// or, in a checkout of weir, run it as go run ./cmd/weir. A run can also make its
// directory itself, with --recovery-partitions N (run.RecoveryPartitions).
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/weirflow/weir/recovery"
)

const usage = `usage:
  weir recovery init DIR N   create the recovery directory DIR with N partitions
  weir recovery verify DIR   check DIR and print the epoch the next run resumes from
  weir recovery inspect DIR  list DIR's executions, frontiers and stored state per step
  weir recovery inspect DIR STEP KEY
                             print the state KEY of STEP resumes with, as JSON
                             (for an input or a sink, KEY is a partition: its position)
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes one command, returning the exit status: 0 on success, 1 when the command
// failed, 2 on a usage error.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) < 2 || args[0] != "recovery" {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch cmd, rest := args[1], args[2:]; {
	case cmd == "init" && len(rest) == 2:
		n, err := strconv.Atoi(rest[1])
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "weir: partition count must be a positive integer, got %q\n", rest[1])
			return 2
		}
		if err := recovery.Init(rest[0], n); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "created %s with %d partitions\n", rest[0], n)
		return 0
	case cmd == "verify" && len(rest) == 1:
		resume, err := recovery.Verify(rest[0])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		fmt.Fprintf(stdout, "%s is consistent; the next run resumes from epoch %d\n", rest[0], resume)
		return 0
	case cmd == "inspect" && len(rest) == 1:
		info, err := recovery.Inspect(rest[0])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		printInfo(stdout, rest[0], info)
		return 0
	case cmd == "inspect" && len(rest) == 3:
		st, err := recovery.State(rest[0], rest[1], rest[2])
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		if st.JSON == nil {
			printPosition(stdout, st)
			return 0
		}
		var js bytes.Buffer
		if err := json.Indent(&js, st.JSON, "", "  "); err != nil {
			js.Reset()
			js.Write(st.JSON)
		}
		fmt.Fprintf(stdout, "step %s, key %q, as of epoch %d:\n%s\n", st.Step, st.Key, st.Epoch, js.Bytes())
		return 0
	}
	fmt.Fprint(stderr, usage)
	return 2
}

// printPosition shows a value that is not a codec-encoded state: the position of an
// input's or a sink's partition, in its connector's encoding, which only the connector
// knows; the files connectors' byte offsets are unsigned varints.
func printPosition(w io.Writer, st recovery.KeyState) {
	fmt.Fprintf(w, "step %s, partition %q, as of epoch %d: a position, in the connector's encoding\n", st.Step, st.Key, st.Epoch)
	fmt.Fprintf(w, "  bytes:    %x (%d)\n", st.State, len(st.State))
	if st.Uvarints != nil {
		fmt.Fprintf(w, "  uvarints: %v (the files connectors store a byte offset, and for CSV the line number, so)\n", st.Uvarints)
	}
}

func printInfo(w io.Writer, dir string, info recovery.Info) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintf(tw, "%s: %d partitions\n\n", dir, info.Partitions)
	fmt.Fprintln(tw, "execution\tworkers\tresume\tbegan\tfrontiers")
	for _, e := range info.Executions {
		fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%v\n", e.Number, e.Workers, e.Resume, e.Began.UTC().Format(time.RFC3339), e.Frontiers)
	}
	fmt.Fprintln(tw, "\nstep\tkeys\trows\tbytes")
	for _, st := range info.Steps {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", st.Step, st.Keys, st.Rows, st.Bytes)
	}
	tw.Flush()
}
