package run

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/weirflow/weir/internal/engine"
)

// progressEvery is how often the progress line reads the run's figures and redraws.
const progressEvery = 200 * time.Millisecond

// rateWindow is the span over which the progress line's item rate is measured.
const rateWindow = 5 * time.Second

// terminal reports whether w is a terminal, where a progress line that redraws itself
// reads as one line rather than as a stream of them.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// showProgress reports whether run.Main draws its progress line: stderr is a terminal,
// and the flow's output on stdout does not go to that same terminal, where its lines
// would land in the middle of the line being redrawn.
func showProgress(stdout, stderr io.Writer) bool {
	if !terminal(stderr) {
		return false
	}
	if !terminal(stdout) {
		return true
	}
	a, errA := stdout.(*os.File).Stat()
	b, errB := stderr.(*os.File).Stat()
	return errA == nil && errB == nil && !os.SameFile(a, b)
}

// progressLine is run.Main's one-line display of a run's progress on a terminal: items
// read, their rate, the share of the inputs read and the time left. It is drawn only
// while every partition of the run's inputs in this process knows its size and lag
// (source.Sizer and source.Lagger: files, slices); a run with any other source shows
// nothing. It reads the engine's Stats, which count per batch.
//
// Logs go to the same terminal: the logger writes through the line (Write), which clears
// it, writes the log record, and draws it again, so that records never end up inside it.
type progressLine struct {
	w     io.Writer
	every time.Duration

	mu      sync.Mutex // guards what follows, and writes to w
	bar     *progressbar.ProgressBar
	samples []sample
	stop    chan struct{}
	done    chan struct{}
}

// sample is the items read at one moment, for the rate.
type sample struct {
	at    time.Time
	items int64
}

func newProgressLine(w io.Writer) *progressLine {
	return &progressLine{w: w, every: progressEvery}
}

// Write writes a log record to the terminal, above the progress line.
func (p *progressLine) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar == nil {
		return p.w.Write(b)
	}
	p.bar.Clear()
	n, err := p.w.Write(b)
	p.bar.RenderBlank()
	return n, err
}

// start starts drawing the progress of the run ctx is for, reading the Stats ctx carries
// (or new ones, which the returned context carries), and returns the function that stops
// it and clears the line. A nil line does nothing.
func (p *progressLine) start(ctx context.Context) (context.Context, func()) {
	if p == nil {
		return ctx, func() {}
	}
	stats := engine.StatsFrom(ctx)
	if stats == nil {
		stats = engine.NewStats()
		ctx = engine.WithStats(ctx, stats)
	}
	p.stop, p.done = make(chan struct{}), make(chan struct{})
	go p.loop(stats)
	var once sync.Once
	return ctx, func() {
		once.Do(func() {
			close(p.stop)
			<-p.done
		})
	}
}

func (p *progressLine) loop(stats *engine.Stats) {
	defer close(p.done)
	t := time.NewTicker(p.every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			p.mu.Lock()
			if p.bar != nil {
				p.bar.Clear()
				p.bar = nil
			}
			p.mu.Unlock()
			return
		case now := <-t.C:
			if !p.update(stats.Read(), now) {
				return
			}
		}
	}
}

// inputProgress sums what a Status says of the inputs of this process: the items read,
// and, for bounded sources that know their size, how much of them is read of their
// whole size (in the sources' own units: bytes of files, items of slices). ok is false
// while there is nothing to measure, and sized is false once any partition does not know
// its size or lag.
func inputProgress(st engine.Status) (items, read, total int64, sized, ok bool) {
	sized = true
	for _, s := range st.Steps {
		if s.Kind != "input" {
			continue
		}
		for _, w := range s.Workers {
			items += w.Out
			if w.Unsized > 0 {
				sized = false
			}
			for _, l := range w.Lag {
				total += l.Size
				read += max(l.Size-l.Behind, 0)
			}
		}
	}
	return items, read, total, sized, total > 0
}

// update draws st, read at now; it returns false once the line is off for good.
func (p *progressLine) update(st engine.Status, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !st.Running {
		return st.Ended.IsZero() // before the start, wait; after the end, nothing to draw
	}
	items, read, total, sized, ok := inputProgress(st)
	if !sized {
		if p.bar != nil {
			p.bar.Clear()
			p.bar = nil
		}
		return false
	}
	if !ok {
		return true
	}
	p.samples = append(p.samples, sample{now, items})
	for len(p.samples) > 2 && now.Sub(p.samples[1].at) >= rateWindow {
		p.samples = p.samples[1:]
	}
	var rate float64
	if first := p.samples[0]; now.After(first.at) {
		rate = float64(items-first.items) / now.Sub(first.at).Seconds()
	}
	desc := count(float64(items)) + " items, " + count(rate) + " items/s"
	if p.bar == nil {
		p.bar = progressbar.NewOptions64(total,
			progressbar.OptionSetWriter(p.w),
			progressbar.OptionSetWidth(24),
			progressbar.OptionSetDescription(desc),
			progressbar.OptionShowDescriptionAtLineEnd(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionSetElapsedTime(true),
			progressbar.OptionSetRenderBlankState(true))
	} else if total != p.bar.GetMax64() {
		p.bar.ChangeMax64(total) // a worker opened its partitions after the first look
	}
	p.bar.Describe(desc)
	p.bar.Set64(read)
	return true
}

// count writes n for a person: whole up to 10,000, then in thousands (k), millions (M)
// or billions (G) with one decimal.
func count(n float64) string {
	switch {
	case n < 1e4:
		return strconv.FormatFloat(n, 'f', 0, 64)
	case n < 1e6:
		return fmt.Sprintf("%.1fk", n/1e3)
	case n < 1e9:
		return fmt.Sprintf("%.1fM", n/1e6)
	}
	return fmt.Sprintf("%.1fG", n/1e9)
}
