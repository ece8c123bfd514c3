package run

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/weirflow/weir"
	"github.com/weirflow/weir/internal/engine"
	"github.com/weirflow/weir/internal/graph"
	"github.com/weirflow/weir/internal/plan"
)

// Main runs flow as a command-line program, in Bytewax's shape, and exits:
//
//   - 0 when every input has ended;
//   - 1 with the error on stderr when the flow fails (and, for a panic in user code, the
//     stack of the panic, the program's own frames first);
//   - 2 with one line on stderr for a bad flag or environment variable;
//   - 130 after Ctrl-C (SIGINT) and 143 after SIGTERM, which stop the run cleanly: with a
//     recovery directory, the last committed epoch stays resumable, and the line on stderr
//     names the epoch the next run resumes from. A second signal kills the program at once.
//
// opts are applied first; environment variables override them, and flags override both:
//
//	-w, --workers-per-process N   workers in this process (WEIR_WORKERS_PER_PROCESS), default 1
//	-s, --snapshot-interval D     epoch and snapshot interval, a duration ("500ms") or
//	                              seconds ("10") (WEIR_SNAPSHOT_INTERVAL), default 10s
//	-r, --recovery-directory DIR  snapshot to and resume from DIR (WEIR_RECOVERY_DIRECTORY)
//	    --recovery-partitions N   create DIR with N partitions if it has none
//	                              (WEIR_RECOVERY_PARTITIONS)
//	    --drop-removed-steps      delete DIR's state of steps the dataflow no longer has,
//	                              rather than refuse to run (WEIR_DROP_REMOVED_STEPS=1)
//	-b, --backup-interval D       keep superseded snapshots this long (WEIR_BACKUP_INTERVAL), default 0
//	    --log-level LEVEL         debug, info, warn or error (WEIR_LOG_LEVEL), default info
//	    --log-format FORMAT       text or json (WEIR_LOG_FORMAT), default text
//	-q, --quiet                   no progress line on a terminal (WEIR_QUIET=1)
//	    --log-interval D          how often to log a progress summary, 0 for never
//	                              (WEIR_LOG_INTERVAL), default 30s
//	    --http ADDR               serve metrics (/metrics), the status API and a web view
//	                              at ADDR, host:port (WEIR_HTTP)
//	-h, --help                    print the usage and exit
//
// and those of a cluster (see Cluster in the package doc):
//
//	-i, --process-id N            this process's index in the cluster (WEIR_PROCESS_ID), default 0
//	-a, --addresses LIST          every process's host:port, by id, separated by ';' as in
//	                              Bytewax, or @FILE, one per line, # comments and blank lines
//	                              skipped (WEIR_ADDRESSES)
//	-p, --processes N             start N processes of this program on free loopback ports,
//	                              as a cluster (WEIR_PROCESSES)
//	    --cluster-secret-file F   a secret every process must know, from file F less its
//	                              trailing newline (WEIR_CLUSTER_SECRET_FILE), or the secret
//	                              itself in WEIR_CLUSTER_SECRET
//	    --tls-cert F, --tls-key F, --tls-ca F
//	                              TLS between the processes, with client certificates: this
//	                              process's certificate and key, and the authority that signed
//	                              every process's (WEIR_TLS_CERT, WEIR_TLS_KEY, WEIR_TLS_CA)
//	    --startup-timeout D       how long to wait for the other processes
//	                              (WEIR_STARTUP_TIMEOUT), default 60s
//	    --heartbeat-timeout D     how long a silent process is waited for before the cluster
//	                              stops (WEIR_HEARTBEAT_TIMEOUT), default 10s
//	    --statefulset-service S   on Kubernetes, without -i and -a: the headless service of
//	                              this pod's StatefulSet (WEIR_STATEFULSET_SERVICE)
//	    --statefulset-replicas N  the StatefulSet's replicas (WEIR_STATEFULSET_REPLICAS)
//	    --cluster-port PORT       the port each pod listens on (WEIR_CLUSTER_PORT), default 9000
//
// Each variable is WEIR_ and the flag's long name, upper-cased, with '_' for '-'.
//
// The sub-command graph prints the planned dataflow and exits without running it:
//
//	prog graph [--format mermaid|dot|json] [flags] [arguments]
//
// Mermaid (the default) and Graphviz DOT draw the steps, grouped by the composite
// operators that declared them, and the edges labelled with how items cross between
// workers; JSON is the description the monitoring server serves (see package
// internal/flowview's doc for its fields). The program's own flags and arguments follow,
// as for a run, so that it builds the flow it would run. Only the first argument is taken
// for the sub-command: "prog -- graph" runs the program with the argument "graph".
//
// The run's logs (see Logs in the package doc) go to stderr as text (--log-format json
// for JSON), unless opts give a Logger of their own, which --log-level and --log-format
// then do not change. When stderr is a terminal that stdout does not also write to, and
// every partition of the flow's inputs knows its size (files, slices: source.Sizer), a
// progress line below the logs shows the items read, their rate, the share of the inputs
// read and the time left; --quiet turns it off.
//
// A program adds flags of its own to Flags and reads its positional arguments with Args,
// both before calling Main.
func Main(flow *weir.Dataflow, opts ...Option) {
	os.Exit(MainStatus(flow, opts...))
}

