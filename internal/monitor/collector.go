package monitor

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/weirflow/weir/internal/engine"
)

// collector is weir's Prometheus collector: at each scrape it reads the run's figures once
// (engine.Stats.Read) and turns them into const metrics. Nothing is counted through
// Prometheus on the workers' path. docs/METRICS.md lists the metrics; keep it in step.
type collector struct {
	stats *engine.Stats
	descs metricDescs
}

// metricDescs are the descriptions of every metric, by name.
type metricDescs struct {
	itemsIn, itemsOut, batches, batchItems, busy     *prometheus.Desc
	keys, timers, lag                                *prometheus.Desc
	epoch, committed                                 *prometheus.Desc
	inflight, parked, limit, backpressure, paused    *prometheus.Desc
	credit, sent                                     *prometheus.Desc
	snapshot, commit, commits, commitBytes, storeSiz *prometheus.Desc
	errors, running, started, workers                *prometheus.Desc
}

// newCollector returns the collector of stats, whose metrics carry process as their
// label process. The label is the descriptions' own (a constant label), not added by
// wrapping the registry: a wrapping registerer describes every metric anew at every
// scrape, which cost 11.4 allocations a weir series against 7.2 with the constant
// (TestScrapeAllocsPerSeries), a quarter of a 2-worker count's scrape.
func newCollector(stats *engine.Stats, process int) *collector {
	constLabels := prometheus.Labels{"process": strconv.Itoa(process)}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, labels, constLabels)
	}
	return &collector{stats: stats, descs: metricDescs{
		itemsIn:      d("weir_items_in_total", "Items delivered to the step (for an input, the items it read).", "step", "worker"),
		itemsOut:     d("weir_items_out_total", "Items the step emitted to its consumers (for an input, the items it read; a sink emits none).", "step", "worker"),
		batches:      d("weir_batches_total", "Batches the step ran on (for an input, the batches it read).", "step", "worker"),
		batchItems:   d("weir_batch_items", "Items per batch delivered to the step, over this process's workers.", "step"),
		busy:         d("weir_step_busy_seconds_total", "Time spent in the step's own code (the user's function, the keyed logic, the connector's read or write), timed per batch, by sample when batches are short.", "step", "worker"),
		keys:         d("weir_keys", "Keys a stateful step holds on the worker.", "step", "worker"),
		timers:       d("weir_timers", "Notifications a stateful step has pending on the worker.", "step", "worker"),
		lag:          d("weir_source_lag", "How far a source partition is behind the end of its source, in the source's unit (Kafka: records; files: bytes).", "step", "partition", "worker"),
		epoch:        d("weir_epoch", "The epoch the worker's inputs are in.", "worker"),
		committed:    d("weir_committed_epoch", "The last epoch the worker's snapshots were written to the store (0 before the first write or without a store).", "worker"),
		inflight:     d("weir_inflight_bytes", "Bytes of data waiting for the worker: queued for it, and parked for a later epoch.", "worker"),
		parked:       d("weir_parked_bytes", "Bytes of data the worker holds parked for a later epoch.", "worker"),
		limit:        d("weir_inflight_limit_bytes", "The load the worker lets others queue for it (debloated: what it drains in about two epoch intervals).", "worker"),
		backpressure: d("weir_backpressure_seconds_total", "Time the worker's sources were paused because its credit toward some worker was used up.", "worker"),
		paused:       d("weir_backpressured", "1 while the worker's sources are paused by backpressure, else 0.", "worker"),
		credit:       d("weir_credit_bytes", "The worker's least credit toward the workers of a process, in bytes (at most 0 pauses its sources).", "worker", "peer"),
		sent:         d("weir_sent_bytes_total", "Bytes (the engine's size estimates) the worker sent to the workers of another process.", "worker", "peer"),
		snapshot:     d("weir_snapshot_seconds", "Time the worker took to snapshot the state of the epochs it handed to its committer.", "worker"),
		commit:       d("weir_commit_seconds", "Time each write of the worker's closed epochs to the store took.", "worker"),
		commits:      d("weir_commits_total", "Writes of the worker's closed epochs to the store.", "worker"),
		commitBytes:  d("weir_commit_bytes_total", "Bytes of keys and states the worker's writes to the store held.", "worker"),
		storeSiz:     d("weir_store_bytes", "Size of this process's recovery store on disk, where the store can tell."),
		errors:       d("weir_errors_total", "Errors that stopped the run, by the step to blame (\"\" for none: the store, a peer).", "step"),
		running:      d("weir_running", "1 while the run is running, else 0."),
		started:      d("weir_start_time_seconds", "When the run started, in seconds since the Unix epoch (0 before)."),
		workers:      d("weir_workers", "Workers in this process."),
	}}
}

