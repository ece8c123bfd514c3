package run

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// config is a run's settings. It is not exported so that no caller can hand Run a struct
// whose zero fields would silently mean something other than the defaults (an epoch
// interval of 0 closes an epoch after every read, not every 10s): a run starts from
// defaults and only the options given change it; run.Main fills it from its flags.
type config struct {
	workers            int
	epochInterval      time.Duration
	logger             *slog.Logger         // nil: slog.Default()
	logLevel           slog.Leveler         // nil: info
	logFormat          string               // "": text
	quiet              bool                 // no progress line
	progress           *progressLine        // run.Main's progress line on a terminal; nil: none
	tracerProvider     trace.TracerProvider // nil: no spans
	logEvery           time.Duration
	recoveryDir        string // "": no recovery
	recoveryPartitions int
	dropRemovedSteps   bool
	backupInterval     time.Duration
	httpAddr           string // "": no monitoring server

	// A cluster's settings; a run is one of a cluster when it has more than one address.
	processID        int
	addresses        []string
	clusterSecret    []byte
	clusterTLS       *tls.Config
	startupTimeout   time.Duration
	heartbeatTimeout time.Duration
}

// Defaults of the settings that are not their type's zero value.
const (
	defaultWorkers       = 1
	defaultEpochInterval = 10 * time.Second
	defaultLogEvery      = 30 * time.Second
	// A process waits this long for the others of its cluster, which start at different
	// times (a Kubernetes pod is scheduled when a node has room).
	defaultStartupTimeout = 60 * time.Second
	// A peer silent this long is taken for lost and stops the cluster: long enough for a
	// garbage collection or a busy node, short enough that a dead process does not leave
	// the others waiting long.
	defaultHeartbeatTimeout = 10 * time.Second
)

// defaults returns the settings of a run given no option.
func defaults() config {
	return config{workers: defaultWorkers, epochInterval: defaultEpochInterval, logEvery: defaultLogEvery,
		startupTimeout: defaultStartupTimeout, heartbeatTimeout: defaultHeartbeatTimeout}
}

// newConfig applies opts, in order, to the defaults.
func newConfig(opts []Option) config {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	return cfg
}