// MainStatus is Main without the exit: it runs flow as Main does and returns the status
// Main would exit with, so that a program can report or clean up after the run:
//
//	code := run.MainStatus(flow)
//	fmt.Fprintf(os.Stderr, "skipped %d bad rows\n", src.Skipped())
//	os.Exit(code)
func MainStatus(flow *weir.Dataflow, opts ...Option) int {
	return main(context.Background(), cli, flow, os.Args[1:], os.Stdout, os.Stderr, opts)
}

// cli is the command line of this program, which Flags, Args and Main share: it is parsed
// once, by whichever of Args and Main comes first.
var cli = newCommandLine(filepath.Base(os.Args[0]))

// Flags returns the flag set that Args and Main parse, holding weir's flags. A program
// declares its own flags on it before calling Args or Main; they are listed in the usage
// after weir's:
//
//	limit := run.Flags().Int("limit", 0, "stop after `N` lines (0: no limit)")
//	files := run.Args() // parses the command line: -w 2 --limit 10 a.txt b.txt
//	...
//	run.Main(flow)
func Flags() *flag.FlagSet { return cli.fs }

// Args parses the command line (once: Main uses the same result) and returns the
// arguments that follow the flags, so that a program can pick its input before building
// the flow it passes to Main. On --help it prints the usage and exits with status 0; on a
// bad flag or environment variable it prints one line and exits with status 2, as Main
// would.
func Args() []string {
	if code, exit := cli.parse(os.Args[1:], os.Stdout, os.Stderr); exit {
		os.Exit(code)
	}
	return cli.fs.Args()
}

func main(ctx context.Context, cl *commandLine, flow *weir.Dataflow, args []string, stdout, stderr io.Writer, opts []Option) int {
	if code, exit := cl.parse(args, stdout, stderr); exit {
		return code
	}
	cfg, err := cl.config(opts)
	if err == nil {
		err = cfg.validate()
	}
	if err != nil {
		cl.usageError(stderr, err)
		return 2
	}
	if cl.graph != "" {
		if err := printGraph(stdout, flow, cl.graph); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return 0
	}
	logOut := io.Writer(stderr)
	if !cfg.quiet && cl.processes <= 1 && showProgress(stdout, stderr) {
		cfg.progress = newProgressLine(stderr)
		logOut = cfg.progress // records go above the line
	}
	if cfg.logger == nil {
		cfg.logger = newLogger(logOut, cfg.logFormat, cfg.logLevel)
	}
	if cl.processes > 1 {
		// A flow that does not build fails here, once, rather than in each process.
		if _, err := plan.New(graph.FlowOf(flow)); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		return cl.launch(cl.processes, args, stdout, stderr, cfg.logger)
	}
	var outcome engine.Outcome // where the run stopped, for the line after a signal
	ctx = engine.WithOutcome(ctx, &outcome)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	got := make(chan os.Signal, 1)
	go func() {
		sig, ok := <-sigs
		if !ok {
			return
		}
		signal.Stop(sigs) // a second signal ends the program at once
		got <- sig
		cancel()
	}()
	err = run(ctx, flow, cfg)
	signal.Stop(sigs)
	close(sigs)
	select {
	case sig := <-got:
		if err == nil || errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, interrupted(flow, cfg, sig, outcome.Resume))
			return 128 + int(sig.(syscall.Signal)) // the shell's status for a signal: 130, 143
		}
	default:
	}
	if err != nil {
		fmt.Fprintln(stderr, err)
		var pe *weir.PanicError
		if errors.As(err, &pe) && len(pe.Stack) > 0 {
			fmt.Fprint(stderr, panicTrace(pe.Stack))
		}
		return 1
	}
	return 0
}

