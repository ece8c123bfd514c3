// Command sensors averages temperature readings per sensor and minute, on event time:
// each reading carries the time it was taken, readings may arrive out of order, and those
// that arrive too late for their minute are counted instead of averaged. It reads the
// bundled readings.csv, or a file of the same format given as an argument.
//
//	go run ./examples/sensors
//	go run ./examples/sensors path/to/readings.csv
package main

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/connectors/files"
	"github.com/weirflow/weir/connectors/stdio"
	"github.com/weirflow/weir/op"
	"github.com/weirflow/weir/run"
	"github.com/weirflow/weir/sink"
	"github.com/weirflow/weir/source"
	"github.com/weirflow/weir/window"
)

//go:embed readings.csv
var bundled string

func main() {
	run.Main(sensorFlow(input(run.Args()), stdio.NewSink[string]()))
}

func input(args []string) source.Source[string] {
	if len(args) > 0 {
		return files.NewLineSource(args[0])
	}
	// A few lines at a time, as a live feed delivers them: windows then close as the
	// readings' time moves on, not all at the end.
	return source.Lines(bundled).BatchSize(8)
}

// Reading is one line of the input, such as "2024-03-14T09:00:02Z,boiler,70.4".
type Reading struct {
	At      time.Time
	Sensor  string
	Celsius float64
}

func parse(line string) (Reading, error) {
	at, rest, _ := strings.Cut(line, ",")
	sensor, celsius, _ := strings.Cut(rest, ",")
	t, err := time.Parse(time.RFC3339, at)
	if err != nil {
		return Reading{}, err
	}
	c, err := strconv.ParseFloat(celsius, 64)
	return Reading{At: t, Sensor: sensor, Celsius: c}, err
}

// mean is a window's running sum and count.
type mean struct {
	Sum float64
	N   int
}

// Windows are whole minutes: aligned to the Unix epoch, window id i starts i minutes after it.
var epoch = time.Unix(0, 0).UTC()

func sensorFlow(src source.Source[string], out sink.Sink[string]) *weir.Dataflow {
	flow := weir.NewDataflow("sensors")
	lines := op.Filter("skip_comments", op.Input("lines", flow, src), func(l string) bool {
		return l != "" && !strings.HasPrefix(l, "#")
	})
	readings, bad := op.TryMap("parse", lines, parse)
	bySensor := op.KeyOn("by_sensor", readings, func(r Reading) string { return r.Sensor })

	// Event time is when a reading was taken. Each sensor's clock waits 10 s for
	// stragglers: a reading more than 10 s older than its sensor's newest one is late.
	// EventTime moves the watermark with the readings' times only, not the system time,
	// so that replaying a file gives the same averages and late counts however fast it is
	// read (EventClock would make more readings late on a slow run).
	clock := window.EventTime(func(r Reading) time.Time { return r.At }, 10*time.Second)
	avg := window.Fold("average", bySensor, clock, window.Tumbling(time.Minute, epoch),
		func() mean { return mean{} },
		func(m mean, r Reading) mean { return mean{m.Sum + r.Celsius, m.N + 1} },
		func(a, b mean) mean { return mean{a.Sum + b.Sum, a.N + b.N} })

	averages := op.Map("show_average", avg.Down, func(kv weir.KV[window.Windowed[mean]]) string {
		start := epoch.Add(time.Duration(kv.Value.Window) * time.Minute)
		m := kv.Value.Value
		return fmt.Sprintf("%s-%s  %-10s %7.2f °C  (%d readings)",
			start.Format("15:04"), start.Add(time.Minute).Format("15:04"), kv.Key, m.Sum/float64(m.N), m.N)
	})
	late := op.Map("show_late", op.CountFinal("count_late", avg.Late, func(kv weir.KV[window.Windowed[Reading]]) string {
		return kv.Key
	}), func(kv weir.KV[int]) string { return fmt.Sprintf("%s: %d late readings", kv.Key, kv.Value) })
	failed := op.Map("show_bad", bad, func(f op.Failure[string]) string { return "skipped " + f.String() })

	op.Output("print", op.Merge("report", averages, late, failed), out)
	return flow
}
