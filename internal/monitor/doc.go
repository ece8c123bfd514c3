// Package monitor serves a running flow's figures over HTTP: Prometheus metrics at
// /metrics, read from the engine's Stats at scrape time (a custom collector: the workers
// never call Prometheus, they count into their own atomics once per batch), and whatever
// else is mounted on the server's mux (the dataflow and status API, the web view).
//
// Package run starts a Server before the run when asked for an address (--http,
// WEIR_HTTP, run.HTTP) and stops it after the run. Each process of a cluster serves its
// own workers; every metric carries the process's index as the label process.
//
// A scrape that asks for gzip is compressed with a writer the package keeps between
// scrapes (gzip.go): promhttp's pooled writers did not outlive a garbage collection, so
// that a process scraped every few seconds made a new one, 800 KB, for nearly every scrape.
//
// The metrics and their labels are listed in docs/METRICS.md.
package monitor
