package run

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weirflow/weir"
)

// Main runs flow as a command-line program, in Bytewax's shape, and exits: with status 0
// when the flow ends or a signal (Ctrl-C, SIGTERM) stops it cleanly, and with status 1 and
// the error on stderr when it fails. opts are applied first; flags and environment
// variables override them:
//
//	-w, --workers-per-process N   workers in this process (WEIR_WORKERS_PER_PROCESS), default 1
//	-s, --snapshot-interval D     epoch and snapshot interval, a duration ("500ms") or
//	                              seconds ("10") (WEIR_SNAPSHOT_INTERVAL), default 10s
//	-r, --recovery-directory DIR  snapshot to and resume from DIR (WEIR_RECOVERY_DIRECTORY)
//	-b, --backup-interval D       keep superseded snapshots this long (WEIR_BACKUP_INTERVAL), default 0
//
// Arguments after the flags are left for the program: see Args.
func Main(flow *weir.Dataflow, opts ...Option) {
	os.Exit(main(context.Background(), flow, os.Args[1:], os.Stderr, opts))
}

// Args returns the command-line arguments that follow Main's flags, so that a program can
// pick its input before building the flow it passes to Main.
func Args() []string {
	fs, _ := newFlagSet(DefaultConfig(), io.Discard)
	if err := fs.Parse(os.Args[1:]); err != nil {
		return nil
	}
	return fs.Args()
}

func main(ctx context.Context, flow *weir.Dataflow, args []string, stderr io.Writer, opts []Option) int {
	cfg := DefaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	fs, err := newFlagSet(cfg, stderr)
	if err == nil {
		err = fs.Parse(args)
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	cfg = fs.cfg()
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	err = RunConfig(ctx, flow, cfg)
	if err != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

type flagSet struct {
	*flag.FlagSet
	workers  *int
	interval *durationFlag
	backup   *durationFlag
	recovery *string
}

func (f *flagSet) cfg() Config {
	return Config{Workers: *f.workers, EpochInterval: time.Duration(*f.interval),
		BackupInterval: time.Duration(*f.backup), RecoveryDir: *f.recovery}
}

// newFlagSet declares Main's flags with defaults from cfg, overridden by the environment.
func newFlagSet(cfg Config, out io.Writer) (*flagSet, error) {
	fs := &flagSet{FlagSet: flag.NewFlagSet(os.Args[0], flag.ContinueOnError)}
	fs.SetOutput(out)
	if v, ok := os.LookupEnv("WEIR_WORKERS_PER_PROCESS"); ok {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("weir: WEIR_WORKERS_PER_PROCESS=%q: not a number", v)
		}
		cfg.Workers = n
	}
	interval := durationFlag(cfg.EpochInterval)
	if v, ok := os.LookupEnv("WEIR_SNAPSHOT_INTERVAL"); ok {
		if err := interval.Set(v); err != nil {
			return nil, fmt.Errorf("weir: WEIR_SNAPSHOT_INTERVAL=%q: %w", v, err)
		}
	}
	backup := durationFlag(cfg.BackupInterval)
	if v, ok := os.LookupEnv("WEIR_BACKUP_INTERVAL"); ok {
		if err := backup.Set(v); err != nil {
			return nil, fmt.Errorf("weir: WEIR_BACKUP_INTERVAL=%q: %w", v, err)
		}
	}
	recovery := cfg.RecoveryDir
	if v, ok := os.LookupEnv("WEIR_RECOVERY_DIRECTORY"); ok {
		recovery = v
	}
	fs.workers = new(int)
	fs.interval = &interval
	fs.backup = &backup
	fs.recovery = new(string)
	for _, name := range []string{"r", "recovery-directory"} {
		fs.StringVar(fs.recovery, name, recovery, "recovery directory made by `weir recovery init` (env WEIR_RECOVERY_DIRECTORY)")
	}
	for _, name := range []string{"b", "backup-interval"} {
		fs.Var(fs.backup, name, "how long superseded snapshots are kept: a duration or seconds (env WEIR_BACKUP_INTERVAL)")
	}
	for _, name := range []string{"w", "workers-per-process"} {
		fs.IntVar(fs.workers, name, cfg.Workers, "number of workers in this process (env WEIR_WORKERS_PER_PROCESS)")
	}
	for _, name := range []string{"s", "snapshot-interval"} {
		fs.Var(fs.interval, name, "epoch and snapshot interval: a duration or seconds (env WEIR_SNAPSHOT_INTERVAL)")
	}
	return fs, nil
}

// durationFlag accepts a Go duration ("500ms") or, as Bytewax's -s does, whole seconds.
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }

func (d *durationFlag) Set(s string) error {
	if secs, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		*d = durationFlag(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("not a duration or a number of seconds")
	}
	*d = durationFlag(v)
	return nil
}