func (c *collector) Describe(ch chan<- *prometheus.Desc) { prometheus.DescribeByCollect(c, ch) }

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats.Read()
	d := &c.descs
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	running, started := 0.0, 0.0
	if st.Running {
		running = 1
	}
	if !st.Started.IsZero() {
		started = float64(st.Started.UnixNano()) / 1e9
	}
	gauge(d.running, running)
	gauge(d.started, started)
	gauge(d.workers, float64(len(st.Workers)))

	for _, s := range st.Steps {
		var sizes [engine.BatchSizeBuckets]uint64
		var batches uint64
		var items float64
		for _, w := range s.Workers {
			wl := strconv.Itoa(w.Worker)
			counter(d.itemsIn, float64(w.In), s.ID, wl)
			counter(d.itemsOut, float64(w.Out), s.ID, wl)
			counter(d.batches, float64(w.Batches), s.ID, wl)
			counter(d.busy, w.Busy.Seconds(), s.ID, wl)
			if w.HasKeys {
				gauge(d.keys, float64(w.Keys), s.ID, wl)
				gauge(d.timers, float64(w.Timers), s.ID, wl)
			}
			for _, l := range w.Lag {
				gauge(d.lag, float64(l.Behind), s.ID, l.Partition, wl)
			}
			for i, n := range w.BatchSizes {
				sizes[i] += uint64(n)
			}
			batches += uint64(w.Batches)
			items += float64(w.In)
		}
		if s.FusedInto != "" {
			continue // its batches are its chain's
		}
		buckets := map[float64]uint64{}
		var cum uint64
		for i, n := range sizes {
			cum += n
			if b := engine.BatchSizeBound(i); b >= 0 {
				buckets[float64(b)] = cum
			}
		}
		ch <- prometheus.MustNewConstHistogram(d.batchItems, batches, items, buckets, s.ID)
	}

	for _, w := range st.WorkerStatus {
		wl := strconv.Itoa(w.Worker)
		gauge(d.epoch, float64(w.Epoch), wl)
		gauge(d.committed, float64(w.Committed), wl)
		gauge(d.inflight, float64(w.InFlightBytes), wl)
		gauge(d.parked, float64(w.ParkedBytes), wl)
		gauge(d.limit, float64(w.LimitBytes), wl)
		counter(d.backpressure, w.Backpressure.Seconds(), wl)
		paused := 0.0
		if w.Paused {
			paused = 1
		}
		gauge(d.paused, paused, wl)
		if st.Processes > 1 && len(w.Credits) > 0 {
			per := len(w.Credits) / st.Processes
			for p := range st.Processes {
				least := w.Credits[p*per]
				for _, cr := range w.Credits[p*per : (p+1)*per] {
					least = min(least, cr)
				}
				gauge(d.credit, float64(least), wl, strconv.Itoa(p))
			}
		}
		for p, b := range w.SentBytes {
			if p != st.Process {
				counter(d.sent, float64(b), wl, strconv.Itoa(p))
			}
		}
		ch <- histogramOf(d.snapshot, w.Snapshot, wl)
		ch <- histogramOf(d.commit, w.Commit, wl)
		counter(d.commits, float64(w.Commits), wl)
		counter(d.commitBytes, float64(w.CommitBytes), wl)
	}
	if st.StoreKnown {
		gauge(d.storeSiz, float64(st.StoreBytes))
	}
	errs := map[string]int{}
	for _, e := range st.Errors {
		errs[e.Step]++
	}
	for step, n := range errs {
		counter(d.errors, float64(n), step)
	}
}

// histogramOf is h as a Prometheus histogram, whose buckets are cumulative.
func histogramOf(desc *prometheus.Desc, h engine.Histogram, labels ...string) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	var cum uint64
	for i, b := range h.Bounds {
		cum += h.Counts[i]
		buckets[b] = cum
	}
	return prometheus.MustNewConstHistogram(desc, h.Count, h.Sum, buckets, labels...)
}
