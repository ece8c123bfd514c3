package files

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unsafe"
)

// JSONLines formats an item as one line of JSON, as encoding/json's Marshal does, for a
// file sink's Format: NewFileSink[Click](path).Format(files.JSONLines). Marshal's output
// has no newline in it, so each item is one line of the file. An item that Marshal
// cannot encode (a channel, a NaN) panics, which fails the run with a *weir.StepError
// naming the sink.
func JSONLines[T any](buf []byte, item T) []byte {
	b, err := json.Marshal(item)
	if err != nil {
		panic(fmt.Errorf("weir: files: JSONLines: %w", err))
	}
	return append(buf, b...)
}

// CSV returns a format that writes an item as one CSV row (RFC 4180: a cell is quoted
// when it holds a comma, a quote, a newline or a leading space), for a file sink's Format.
// T is either a []string, written cell by cell, or a struct whose fields are written as
// NewCSVStructSource reads them: the exported fields not tagged `csv:"-"`, in order, of
// the same types; floats in the shortest form that reads back the same, times in RFC
// 3339 with nanoseconds, durations as time.Duration.String writes them. So a file
// written with CSV and a CSVHeader reads back into the same structs. It panics if T is
// neither, as regexp.MustCompile does: that is a mistake in the program, found when the
// flow is declared. A row with a quoted newline spans several lines of the file.
func CSV[T any]() func(buf []byte, item T) []byte {
	if f, ok := any(formatter[[]string](appendCSVRecord)).(formatter[T]); ok {
		return f
	}
	cols := csvColumns[T]()
	return func(buf []byte, item T) []byte {
		p := unsafe.Pointer(&item)
		var num [64]byte
		for i, col := range cols {
			if i > 0 {
				buf = append(buf, ',')
			}
			if col.kind == reflect.String {
				buf = appendCSVCell(buf, *(*string)(unsafe.Add(p, col.offset)), len(cols) == 1)
				continue
			}
			// Numbers, bools, times and durations never need quotes.
			buf = append(buf, appendField(num[:0], unsafe.Add(p, col.offset), col)...)
		}
		return buf
	}
}

// CSVHeader returns the header row of the CSV format of T (a struct: its columns' names;
// see CSV), for a file sink's Header. It panics if T is not a struct CSV can write.
func CSVHeader[T any]() string {
	fields, err := structFields[T]("CSVHeader")
	if err != nil {
		panic(err)
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return string(appendCSVRecord(nil, names))
}

func csvColumns[T any]() []column {
	fields, err := structFields[T]("CSV")
	if err != nil {
		panic(err)
	}
	cols := make([]column, len(fields))
	for i, f := range fields {
		cols[i] = f.col
	}
	return cols
}

func appendCSVRecord(buf []byte, rec []string) []byte {
	for i, cell := range rec {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = appendCSVCell(buf, cell, len(rec) == 1)
	}
	return buf
}

// appendCSVCell quotes a cell where a reader would otherwise misread it, as encoding/csv's
// writer does (a leading space would be lost to readers that trim), and also the empty
// cell of a one-column row (alone), which would read as a blank line, and be skipped.
func appendCSVCell(buf []byte, cell string, alone bool) []byte {
	if cell == "" {
		if alone {
			return append(buf, `""`...)
		}
		return buf
	}
	if !strings.ContainsAny(cell, ",\"\r\n") && cell[0] != ' ' && cell[0] != '\t' {
		return append(buf, cell...)
	}
	buf = append(buf, '"')
	for {
		i := strings.IndexByte(cell, '"')
		if i < 0 {
			break
		}
		buf = append(append(buf, cell[:i+1]...), '"')
		cell = cell[i+1:]
	}
	return append(append(buf, cell...), '"')
}

// appendField appends the text of the field at p, as setField would read it back.
func appendField(buf []byte, p unsafe.Pointer, col column) []byte {
	switch col.kind {
	case reflect.String:
		return append(buf, *(*string)(p)...)
	case reflect.Bool:
		return strconv.AppendBool(buf, *(*bool)(p))
	case reflect.Int:
		return strconv.AppendInt(buf, int64(*(*int)(p)), 10)
	case reflect.Int8:
		return strconv.AppendInt(buf, int64(*(*int8)(p)), 10)
	case reflect.Int16:
		return strconv.AppendInt(buf, int64(*(*int16)(p)), 10)
	case reflect.Int32:
		return strconv.AppendInt(buf, int64(*(*int32)(p)), 10)
	case reflect.Int64:
		return strconv.AppendInt(buf, *(*int64)(p), 10)
	case reflect.Uint:
		return strconv.AppendUint(buf, uint64(*(*uint)(p)), 10)
	case reflect.Uint8:
		return strconv.AppendUint(buf, uint64(*(*uint8)(p)), 10)
	case reflect.Uint16:
		return strconv.AppendUint(buf, uint64(*(*uint16)(p)), 10)
	case reflect.Uint32:
		return strconv.AppendUint(buf, uint64(*(*uint32)(p)), 10)
	case reflect.Uint64:
		return strconv.AppendUint(buf, *(*uint64)(p), 10)
	case reflect.Float32:
		return strconv.AppendFloat(buf, float64(*(*float32)(p)), 'g', -1, 32)
	case reflect.Float64:
		return strconv.AppendFloat(buf, *(*float64)(p), 'g', -1, 64)
	case kindTime:
		return (*(*time.Time)(p)).AppendFormat(buf, time.RFC3339Nano)
	case kindDuration:
		return append(buf, (*(*time.Duration)(p)).String()...)
	}
	return buf
}
