package run

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The command line of a cluster: the values of its flags, and what they make of a run's
// settings once every flag and variable is read (commandLine.finishCluster).

// clusterSecretEnv holds the cluster's secret itself, for a platform that hands secrets
// to programs in variables. It has no flag: a secret on the command line is in every
// process listing, so the flag takes a file (--cluster-secret-file).
const clusterSecretEnv = "WEIR_CLUSTER_SECRET"

// clusterLine is what the command line says about a cluster beyond a run's settings: how
// it was placed, what the launcher is to start, and the files and Kubernetes settings that
// become settings only when all of them are read.
type clusterLine struct {
	placed    bool // -i or -a was given, by flag or variable
	processes int  // -p: 0 when not given
	secretSet bool // --cluster-secret-file was given, by flag or variable

	tlsCert, tlsKey, tlsCA string

	service     string // --statefulset-service
	replicas    int    // --statefulset-replicas; 0 when not given
	replicasSet bool
	port        int // --cluster-port
}

// defaultClusterPort is the port each pod of a StatefulSet listens on for the others.
const defaultClusterPort = 9000

// addressesFlag is -a: host:port addresses separated by ';', as Bytewax's -a, or @FILE,
// a file of one address per line, where blank lines and # comments are skipped.
type addressesFlag []string

func (a *addressesFlag) String() string { return strings.Join(*a, ";") }

func (a *addressesFlag) Set(s string) error {
	var list []string
	if file, ok := strings.CutPrefix(strings.TrimSpace(s), "@"); ok {
		data, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("reading the addresses: %v", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			line, _, _ = strings.Cut(line, "#")
			if line = strings.TrimSpace(line); line != "" {
				list = append(list, line)
			}
		}
		if len(list) == 0 {
			return fmt.Errorf("%s lists no address", file)
		}
	} else {
		for i, addr := range strings.Split(strings.TrimSuffix(strings.TrimSpace(s), ";"), ";") {
			addr = strings.TrimSpace(addr)
			if addr == "" {
				return fmt.Errorf("address %d is empty", i)
			}
			list = append(list, addr)
		}
	}
	for i, addr := range list {
		if err := checkAddress(addr); err != nil {
			return fmt.Errorf("address %d %q: %v", i, addr, err)
		}
	}
	*a = list
	return nil
}

// secretFileFlag is --cluster-secret-file: the file is read when the flag is set, and the
// secret is its content without the trailing newline an editor adds. String gives the
// file's name, never the secret, so that no usage or error prints it.
type secretFileFlag struct {
	file   string
	secret []byte
}

func (f *secretFileFlag) String() string { return f.file }

func (f *secretFileFlag) Set(s string) error {
	data, err := os.ReadFile(s)
	if err != nil {
		return fmt.Errorf("reading the cluster secret: %v", err)
	}
	secret := trimNewline(data)
	if len(secret) == 0 {
		return fmt.Errorf("the cluster secret in %s is empty", s)
	}
	f.file, f.secret = s, secret
	return nil
}

// trimNewline drops one trailing line ending, "\n" or "\r\n": the one an editor or echo
// adds, which the other processes' copies of the secret may not have.
func trimNewline(b []byte) []byte {
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	return []byte(s)
}

// finishCluster completes cfg from the cluster flags once every flag and variable has
// been applied: the secret from its variable, the TLS config from its three files, the
// launcher's count and, on Kubernetes, the process id and addresses of the pod.
func (cl *commandLine) finishCluster(cfg *config) error {
	cc := &cl.clusterLine
	if v, ok := os.LookupEnv(clusterSecretEnv); ok && !cc.secretSet {
		if v = string(trimNewline([]byte(v))); v == "" {
			return fmt.Errorf("%s is set but empty: give the secret, or unset it for a cluster without one", clusterSecretEnv)
		}
		cfg.clusterSecret = []byte(v)
	}
	if cc.tlsCert != "" || cc.tlsKey != "" || cc.tlsCA != "" {
		t, err := loadTLS(cc.tlsCert, cc.tlsKey, cc.tlsCA)
		if err != nil {
			return err
		}
		cfg.clusterTLS = t
	}
	if os.Getenv(launchedEnv) != "" {
		cc.processes = 0 // a process the launcher started runs; it does not launch again
	}
	k8s := cc.service != "" || cc.replicasSet
	switch {
	case cc.processes < 0:
		return fmt.Errorf("-p (--processes, WEIR_PROCESSES) must be at least 1, not %d", cc.processes)
	case cc.processes > 1 && cc.placed:
		return fmt.Errorf("-p (--processes, WEIR_PROCESSES) starts its processes on this machine and gives each its -i and -a: leave out -i and -a (WEIR_PROCESS_ID, WEIR_ADDRESSES)")
	case cc.processes > 1 && k8s:
		return fmt.Errorf("-p (--processes, WEIR_PROCESSES) starts its processes on this machine: leave out --statefulset-service and --statefulset-replicas (WEIR_STATEFULSET_SERVICE, WEIR_STATEFULSET_REPLICAS), which place a pod of a StatefulSet")
	case k8s && !cc.placed:
		host, err := cl.hostname()
		if err != nil {
			return fmt.Errorf("reading the pod's hostname for --statefulset-service: %v", err)
		}
		id, addrs, err := statefulSetPlace(host, statefulSet{service: cc.service, replicas: cc.replicas, replicasSet: cc.replicasSet, port: cc.port})
		if err != nil {
			return err
		}
		cfg.processID, cfg.addresses = id, addrs
	}
	return nil
}