// interrupted is the line after a signal stopped the run; resume is the epoch the next run
// resumes from, 0 when the run did not get to start.
func interrupted(flow *weir.Dataflow, cfg config, sig os.Signal, resume uint64) string {
	name := "SIGINT"
	if sig == syscall.SIGTERM {
		name = "SIGTERM"
	}
	if cfg.recoveryDir == "" {
		return fmt.Sprintf("weir: flow %s interrupted by %s; without a recovery directory (-r) its progress is not kept", flow.ID(), name)
	}
	if resume > 0 {
		return fmt.Sprintf("weir: flow %s interrupted by %s; the next run on %s resumes from epoch %d", flow.ID(), name, cfg.recoveryDir, resume)
	}
	return fmt.Sprintf("weir: flow %s interrupted by %s; the next run on %s resumes from the last committed epoch", flow.ID(), name, cfg.recoveryDir)
}

// panicTrace renders a panic's stack for a person: the frames of the program's own code
// first (where the panic is to be fixed), then the whole stack.
func panicTrace(stack []byte) string {
	lines := strings.Split(strings.TrimRight(string(stack), "\n"), "\n")
	var own []string
	for i := 1; i+1 < len(lines); i += 2 { // after the goroutine line: function, then "\tfile:line"
		fn, loc := strings.TrimPrefix(lines[i], "created by "), lines[i+1]
		if libraryFrame(fn) && !strings.Contains(loc, "_test.go:") {
			continue
		}
		own = append(own, fn, loc)
	}
	var b strings.Builder
	if len(own) > 0 {
		b.WriteString("\nthe panic, in the program's own code (innermost first):\n")
		for _, l := range own {
			b.WriteString("  " + l + "\n")
		}
	}
	b.WriteString("\nthe whole stack:\n" + strings.Join(lines, "\n") + "\n")
	return b.String()
}

// libraryFrame reports whether a stack frame's function belongs to Go's runtime or to
// weir's own packages rather than to the program (weir's examples count as programs, and
// so do frames in test files).
func libraryFrame(fn string) bool {
	if strings.HasPrefix(fn, "runtime") || strings.HasPrefix(fn, "panic(") || strings.HasPrefix(fn, "testing.") {
		return true
	}
	const mod = "github.com/weirflow/weir"
	rest, ok := strings.CutPrefix(fn, mod)
	if !ok {
		return false
	}
	if strings.HasPrefix(rest, ".") {
		return true // the root package
	}
	pkg, _, _ := strings.Cut(strings.TrimPrefix(rest, "/"), ".")
	switch top, _, _ := strings.Cut(pkg, "/"); top {
	case "internal", "op", "window", "run", "source", "sink", "recovery", "weirtest", "connectors":
		return true
	}
	return false
}

// commandLine is weir's flags on a flag set that a program may add its own flags to.
type commandLine struct {
	name   string
	fs     *flag.FlagSet
	flags  []*weirFlag
	parsed bool
	code   int  // the exit status of a parse that ends the program
	exit   bool // the parse ends the program (help, or a bad flag)
	// level is the level --log-level or WEIR_LOG_LEVEL gives, info without either; the
	// config holds it too (logLevel), where it beats LogLevel's.
	level slog.Level
	// graph is the format of the graph sub-command, which prints the flow rather than run
	// it; "" for a run.
	graph string
	// clusterLine is what the cluster flags say beyond config, read with it.
	clusterLine
	hostname func() (string, error) // the pod's name on Kubernetes: os.Hostname
	grace    time.Duration          // how long the launcher's processes have to stop before they are killed
}

// weirFlag is one of weir's flags, with its short and long names.
type weirFlag struct {
	short, long, arg string
	usage, env, def  string
	value            flag.Value
	apply            func(*config, flag.Value) // sets the config from the value
}

