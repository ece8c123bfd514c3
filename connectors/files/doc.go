// Package files reads files into a flow and writes flows to files, exactly once across
// restarts.
//
// # Line sources
//
// NewLineSource reads a file line by line; NewDirSource reads the files of a directory
// that match a glob, one partition per file, so that several workers read them in
// parallel. A partition's position is a byte offset, snapshotted at every epoch close, so
// a resumed run continues at the first line it had not read.
//
// # CSV sources
//
// NewCSVSource reads the rows of a CSV file as maps keyed by the header's column names;
// NewCSVStructSource decodes them into structs by `csv:"name"` tags or field names. Both
// resume from the byte offset after the last row read, found by encoding/csv itself, so
// quoted cells spanning lines are safe; the header is read again on resume.
//
// # File sinks
//
// NewFileSink writes a stream to one file, a line per item, creating the file's
// directory; NewDirSink writes it to n files, routed by key (a stream that is not keyed
// goes to one of them: key it to spread it). Items are written with %v (a string as it
// is) unless Format says otherwise: CSV and JSONLines are ready-made formats, and Header
// sets a first line, such as CSVHeader's. At every epoch close a sink flushes its files,
// so that their readers see the output epoch by epoch, and at the end of the run, or
// when a run is stopped, it writes out what it was given.
//
// With a recovery store, every epoch close also fsyncs the files and snapshots their
// lengths; a resumed run truncates each file to its snapshotted length before writing,
// so that what a crashed run wrote after its last completed epoch is replaced, not
// repeated: the output is exactly once. A fresh start (no recovery, or a recovery store
// with no snapshot yet) truncates the files: it overwrites them.
package files
