// Package stdio connects a flow to standard input and output.
//
// # Output
//
// NewSink prints each item on its own line, formatted as fmt.Println would. Each worker
// formats its batch on its own and writes it to standard output in one piece, so lines
// from different workers never mix, though their batches interleave.
//
// # Input
//
// NewLineSource reads standard input line by line. It has one partition and keeps no
// position: standard input cannot be read again, so a resumed run reads on from wherever
// the new process's standard input starts.
package stdio
