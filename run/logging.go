package run

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
)

// The formats of LogFormat and --log-format.
const (
	LogText = "text" // slog's text handler: key=value pairs, run.Main's default
	LogJSON = "json" // slog's JSON handler: one object per line
)

// LogLevel sets the least level of the records the run logs, overriding the default of
// info (slog.LevelDebug adds each snapshot write). It applies to the logger the run makes:
// run.Main's on stderr, and Run's when it is given LogLevel or LogFormat; a Logger given by
// an option keeps its own level. --log-level (WEIR_LOG_LEVEL) overrides it in run.Main.
func LogLevel(l slog.Level) Option { return func(c *config) { c.logLevel = l } }

// LogFormat sets the format of the run's logs on stderr, LogText or LogJSON, overriding
// the default of LogText. Like LogLevel it applies to the logger the run makes (Run,
// given either, logs to stderr rather than to slog.Default()); a Logger given by an
// option keeps its own format. --log-format (WEIR_LOG_FORMAT) overrides it in run.Main.
// Any other format is an error.
func LogFormat(format string) Option { return func(c *config) { c.logFormat = format } }

// Quiet turns run.Main's progress line off, as --quiet (WEIR_QUIET) does, overriding the
// default of drawing it when stderr is a terminal and every source knows its size.
func Quiet() Option { return func(c *config) { c.quiet = true } }

// checkLogFormat reports an unknown log format.
func checkLogFormat(f string) error {
	switch f {
	case "", LogText, LogJSON:
		return nil
	}
	return fmt.Errorf("weir: log format %q (--log-format, run.LogFormat): want text or json", f)
}

// newLogger returns the logger a run makes: format (text by default) on w, from level
// (info by default).
func newLogger(w io.Writer, format string, level slog.Leveler) *slog.Logger {
	if level == nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == LogJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// runLogger returns the logger of Run: the option's, else one on stderr when the options
// ask for a level or format, else slog.Default().
func (c config) runLogger() *slog.Logger {
	switch {
	case c.logger != nil:
		return c.logger
	case c.logLevel != nil || c.logFormat != "":
		return newLogger(os.Stderr, c.logFormat, c.logLevel)
	}
	return slog.Default()
}

// logFormatFlag is --log-format: text or json (any case).
type logFormatFlag string

func (f *logFormatFlag) String() string { return string(*f) }

func (f *logFormatFlag) Set(s string) error {
	v := strings.ToLower(strings.TrimSpace(s))
	if v != LogText && v != LogJSON {
		return fmt.Errorf("not a log format: text or json")
	}
	*f = logFormatFlag(v)
	return nil
}