func newCommandLine(name string) *commandLine {
	cl := &commandLine{name: name, fs: flag.NewFlagSet(name, flag.ContinueOnError), hostname: os.Hostname, grace: defaultGrace}
	def := defaults()
	workers := intFlag(def.workers)
	interval := durationFlag(def.epochInterval)
	backup := durationFlag(def.backupInterval)
	recovery := stringFlag("")
	level := levelFlag(slog.LevelInfo)
	format := logFormatFlag(LogText)
	quiet := boolFlag(false)
	logEvery := durationFlag(def.logEvery)
	httpAddr := stringFlag("")
	partitions := intFlag(0)
	drop := boolFlag(false)
	processID := intFlag(0)
	var addresses addressesFlag
	processes := intFlag(0)
	var secret secretFileFlag
	tlsCert, tlsKey, tlsCA := stringFlag(""), stringFlag(""), stringFlag("")
	startup := durationFlag(def.startupTimeout)
	heartbeat := durationFlag(def.heartbeatTimeout)
	service := stringFlag("")
	replicas := intFlag(0)
	port := intFlag(defaultClusterPort)
	cl.flags = []*weirFlag{
		{short: "w", long: "workers-per-process", arg: "N", env: "WEIR_WORKERS_PER_PROCESS", def: "1",
			usage: "workers in this process", value: &workers,
			apply: func(c *config, v flag.Value) { c.workers = int(*v.(*intFlag)) }},
		{short: "s", long: "snapshot-interval", arg: "D", env: "WEIR_SNAPSHOT_INTERVAL", def: def.epochInterval.String(),
			usage: "how often epochs close and snapshots are taken: a duration (500ms) or seconds", value: &interval,
			apply: func(c *config, v flag.Value) { c.epochInterval = time.Duration(*v.(*durationFlag)) }},
		{short: "r", long: "recovery-directory", arg: "DIR", env: "WEIR_RECOVERY_DIRECTORY",
			usage: "snapshot to and resume from DIR, made by: weir recovery init DIR N, or by --recovery-partitions N", value: &recovery,
			apply: func(c *config, v flag.Value) { c.recoveryDir = string(*v.(*stringFlag)) }},
		{long: "recovery-partitions", arg: "N", env: "WEIR_RECOVERY_PARTITIONS",
			usage: "create the recovery directory with N partitions if it has none (a directory that has some must have N)", value: &partitions,
			apply: func(c *config, v flag.Value) { c.recoveryPartitions = int(*v.(*intFlag)) }},
		{long: "drop-removed-steps", env: "WEIR_DROP_REMOVED_STEPS",
			usage: "resume even though the recovery directory holds state of steps this dataflow no longer has, deleting that state", value: &drop,
			apply: func(c *config, v flag.Value) { c.dropRemovedSteps = bool(*v.(*boolFlag)) }},
		{short: "b", long: "backup-interval", arg: "D", env: "WEIR_BACKUP_INTERVAL", def: "0s",
			usage: "how long superseded snapshots are kept, so that a copy of the directory still resumes", value: &backup,
			apply: func(c *config, v flag.Value) { c.backupInterval = time.Duration(*v.(*durationFlag)) }},
		{long: "log-level", arg: "LEVEL", env: "WEIR_LOG_LEVEL", def: "info",
			usage: "the least level logged to stderr: debug (adds each snapshot written), info, warn or error", value: &level,
			apply: func(c *config, v flag.Value) { cl.level = slog.Level(*v.(*levelFlag)); c.logLevel = cl.level }},
		{long: "log-format", arg: "FORMAT", env: "WEIR_LOG_FORMAT", def: "text",
			usage: "the format of the logs on stderr: text (key=value) or json (one object a line)", value: &format,
			apply: func(c *config, v flag.Value) { c.logFormat = string(*v.(*logFormatFlag)) }},
		{short: "q", long: "quiet", env: "WEIR_QUIET",
			usage: "draw no progress line on a terminal (items, rate, share read and time left of files and slices)", value: &quiet,
			apply: func(c *config, v flag.Value) { c.quiet = bool(*v.(*boolFlag)) }},
		{long: "log-interval", arg: "D", env: "WEIR_LOG_INTERVAL", def: def.logEvery.String(),
			usage: "how often a summary of the run's progress is logged, 0 for never", value: &logEvery,
			apply: func(c *config, v flag.Value) { c.logEvery = time.Duration(*v.(*durationFlag)) }},
		{long: "http", arg: "ADDR", env: "WEIR_HTTP",
			usage: "serve Prometheus metrics (/metrics), the status API (/api/) and a live web view (/) at host:port, ':9090' for every interface", value: &httpAddr,
			apply: func(c *config, v flag.Value) { c.httpAddr = string(*v.(*stringFlag)) }},
		// A cluster. Each variable is WEIR_ and the long name, so that a deployment's
		// manifest can be checked against Flags.
		{short: "i", long: "process-id", arg: "N", env: "WEIR_PROCESS_ID", def: "0",
			usage: "this process's index in the cluster, from 0", value: &processID,
			apply: func(c *config, v flag.Value) { c.processID = int(*v.(*intFlag)); cl.placed = true }},
		{short: "a", long: "addresses", arg: "LIST", env: "WEIR_ADDRESSES",
			usage: "host:port of every process of the cluster, by process id, separated by ';', or @FILE with one per line", value: &addresses,
			apply: func(c *config, v flag.Value) { c.addresses = slices.Clone(*v.(*addressesFlag)); cl.placed = true }},
		{short: "p", long: "processes", arg: "N", env: "WEIR_PROCESSES",
			usage: "start N processes of this program as a cluster on this machine's free ports, and stop them all when one fails", value: &processes,
			apply: func(_ *config, v flag.Value) { cl.processes = int(*v.(*intFlag)) }},
		{long: "cluster-secret-file", arg: "FILE", env: "WEIR_CLUSTER_SECRET_FILE",
			usage: "a secret every process of the cluster must know, read from FILE (or the secret itself in " + clusterSecretEnv + ")", value: &secret,
			apply: func(c *config, v flag.Value) {
				c.clusterSecret = slices.Clone(v.(*secretFileFlag).secret)
				cl.secretSet = true
			}},
		{long: "tls-cert", arg: "FILE", env: "WEIR_TLS_CERT",
			usage: "this process's certificate (PEM) for TLS between the processes, with --tls-key and --tls-ca", value: &tlsCert,
			apply: func(_ *config, v flag.Value) { cl.tlsCert = string(*v.(*stringFlag)) }},
		{long: "tls-key", arg: "FILE", env: "WEIR_TLS_KEY",
			usage: "the private key (PEM) of --tls-cert", value: &tlsKey,
			apply: func(_ *config, v flag.Value) { cl.tlsKey = string(*v.(*stringFlag)) }},
		{long: "tls-ca", arg: "FILE", env: "WEIR_TLS_CA",
			usage: "the authority (PEM) that signed every process's certificate", value: &tlsCA,
			apply: func(_ *config, v flag.Value) { cl.tlsCA = string(*v.(*stringFlag)) }},
		{long: "startup-timeout", arg: "D", env: "WEIR_STARTUP_TIMEOUT", def: def.startupTimeout.String(),
			usage: "how long a process waits for the others of its cluster to start", value: &startup,
			apply: func(c *config, v flag.Value) { c.startupTimeout = time.Duration(*v.(*durationFlag)) }},
		{long: "heartbeat-timeout", arg: "D", env: "WEIR_HEARTBEAT_TIMEOUT", def: def.heartbeatTimeout.String(),
			usage: "how long a silent process is waited for before the cluster stops", value: &heartbeat,
			apply: func(c *config, v flag.Value) { c.heartbeatTimeout = time.Duration(*v.(*durationFlag)) }},
		{long: "statefulset-service", arg: "NAME", env: "WEIR_STATEFULSET_SERVICE",
			usage: "on Kubernetes, without -i and -a: the headless service of this pod's StatefulSet; the process id is the pod's ordinal", value: &service,
			apply: func(_ *config, v flag.Value) { cl.service = string(*v.(*stringFlag)) }},
		{long: "statefulset-replicas", arg: "N", env: "WEIR_STATEFULSET_REPLICAS",
			usage: "on Kubernetes: the StatefulSet's replica count, the number of processes", value: &replicas,
			apply: func(_ *config, v flag.Value) { cl.replicas = int(*v.(*intFlag)); cl.replicasSet = true }},
		{long: "cluster-port", arg: "PORT", env: "WEIR_CLUSTER_PORT", def: strconv.Itoa(defaultClusterPort),
			usage: "on Kubernetes: the port every pod listens on for the others", value: &port,
			apply: func(_ *config, v flag.Value) { cl.port = int(*v.(*intFlag)) }},
	}
	for _, f := range cl.flags {
		if f.short != "" {
			cl.fs.Var(f.value, f.short, f.usage)
		}
		cl.fs.Var(f.value, f.long, f.usage)
	}
	cl.fs.SetOutput(io.Discard) // errors and usage are printed once, by parse
	cl.fs.Usage = func() {}
	return cl
}