// statefulSet is what a pod of a Kubernetes StatefulSet is told of its cluster: the
// headless service that names its pods, their count and the port they listen on.
type statefulSet struct {
	service     string
	replicas    int
	replicasSet bool
	port        int
}

// statefulSetPlace returns the process id and the cluster's addresses of the pod with
// hostname host. A StatefulSet's pods are named <statefulset>-<ordinal>, the ordinals
// running from 0, and its headless service gives each the DNS name
// <statefulset>-<ordinal>.<service> in the pod's namespace; so the ordinal is the process
// id and every process's address is known without asking the Kubernetes API.
func statefulSetPlace(host string, s statefulSet) (int, []string, error) {
	switch {
	case s.service == "":
		return 0, nil, fmt.Errorf("--statefulset-replicas (WEIR_STATEFULSET_REPLICAS) is set but --statefulset-service (WEIR_STATEFULSET_SERVICE) is not: give the headless service's name too")
	case !s.replicasSet:
		return 0, nil, fmt.Errorf("--statefulset-service (WEIR_STATEFULSET_SERVICE) is set but --statefulset-replicas (WEIR_STATEFULSET_REPLICAS) is not: give the StatefulSet's replica count too")
	case s.replicas < 1:
		return 0, nil, fmt.Errorf("--statefulset-replicas (WEIR_STATEFULSET_REPLICAS) must be at least 1, not %d", s.replicas)
	case s.port < 1 || s.port > 65535:
		return 0, nil, fmt.Errorf("--cluster-port (WEIR_CLUSTER_PORT) must be from 1 to 65535, not %d", s.port)
	}
	// A pod's hostname is its name; a fully qualified one starts with it.
	name, _, _ := strings.Cut(host, ".")
	i := strings.LastIndexByte(name, '-')
	ordinal, err := strconv.Atoi(name[i+1:])
	if i <= 0 || err != nil || ordinal < 0 || name[i+1:] != strconv.Itoa(ordinal) {
		return 0, nil, fmt.Errorf("hostname %q does not end in -N, the ordinal of a StatefulSet's pod, which --statefulset-service (WEIR_STATEFULSET_SERVICE) takes for the process id: run in a StatefulSet's pod, or give -i and -a", host)
	}
	if ordinal >= s.replicas {
		return 0, nil, fmt.Errorf("pod %s has ordinal %d, not below the %d of --statefulset-replicas (WEIR_STATEFULSET_REPLICAS): the replica count must be the StatefulSet's", name, ordinal, s.replicas)
	}
	set := name[:i]
	addrs := make([]string, s.replicas)
	for k := range addrs {
		addrs[k] = fmt.Sprintf("%s-%d.%s:%d", set, k, s.service, s.port)
	}
	return ordinal, addrs, nil
}

// loadTLS builds the TLS config of a cluster's connections from this process's
// certificate and key and the authority that signed every process's certificate. Each
// process is both a server (to the processes that dial it) and a client (of those it
// dials), so the authority is both RootCAs and ClientCAs, and a client must present its
// certificate: a process without one signed by the authority cannot join.
func loadTLS(certFile, keyFile, caFile string) (*tls.Config, error) {
	var missing []string
	for _, f := range []struct{ name, file string }{{"--tls-cert", certFile}, {"--tls-key", keyFile}, {"--tls-ca", caFile}} {
		if f.file == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--tls-cert, --tls-key and --tls-ca (WEIR_TLS_CERT, WEIR_TLS_KEY, WEIR_TLS_CA) go together: %s missing", strings.Join(missing, " and "))
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %v", certFile, keyFile, err)
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--tls-ca %s holds no PEM certificate", caFile)
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS13,
	}, nil
}
