// Package files reads files into a flow and writes flows to files, exactly once across
// restarts.
//
// # Line sources
//
// NewLineSource reads a file line by line; NewDirSource reads the files of a directory
// that match a glob, one partition per file, so that several workers read them in
// parallel. A partition's position is a byte offset, snapshotted at every epoch close, so
// a resumed run continues at the first line it had not read. ParseLines parses each line
// of either into an item (a JSON line into a struct, say).
//
// Every partition of this package's sources is a source.Lagger and a source.Sizer in
// bytes: the file's size when the partition opened it, and what is left of it after the
// last batch read. Metrics show the lag, and run.Main's progress line the share read.
//
// A source's partition is named by the file's path relative to the directory, or for a
// single file by its absolute path: not by the path as written, so that a run resumed
// with the same file spelled another way ("clicks.csv", "./clicks.csv", its absolute
// path) finds its position, while a run given another file is refused rather than read
// from the old offset. A recovery directory written by an earlier weir, which named a
// single file's partition by its path as given, resumes where that path was absolute,
// and is otherwise refused with an error naming the partitions.
//
// # CSV sources
//
// NewCSVSource reads the rows of a CSV file as maps keyed by the header's column names;
// NewCSVStructSource decodes them into structs by `csv:"name"` tags or field names. Both
// resume from the byte offset after the last row read, found by encoding/csv itself, so
// quoted cells spanning lines are safe; the header is read again on resume.
//
// # Bad rows
//
// A CSV row that is malformed or does not decode, or a line that ParseLines' function
// refuses, is handled by the source's ErrorPolicy, set with its OnError method (the
// plain line sources have no bad lines: any bytes make a line):
//
//   - Fail, the default, stops the run with a *CSVError or *LineError naming the file,
//     the line and the row's byte offset, inside a *weir.StepError naming the step and
//     partition. A resumed run meets the row again.
//   - Skip drops the row and reads on; Skipped counts the rows skipped, for a program to
//     report after its run.
//   - Read, instead of op.Input, sends bad rows to a second stream, as BadRow values with
//     the file, line, offset, raw text and error: a dead-letter stream.
//
// Whichever the policy, a bad row that was skipped or sent on counts as read: a resumed
// run reads on after it, so that each row, good or bad, is read once across restarts.
//
// # File sinks
//
// NewFileSink writes a stream to one file, a line per item, creating the file's
// directory; NewDirSink writes it to n files, routed by key (a stream that is not keyed
// goes to one of them: key it to spread it). Items are written with %v (a string as it
// is) unless Format says otherwise: CSV and JSONLines are ready-made formats, and Header
// sets a first line, such as CSVHeader's. The file sink's partition is the file's base
// name: a resumed run checks that the file holds its snapshotted length, so output
// moved to another directory resumes there, and a file that lacks it is refused. At every epoch close a sink flushes its files,
// so that their readers see the output epoch by epoch, and at the end of the run, or
// when a run is stopped, it writes out what it was given.
//
// With a recovery store, every epoch close also fsyncs the files and snapshots their
// lengths; a resumed run truncates each file to its snapshotted length before writing,
// so that what a crashed run wrote after its last completed epoch is replaced, not
// repeated: the output is exactly once. A fresh start (no recovery, or a recovery store
// with no snapshot yet) truncates the files: it overwrites them.
package files