// validate reports the first invalid setting, naming it.
func (c config) validate() error {
	if c.workers < 1 {
		return fmt.Errorf("weir: workers must be at least 1, not %d", c.workers)
	}
	if c.recoveryPartitions < 0 {
		return fmt.Errorf("weir: recovery partitions must not be negative, not %d", c.recoveryPartitions)
	}
	if c.backupInterval < 0 {
		return fmt.Errorf("weir: backup interval must not be negative, not %v", c.backupInterval)
	}
	if c.epochInterval < 0 {
		return fmt.Errorf("weir: epoch interval must not be negative, not %v", c.epochInterval)
	}
	if c.logEvery < 0 {
		return fmt.Errorf("weir: log interval must not be negative, not %v", c.logEvery)
	}
	if err := checkLogFormat(c.logFormat); err != nil {
		return err
	}
	if c.httpAddr != "" {
		if _, port, err := net.SplitHostPort(c.httpAddr); err != nil {
			return fmt.Errorf("weir: HTTP address %q (--http, run.HTTP) is not host:port (:9090 serves every interface)", c.httpAddr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("weir: HTTP address %q (--http, run.HTTP): port %q is not a number from 0 to 65535", c.httpAddr, port)
		}
	}
	return c.validateCluster()
}

// cluster reports whether the run is one process of several.
func (c config) cluster() bool { return len(c.addresses) > 1 }

// validateCluster reports the first invalid cluster setting, naming it. The checks that
// need no peer are made here, before anything listens, so that a typo fails the one
// process that has it at once rather than every process at the end of the startup timeout.
func (c config) validateCluster() error {
	if c.processID < 0 {
		return fmt.Errorf("weir: process id (-i, run.ProcessID) must not be negative, not %d", c.processID)
	}
	if len(c.addresses) == 0 && c.processID > 0 {
		return fmt.Errorf("weir: process id %d (-i, run.ProcessID) without addresses: give every process's address (-a, run.Addresses)", c.processID)
	}
	if len(c.addresses) > 0 && c.processID >= len(c.addresses) {
		return fmt.Errorf("weir: process id %d (-i, run.ProcessID) is not among the %d addresses (-a, run.Addresses): ids run from 0 to %d", c.processID, len(c.addresses), len(c.addresses)-1)
	}
	seen := make(map[string]int, len(c.addresses))
	for i, a := range c.addresses {
		if err := checkAddress(a); err != nil {
			return fmt.Errorf("weir: address %d %q (-a, run.Addresses): %w", i, a, err)
		}
		if j, dup := seen[a]; dup {
			return fmt.Errorf("weir: address %q (-a, run.Addresses) is given twice, for processes %d and %d: each process needs its own", a, j, i)
		}
		seen[a] = i
	}
	if c.startupTimeout <= 0 {
		return fmt.Errorf("weir: startup timeout (--startup-timeout, run.StartupTimeout) must be positive, not %v", c.startupTimeout)
	}
	if c.heartbeatTimeout <= 0 {
		return fmt.Errorf("weir: heartbeat timeout (--heartbeat-timeout, run.HeartbeatTimeout) must be positive, not %v", c.heartbeatTimeout)
	}
	if t := c.clusterTLS; t != nil && len(t.Certificates) == 0 && t.GetCertificate == nil {
		return fmt.Errorf("weir: the cluster's TLS config (run.ClusterTLS) has no certificate: each process proves itself to the others with one")
	}
	return nil
}

// checkAddress reports why a is not a host:port another process can connect to.
func checkAddress(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("not host:port")
	}
	if host == "" {
		return fmt.Errorf("no host: the other processes connect to it")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// Option changes one setting of a run. Options apply in order, so a later one overrides
// an earlier one of the same setting; an invalid value makes Run (and Main) fail with an
// error naming the setting, before anything runs.
type Option func(*config)

// Workers sets the number of workers in this process, overriding the default of 1. It must
// be at least 1.
func Workers(n int) Option { return func(c *config) { c.workers = n } }

// EpochInterval sets how often inputs close an epoch, overriding the default of 10s.
// Snapshots are taken at every epoch close. Zero, given explicitly, closes an epoch after
// every round of reads (tests use it so that where a run stops depends on its input, not
// on time); a negative interval is an error.
func EpochInterval(d time.Duration) Option { return func(c *config) { c.epochInterval = d } }

// Logger sets the logger for the run's structured logs, overriding the default of
// slog.Default() (run.Main's default is text on stderr at --log-level; see also LogLevel
// and LogFormat). A nil logger keeps the default.
func Logger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// LogEvery sets how often the run logs a summary of its progress at info level (items
// read and written, their rates, the current and the last committed epoch), overriding
// the default of 30s. Zero logs none; the start and the end of the run are logged anyway.
// A negative interval is an error.
func LogEvery(d time.Duration) Option { return func(c *config) { c.logEvery = d } }

// Recovery makes the run snapshot to, and resume from, the recovery directory dir (made by
// recovery.Init, or by the run with RecoveryPartitions), overriding the default of no
// recovery; an empty dir keeps that default. The program must import package recovery,
// which holds the store (else the run fails with ErrNoRecoveryStore):
//
//	import _ "github.com/weirflow/weir/recovery"
func Recovery(dir string) Option { return func(c *config) { c.recoveryDir = dir } }

// RecoveryPartitions makes the run create its recovery directory with n partitions when
// the directory holds none or does not exist, overriding the default of 0, which refuses
// such a directory (recovery.ErrNoPartitions); a directory that has partitions must have
// n. The count is fixed for the directory's life; the worker count can change between
// runs. Without Recovery it does nothing. A negative n is an error.
func RecoveryPartitions(n int) Option { return func(c *config) { c.recoveryPartitions = n } }

// DropRemovedSteps lets the run resume from a recovery directory that holds state of steps
// the dataflow no longer has, deleting that state when the run starts and logging which
// steps it was, overriding the default of refusing the run with a
// *recovery.RemovedStepError. Like Flink's allowNonRestoredState, it is for a dataflow
// that dropped or renamed a step on purpose: a renamed step starts afresh. Without
// Recovery it does nothing.
func DropRemovedSteps() Option { return func(c *config) { c.dropRemovedSteps = true } }

// BackupInterval sets how long superseded snapshots are kept in the recovery directory, so
// that a copy of the directory taken within it still resumes, overriding the default of 0
// (collect them at once). A negative interval is an error.
func BackupInterval(d time.Duration) Option { return func(c *config) { c.backupInterval = d } }

// HTTP makes the run serve its figures over HTTP at addr (host:port; ":9090" listens on
// every interface, port 0 on a free port), overriding the default of no server: Prometheus
// metrics at /metrics (docs/METRICS.md lists them), the status and dataflow API under
// /api/, and a live web view at /. The server starts before the run, logs its address,
// and stops after the run. Each process of a cluster serves its own workers' figures;
// the processes of a local cluster (-p N) serve the given port plus their process id. An
// empty addr keeps the default.
func HTTP(addr string) Option { return func(c *config) { c.httpAddr = addr } }

// ProcessID sets this process's index in its cluster, from 0, overriding the default of 0.
// It must be less than the number of Addresses; without them it must be 0.
func ProcessID(i int) Option { return func(c *config) { c.processID = i } }

// Addresses sets the host:port of every process of the cluster, by process id, overriding
// the default of none (a run of this process alone). With more than one address the run
// is one process of a cluster: it listens on its own address (ProcessID's) and connects to
// every other, and all run the same flow with the same Workers each. A single address is a
// run of this process alone. Each address must be host:port, once.
func Addresses(addrs ...string) Option {
	return func(c *config) { c.addresses = append([]string(nil), addrs...) }
}

// ClusterSecret sets a secret that every process of the cluster must know, overriding the
// default of none (any process that speaks the protocol and runs the same flow may join).
// Each process proves to the others that it knows the secret, by a challenge and an HMAC,
// without sending it. An empty secret keeps the default. A run of one process has no use
// for it.
func ClusterSecret(secret []byte) Option {
	return func(c *config) { c.clusterSecret = append([]byte(nil), secret...) }
}

// ClusterTLS secures the connections between the cluster's processes with cfg,
// overriding the default of plain TCP. cfg must hold this process's certificate and the
// pool of the authority that signed every process's certificate, as RootCAs and
// ClientCAs, which each side checks (run.Main builds it from --tls-cert, --tls-key and
// --tls-ca). A nil cfg keeps the default. A run of one process has no use for it.
func ClusterTLS(cfg *tls.Config) Option { return func(c *config) { c.clusterTLS = cfg } }

// StartupTimeout bounds how long a process of a cluster waits for the others to start
// and join, overriding the default of 60s; it logs whom it is waiting for meanwhile. It
// must be positive.
func StartupTimeout(d time.Duration) Option { return func(c *config) { c.startupTimeout = d } }

// HeartbeatTimeout sets how long a process of a cluster waits for a word from a peer
// before it takes the peer for lost and stops, overriding the default of 10s. A lost
// process stops the whole cluster within about this long (fail-stop: restart all the
// processes to resume from the last epoch they committed). It must be positive.
func HeartbeatTimeout(d time.Duration) Option { return func(c *config) { c.heartbeatTimeout = d } }
