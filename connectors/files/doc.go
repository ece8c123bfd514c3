// Package files reads files into a flow.
//
// # Line sources
//
// NewLineSource reads a file line by line. Its position is a byte offset, snapshotted at
// every epoch close, so a resumed run continues at the first line it had not read.
package files
