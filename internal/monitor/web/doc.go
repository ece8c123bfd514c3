// Package web is the monitoring server's view of a running flow: a page that draws the
// planned dataflow with each step's items per second and backpressure, the workers'
// epochs and snapshots, source lag and errors, updated live; and the JSON API the page
// reads, which other tools may read too (docs/API.md documents it).
//
// # The page
//
// The page is plain HTML, CSS and JavaScript in static/, embedded in the binary: it needs
// no build step, no CDN and no network beyond the server it came from. It fetches
// /api/dataflow once and draws it as an SVG, laid out in layers from left to right, each
// composite operator of several steps as a group (folded into one node on a click);
// then it listens to /api/events and writes each status into the drawing and the tables.
//
// # Rates
//
// The figures the engine keeps are totals since the start (engine.Stats). Rates and
// shares of time (items per second, time held back, time busy) are the change since the
// oldest status computed within the rate window (RateWindow), so every reader sees the
// same smoothing however often it asks; the first status of a run has its averages since
// the start.
//
// # Several processes
//
// Every process of a cluster serves its own workers' figures only (the engine counts
// where the work runs, and asking peers for theirs would put the monitor on the data
// path). Status says which process it is and how many there are, with each worker's
// bytes sent to each process and its credits, and the page says that the figures are
// this process's share.
package web