// parse parses args once and reports whether the program should exit, and with what
// status: 0 after printing the usage for --help, 2 after one line for a bad flag.
func (cl *commandLine) parse(args []string, stdout, stderr io.Writer) (code int, exit bool) {
	if cl.parsed {
		return cl.code, cl.exit
	}
	cl.parsed = true
	args, err := cl.subcommand(args)
	if err == nil {
		err = cl.fs.Parse(args)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		cl.usage(stdout)
		cl.code, cl.exit = 0, true
	case err != nil:
		cl.usageError(stderr, err)
		cl.code, cl.exit = 2, true
	default:
		if _, err := cl.config(nil); err != nil {
			cl.usageError(stderr, err)
			cl.code, cl.exit = 2, true
		}
	}
	return cl.code, cl.exit
}

func (cl *commandLine) usageError(w io.Writer, err error) {
	fmt.Fprintf(w, "%s: %v (see %s --help)\n", cl.name, err, cl.name)
}

// config applies opts to the defaults, then the environment, then the flags given.
func (cl *commandLine) config(opts []Option) (config, error) {
	cfg := newConfig(opts)
	cl.level = slog.LevelInfo
	cl.clusterLine = clusterLine{port: defaultClusterPort}
	set := map[string]bool{}
	cl.fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, f := range cl.flags {
		if (f.short != "" && set[f.short]) || set[f.long] {
			f.apply(&cfg, f.value) // a flag given beats its environment variable
			continue
		}
		v, ok := os.LookupEnv(f.env)
		if !ok {
			continue
		}
		if err := f.value.Set(v); err != nil {
			return cfg, fmt.Errorf("%s=%q: %v", f.env, v, err)
		}
		f.apply(&cfg, f.value)
	}
	return cfg, cl.finishCluster(&cfg)
}

