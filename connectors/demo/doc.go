// Package demo has sources of made-up data for examples and first experiments: a flow
// can be tried before it is connected to anything real.
//
// # Metrics
//
// Metrics makes readings of named metrics (a CPU's load, say): one partition per name,
// so that several workers share them, each reading a value between 0 and 100 that
// drifts along a slow wave with random noise, at a steady rate or as fast as the flow
// takes them. The values are reproducible: reading i of a metric is the same in every
// run with the same seed, which is what lets the source resume: its position is the
// number of readings made, and a resumed run makes the same readings from there on.
// Only the readings' times, taken from the clock, differ between runs.
package demo