// usage prints each of weir's flags once, with its argument, environment variable and
// default, then the program's own flags.
func (cl *commandLine) usage(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s [flags] [arguments]\n", cl.name)
	fmt.Fprintf(w, "       %s graph [--format mermaid|dot|json] [flags] [arguments]\n", cl.name)
	fmt.Fprintf(w, "         print the dataflow's planned graph (default mermaid) without running it\n")
	fmt.Fprintf(w, "\nweir flags (a flag beats its environment variable):\n")
	rows := [][2]string{}
	for _, f := range cl.flags {
		detail := f.usage + " (env " + f.env
		if f.def != "" {
			detail += ", default " + f.def
		}
		names := "    --" + f.long // aligned with the flags that have a short name
		if f.short != "" {
			names = "-" + f.short + ", --" + f.long
		}
		rows = append(rows, [2]string{strings.TrimRight(names+" "+f.arg, " "), detail + ")"})
	}
	rows = append(rows, [2]string{"-h, --help", "print this help and exit"})
	var own [][2]string
	cl.fs.VisitAll(func(fl *flag.Flag) {
		for _, f := range cl.flags {
			if (f.short != "" && fl.Name == f.short) || fl.Name == f.long {
				return
			}
		}
		arg, text := flag.UnquoteUsage(fl)
		if fl.DefValue != "" && fl.DefValue != "0" && fl.DefValue != "false" {
			text += " (default " + fl.DefValue + ")"
		}
		own = append(own, [2]string{strings.TrimSpace("--" + fl.Name + " " + arg), text})
	})
	width := 0
	for _, r := range append(rows, own...) {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], r[1])
	}
	if len(own) > 0 {
		fmt.Fprintf(w, "\n%s flags:\n", cl.name)
		for _, r := range own {
			fmt.Fprintf(w, "  %-*s  %s\n", width, r[0], r[1])
		}
	}
}

type intFlag int

func (i *intFlag) String() string { return strconv.Itoa(int(*i)) }

func (i *intFlag) Set(s string) error {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a whole number")
	}
	*i = intFlag(n)
	return nil
}

// boolFlag is a flag given without a value (--drop-removed-steps), or as its environment
// variable with one: 1, true, 0 or false.
type boolFlag bool

func (b *boolFlag) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolFlag) IsBoolFlag() bool { return true }

func (b *boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not true or false")
	}
	*b = boolFlag(v)
	return nil
}

type stringFlag string

func (s *stringFlag) String() string     { return string(*s) }
func (s *stringFlag) Set(v string) error { *s = stringFlag(v); return nil }

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

// levelFlag is a log level by name: debug, info, warn or error (any case).
type levelFlag slog.Level

func (l *levelFlag) String() string { return slog.Level(*l).String() }

func (l *levelFlag) Set(s string) error {
	var v slog.Level
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		v = slog.LevelDebug
	case "info":
		v = slog.LevelInfo
	case "warn", "warning":
		v = slog.LevelWarn
	case "error":
		v = slog.LevelError
	default:
		return fmt.Errorf("not a log level: debug, info, warn or error")
	}
	*l = levelFlag(v)
	return nil
}
