package run

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// Each invalid cluster setting is refused before the run starts, naming it.
func TestValidateCluster(t *testing.T) {
	two := Addresses("a:1", "b:2")
	tests := []struct {
		name    string
		opts    []Option
		wantErr string // "" for valid
	}{
		{name: "no cluster"},
		{name: "one address is a single process", opts: []Option{Addresses("localhost:9000")}},
		{name: "two", opts: []Option{two, ProcessID(1)}},
		{name: "ipv6", opts: []Option{Addresses("[::1]:9000", "[::1]:9001")}},
		{name: "secret and timeouts", opts: []Option{two, ClusterSecret([]byte("s")), StartupTimeout(time.Second), HeartbeatTimeout(time.Second)}},
		{name: "id past the addresses", opts: []Option{two, ProcessID(2)}, wantErr: "weir: process id 2 (-i, run.ProcessID) is not among the 2 addresses (-a, run.Addresses): ids run from 0 to 1"},
		{name: "negative id", opts: []Option{two, ProcessID(-1)}, wantErr: "weir: process id (-i, run.ProcessID) must not be negative, not -1"},
		{name: "id without addresses", opts: []Option{ProcessID(1)}, wantErr: "weir: process id 1 (-i, run.ProcessID) without addresses"},
		{name: "duplicate", opts: []Option{Addresses("a:1", "b:2", "a:1")}, wantErr: `weir: address "a:1" (-a, run.Addresses) is given twice, for processes 0 and 2`},
		{name: "no port", opts: []Option{Addresses("a:1", "b")}, wantErr: `weir: address 1 "b" (-a, run.Addresses): not host:port`},
		{name: "no host", opts: []Option{Addresses("a:1", ":2")}, wantErr: `weir: address 1 ":2" (-a, run.Addresses): no host`},
		{name: "port zero", opts: []Option{Addresses("a:0", "b:2")}, wantErr: `weir: address 0 "a:0" (-a, run.Addresses): port "0" is not a number from 1 to 65535`},
		{name: "port name", opts: []Option{Addresses("a:http", "b:2")}, wantErr: `port "http" is not a number`},
		{name: "port too big", opts: []Option{Addresses("a:65536", "b:2")}, wantErr: `port "65536" is not a number`},
		{name: "zero startup", opts: []Option{two, StartupTimeout(0)}, wantErr: "weir: startup timeout (--startup-timeout, run.StartupTimeout) must be positive, not 0s"},
		{name: "negative heartbeat", opts: []Option{two, HeartbeatTimeout(-time.Second)}, wantErr: "weir: heartbeat timeout (--heartbeat-timeout, run.HeartbeatTimeout) must be positive, not -1s"},
		{name: "tls without certificate", opts: []Option{two, ClusterTLS(&tls.Config{})}, wantErr: "weir: the cluster's TLS config (run.ClusterTLS) has no certificate"},
		{name: "tls with certificate", opts: []Option{two, ClusterTLS(&tls.Config{Certificates: []tls.Certificate{{}}})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := newConfig(tt.opts).validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("validate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("validate: %v, want an error with %q", err, tt.wantErr)
			}
		})
	}
}

// The options copy what they are given: a caller that reuses its slice does not change
// the run's settings.
func TestClusterOptionsCopy(t *testing.T) {
	addrs, secret := []string{"a:1", "b:2"}, []byte("secret")
	cfg := newConfig([]Option{Addresses(addrs...), ClusterSecret(secret), ProcessID(1)})
	addrs[0], secret[0] = "c:3", 'S'
	if !reflect.DeepEqual(cfg.addresses, []string{"a:1", "b:2"}) || string(cfg.clusterSecret) != "secret" || !cfg.cluster() {
		t.Errorf("config = %+v", cfg)
	}
	if newConfig([]Option{Addresses("a:1")}).cluster() {
		t.Error("a single address is a cluster")
	}
}

// The cluster flags and their variables, in every form, and each error as one line that
// names the flag or variable.
func TestClusterFlags(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	addrFile := write("addrs", "# the cluster\nhost-0:9000\n\n  host-1:9000  # the second\r\nhost-2:9000")
	emptyFile := write("none", "# nobody\n\n")
	badFile := write("bad", "host-0:9000\nhost-1\n")
	secretFile := write("secret", "s3cret\n")
	crlfSecret := write("crlf", "s3cret\r\n")
	emptySecret := write("empty", "\n")

	type want struct {
		id        int
		addrs     []string
		secret    string
		processes int
		startup   time.Duration
		heartbeat time.Duration
	}
	def := defaults()
	plain := want{startup: def.startupTimeout, heartbeat: def.heartbeatTimeout}
	with := func(f func(*want)) want { w := plain; f(&w); return w }
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		opts    []Option
		want    want
		wantErr string
	}{
		{name: "none", want: plain},
		{name: "short", args: []string{"-i", "1", "-a", "a:1;b:2"}, want: with(func(w *want) { w.id, w.addrs = 1, []string{"a:1", "b:2"} })},
		{name: "long", args: []string{"--process-id=2", "--addresses", " a:1 ; b:2;c:3; "}, want: with(func(w *want) { w.id, w.addrs = 2, []string{"a:1", "b:2", "c:3"} })},
		{name: "file", args: []string{"-a", "@" + addrFile}, want: with(func(w *want) { w.addrs = []string{"host-0:9000", "host-1:9000", "host-2:9000"} })},
		{name: "env", env: map[string]string{"WEIR_PROCESS_ID": "1", "WEIR_ADDRESSES": "a:1;b:2", "WEIR_STARTUP_TIMEOUT": "5", "WEIR_HEARTBEAT_TIMEOUT": "1500ms"},
			want: want{id: 1, addrs: []string{"a:1", "b:2"}, startup: 5 * time.Second, heartbeat: 1500 * time.Millisecond}},
		{name: "env file", env: map[string]string{"WEIR_ADDRESSES": "@" + addrFile}, want: with(func(w *want) { w.addrs = []string{"host-0:9000", "host-1:9000", "host-2:9000"} })},
		{name: "flag beats env", env: map[string]string{"WEIR_PROCESS_ID": "1", "WEIR_ADDRESSES": "a:1;b:2"}, args: []string{"-i", "0", "-a", "c:1;d:2", "--startup-timeout", "2s"},
			want: with(func(w *want) { w.addrs, w.startup = []string{"c:1", "d:2"}, 2*time.Second })},
		{name: "env beats options", env: map[string]string{"WEIR_ADDRESSES": "a:1;b:2"}, opts: []Option{Addresses("x:1", "y:2"), ProcessID(1), HeartbeatTimeout(time.Minute)},
			want: with(func(w *want) { w.id, w.addrs, w.heartbeat = 1, []string{"a:1", "b:2"}, time.Minute })},
		{name: "secret file", args: []string{"--cluster-secret-file", secretFile}, want: with(func(w *want) { w.secret = "s3cret" })},
		{name: "secret file crlf", env: map[string]string{"WEIR_CLUSTER_SECRET_FILE": crlfSecret}, want: with(func(w *want) { w.secret = "s3cret" })},
		{name: "secret env", env: map[string]string{"WEIR_CLUSTER_SECRET": "from env\n"}, want: with(func(w *want) { w.secret = "from env" })},
		{name: "secret file flag beats secret env", env: map[string]string{"WEIR_CLUSTER_SECRET": "from env"}, args: []string{"--cluster-secret-file", secretFile}, want: with(func(w *want) { w.secret = "s3cret" })},
		{name: "secret env beats option", env: map[string]string{"WEIR_CLUSTER_SECRET": "from env"}, opts: []Option{ClusterSecret([]byte("code"))}, want: with(func(w *want) { w.secret = "from env" })},
		{name: "processes", args: []string{"-p", "3"}, want: with(func(w *want) { w.processes = 3 })},
		{name: "processes env", env: map[string]string{"WEIR_PROCESSES": "2"}, want: with(func(w *want) { w.processes = 2 })},
		{name: "launched process does not launch", env: map[string]string{"WEIR_PROCESSES": "2", launchedEnv: "1"}, args: []string{"-i", "1", "-a", "a:1;b:2"},
			want: with(func(w *want) { w.id, w.addrs = 1, []string{"a:1", "b:2"} })},

		{name: "bad id", args: []string{"-i", "one"}, wantErr: `prog: invalid value "one" for flag -i: not a whole number (see prog --help)`},
		{name: "id past addresses", args: []string{"-i", "2", "-a", "a:1;b:2"}, wantErr: "prog: weir: process id 2 (-i, run.ProcessID) is not among the 2 addresses (-a, run.Addresses): ids run from 0 to 1 (see prog --help)"},
		{name: "id without addresses", env: map[string]string{"WEIR_PROCESS_ID": "3"}, wantErr: "prog: weir: process id 3 (-i, run.ProcessID) without addresses: give every process's address (-a, run.Addresses) (see prog --help)"},
		{name: "empty address", args: []string{"-a", "a:1;;b:2"}, wantErr: `prog: invalid value "a:1;;b:2" for flag -a: address 1 is empty (see prog --help)`},
		{name: "address without port", args: []string{"--addresses", "a:1;b"}, wantErr: `prog: invalid value "a:1;b" for flag -addresses: address 1 "b": not host:port (see prog --help)`},
		{name: "address env", env: map[string]string{"WEIR_ADDRESSES": "a:1;b:x"}, wantErr: `prog: WEIR_ADDRESSES="a:1;b:x": address 1 "b:x": port "x" is not a number from 1 to 65535 (see prog --help)`},
		{name: "duplicate address", args: []string{"-a", "a:1;a:1"}, wantErr: `prog: weir: address "a:1" (-a, run.Addresses) is given twice, for processes 0 and 1: each process needs its own (see prog --help)`},
		{name: "missing file", args: []string{"-a", "@" + filepath.Join(dir, "nope")}, wantErr: "for flag -a: reading the addresses: open " + filepath.Join(dir, "nope") + ": no such file or directory"},
		{name: "empty file", args: []string{"-a", "@" + emptyFile}, wantErr: "for flag -a: " + emptyFile + " lists no address"},
		{name: "bad line in file", args: []string{"-a", "@" + badFile}, wantErr: `for flag -a: address 1 "host-1": not host:port`},
		{name: "missing secret file", args: []string{"--cluster-secret-file", filepath.Join(dir, "nope")}, wantErr: "for flag -cluster-secret-file: reading the cluster secret: open "},
		{name: "empty secret file", env: map[string]string{"WEIR_CLUSTER_SECRET_FILE": emptySecret}, wantErr: `prog: WEIR_CLUSTER_SECRET_FILE="` + emptySecret + `": the cluster secret in ` + emptySecret + " is empty (see prog --help)"},
		{name: "empty secret env", env: map[string]string{"WEIR_CLUSTER_SECRET": ""}, wantErr: "prog: WEIR_CLUSTER_SECRET is set but empty: give the secret, or unset it for a cluster without one (see prog --help)"},
		{name: "zero startup timeout", args: []string{"--startup-timeout", "0"}, wantErr: "prog: weir: startup timeout (--startup-timeout, run.StartupTimeout) must be positive, not 0s (see prog --help)"},
		{name: "bad heartbeat timeout", env: map[string]string{"WEIR_HEARTBEAT_TIMEOUT": "soon"}, wantErr: `prog: WEIR_HEARTBEAT_TIMEOUT="soon": not a duration or a number of seconds (see prog --help)`},
		{name: "processes with addresses", args: []string{"-p", "2", "-a", "a:1;b:2"}, wantErr: "prog: -p (--processes, WEIR_PROCESSES) starts its processes on this machine and gives each its -i and -a: leave out -i and -a (WEIR_PROCESS_ID, WEIR_ADDRESSES) (see prog --help)"},
		{name: "processes with id env", env: map[string]string{"WEIR_PROCESS_ID": "0"}, args: []string{"-p", "2"}, wantErr: "-p (--processes, WEIR_PROCESSES) starts its processes on this machine and gives each its -i and -a"},
		{name: "processes with statefulset", env: map[string]string{"WEIR_STATEFULSET_SERVICE": "s", "WEIR_STATEFULSET_REPLICAS": "2"}, args: []string{"-p", "2"}, wantErr: "leave out --statefulset-service and --statefulset-replicas"},
		{name: "negative processes", args: []string{"-p", "-1"}, wantErr: "prog: -p (--processes, WEIR_PROCESSES) must be at least 1, not -1 (see prog --help)"},
		{name: "tls incomplete", args: []string{"--tls-cert", "c.pem"}, wantErr: "prog: --tls-cert, --tls-key and --tls-ca (WEIR_TLS_CERT, WEIR_TLS_KEY, WEIR_TLS_CA) go together: --tls-key and --tls-ca missing (see prog --help)"},
		{name: "tls incomplete env", env: map[string]string{"WEIR_TLS_KEY": "k.pem", "WEIR_TLS_CA": "ca.pem"}, wantErr: "go together: --tls-cert missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{launchedEnv, clusterSecretEnv} {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cl := newCommandLine("prog")
			var stdout, stderr bytes.Buffer
			code, exit := cl.parse(tt.args, &stdout, &stderr)
			var cfg config
			var err error
			if !exit {
				if cfg, err = cl.config(tt.opts); err == nil {
					err = cfg.validate()
				}
				if err != nil { // as main prints it
					cl.usageError(&stderr, err)
					code, exit = 2, true
				}
			}
			if tt.wantErr != "" {
				if !exit || code != 2 || !strings.Contains(stderr.String(), tt.wantErr) || strings.Count(stderr.String(), "\n") != 1 {
					t.Fatalf("exit %v %d, stderr %q; want status 2 and one line with %q", exit, code, stderr.String(), tt.wantErr)
				}
				return
			}
			if exit {
				t.Fatalf("exits with %d: %s", code, stderr.String())
			}
			got := want{id: cfg.processID, addrs: cfg.addresses, secret: string(cfg.clusterSecret), processes: cl.processes,
				startup: cfg.startupTimeout, heartbeat: cfg.heartbeatTimeout}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// The secret is never printed: not in the usage, not in an error about another flag.
func TestSecretNotPrinted(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("hunter2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cl := newCommandLine("prog")
	var stdout, stderr bytes.Buffer
	cl.parse([]string{"--cluster-secret-file", file, "-i", "5", "-a", "a:1;b:2"}, &stdout, &stderr)
	cfg, err := cl.config(nil)
	if err == nil {
		err = cfg.validate()
	}
	cl.usageError(&stderr, err)
	fs := cl.fs.Lookup("cluster-secret-file")
	if out := stdout.String() + stderr.String() + fs.Value.String() + fs.DefValue; strings.Contains(out, "hunter2") {
		t.Errorf("the secret is printed: %s", out)
	}
}

// testCA is a certificate authority made for a test, which signs certificates for
// 127.0.0.1 and localhost.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "weir test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns the PEM of a new certificate, good for a server and a client, and its key.
func (ca *testCA) issue(t *testing.T, serial int64) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "weir process"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: k})
}

// handshake runs a TLS handshake between a client and a server over a pipe and returns
// the server's error, or the client's.
func handshake(client, server *tls.Config) error {
	c, s := net.Pipe()
	defer c.Close()
	defer s.Close()
	errs := make(chan error, 1)
	go func() {
		srv := tls.Server(s, server)
		err := srv.Handshake()
		if err == nil {
			// The client's handshake ends before the server has checked its certificate
			// under TLS 1.3: a read makes the client learn of a refusal.
			_, err = srv.Write([]byte{1})
		}
		errs <- err
		s.Close()
	}()
	cc := client.Clone()
	cc.ServerName = "localhost"
	cli := tls.Client(c, cc)
	cerr := cli.Handshake()
	if cerr == nil {
		_, cerr = cli.Read(make([]byte, 1))
	}
	if serr := <-errs; serr != nil {
		return serr
	}
	return cerr
}

// --tls-cert, --tls-key and --tls-ca give a config with which processes whose
// certificates one authority signed connect, each checking the other's; a process with a
// certificate of another authority, or none, is refused.
func TestLoadTLS(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ca, other := newTestCA(t), newTestCA(t)
	c0, k0 := ca.issue(t, 2)
	c1, k1 := ca.issue(t, 3)
	cx, kx := other.issue(t, 4)
	caFile, otherCA := write("ca.pem", ca.pem), write("other-ca.pem", other.pem)
	p0, err := loadTLS(write("c0.pem", c0), write("k0.pem", k0), caFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(p0.Certificates) != 1 || p0.RootCAs == nil || p0.ClientCAs == nil || p0.ClientAuth != tls.RequireAndVerifyClientCert || p0.MinVersion != tls.VersionTLS13 {
		t.Errorf("config: %d certificates, roots %v, client authorities %v, client auth %v, minimum version %#x",
			len(p0.Certificates), p0.RootCAs != nil, p0.ClientCAs != nil, p0.ClientAuth, p0.MinVersion)
	}
	// Through the flags, as Main reads them.
	cl := newCommandLine("prog")
	var out bytes.Buffer
	if _, exit := cl.parse([]string{"--tls-cert", write("c1.pem", c1), "--tls-key", write("k1.pem", k1), "--tls-ca", caFile, "-a", "a:1;b:2"}, &out, &out); exit {
		t.Fatal(out.String())
	}
	cfg, err := cl.config(nil)
	if err != nil || cfg.validate() != nil {
		t.Fatalf("config: %v %v", err, cfg.validate())
	}
	p1 := cfg.clusterTLS
	if err := handshake(p1, p0); err != nil {
		t.Errorf("two processes of one authority: %v", err)
	}
	if err := handshake(p0, p1); err != nil {
		t.Errorf("two processes of one authority, the other way: %v", err)
	}
	px, err := loadTLS(write("cx.pem", cx), write("kx.pem", kx), otherCA)
	if err != nil {
		t.Fatal(err)
	}
	if err := handshake(px, p0); err == nil {
		t.Error("a client of another authority is let in")
	}
	if err := handshake(p0, px); err == nil {
		t.Error("a server of another authority is trusted")
	}
	noCert := p0.Clone()
	noCert.Certificates = nil
	if err := handshake(noCert, p0); err == nil {
		t.Error("a client without a certificate is let in")
	}

	for _, tt := range []struct {
		name, cert, key, ca, wantErr string
	}{
		{"missing key", "c0.pem", "", "ca.pem", "--tls-cert, --tls-key and --tls-ca (WEIR_TLS_CERT, WEIR_TLS_KEY, WEIR_TLS_CA) go together: --tls-key missing"},
		{"key of another certificate", "c0.pem", "k1.pem", "ca.pem", "--tls-cert " + filepath.Join(dir, "c0.pem") + " and --tls-key " + filepath.Join(dir, "k1.pem") + ": tls: private key does not match public key"},
		{"no such certificate", "nope.pem", "k0.pem", "ca.pem", "no such file"},
		{"no such authority", "c0.pem", "k0.pem", "nope.pem", "--tls-ca: open " + filepath.Join(dir, "nope.pem")},
		{"authority not PEM", "c0.pem", "k0.pem", "k0.pem", "--tls-ca " + filepath.Join(dir, "k0.pem") + " holds no PEM certificate"},
	} {
		path := func(s string) string {
			if s == "" {
				return ""
			}
			return filepath.Join(dir, s)
		}
		if _, err := loadTLS(path(tt.cert), path(tt.key), path(tt.ca)); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: %v, want an error with %q", tt.name, err, tt.wantErr)
		}
	}
}

// A pod of a StatefulSet takes its process id from its hostname's ordinal and every
// process's address from the headless service's DNS names.
func TestStatefulSetPlace(t *testing.T) {
	sts := statefulSet{service: "weir", replicas: 3, replicasSet: true, port: 9000}
	with := func(f func(*statefulSet)) statefulSet { s := sts; f(&s); return s }
	three := []string{"wordcount-0.weir:9000", "wordcount-1.weir:9000", "wordcount-2.weir:9000"}
	tests := []struct {
		name    string
		host    string
		set     statefulSet
		id      int
		addrs   []string
		wantErr string
	}{
		{name: "first", host: "wordcount-0", set: sts, id: 0, addrs: three},
		{name: "last", host: "wordcount-2", set: sts, id: 2, addrs: three},
		{name: "fully qualified", host: "wordcount-1.weir.default.svc.cluster.local", set: sts, id: 1, addrs: three},
		{name: "dashes in the name", host: "my-word-count-10", set: with(func(s *statefulSet) { s.replicas = 11 }), id: 10},
		{name: "one replica", host: "w-0", set: with(func(s *statefulSet) { s.replicas, s.port = 1, 7000 }), id: 0, addrs: []string{"w-0.weir:7000"}},
		{name: "other port", host: "w-1", set: with(func(s *statefulSet) { s.replicas, s.port, s.service = 2, 12345, "svc" }), id: 1, addrs: []string{"w-0.svc:12345", "w-1.svc:12345"}},
		{name: "no ordinal", host: "wordcount", set: sts, wantErr: `hostname "wordcount" does not end in -N, the ordinal of a StatefulSet's pod, which --statefulset-service (WEIR_STATEFULSET_SERVICE) takes for the process id: run in a StatefulSet's pod, or give -i and -a`},
		{name: "not a number", host: "wordcount-abc", set: sts, wantErr: `hostname "wordcount-abc" does not end in -N`},
		{name: "a deployment's pod", host: "wordcount-7d9f8b6c4-x2x9z", set: sts, wantErr: "does not end in -N"},
		{name: "no name", host: "-1", set: sts, wantErr: `hostname "-1" does not end in -N`},
		{name: "leading zero", host: "w-01", set: sts, wantErr: "does not end in -N"},
		{name: "trailing dash", host: "w-", set: sts, wantErr: "does not end in -N"},
		{name: "ordinal past replicas", host: "wordcount-3", set: sts, wantErr: "pod wordcount-3 has ordinal 3, not below the 3 of --statefulset-replicas (WEIR_STATEFULSET_REPLICAS): the replica count must be the StatefulSet's"},
		{name: "no service", host: "w-0", set: with(func(s *statefulSet) { s.service = "" }), wantErr: "--statefulset-replicas (WEIR_STATEFULSET_REPLICAS) is set but --statefulset-service (WEIR_STATEFULSET_SERVICE) is not"},
		{name: "no replicas", host: "w-0", set: with(func(s *statefulSet) { s.replicas, s.replicasSet = 0, false }), wantErr: "--statefulset-service (WEIR_STATEFULSET_SERVICE) is set but --statefulset-replicas (WEIR_STATEFULSET_REPLICAS) is not"},
		{name: "zero replicas", host: "w-0", set: with(func(s *statefulSet) { s.replicas = 0 }), wantErr: "--statefulset-replicas (WEIR_STATEFULSET_REPLICAS) must be at least 1, not 0"},
		{name: "bad port", host: "w-0", set: with(func(s *statefulSet) { s.port = 70000 }), wantErr: "--cluster-port (WEIR_CLUSTER_PORT) must be from 1 to 65535, not 70000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, addrs, err := statefulSetPlace(tt.host, tt.set)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if id != tt.id || (tt.addrs != nil && !reflect.DeepEqual(addrs, tt.addrs)) || len(addrs) != tt.set.replicas {
				t.Errorf("id %d, addresses %q; want %d, %q", id, addrs, tt.id, tt.addrs)
			}
		})
	}
}

// Main places a pod from the StatefulSet's variables (or flags) when it has no -i and no
// -a; -i or -a, given, win.
func TestStatefulSetFlags(t *testing.T) {
	k8s := map[string]string{"WEIR_STATEFULSET_SERVICE": "weir", "WEIR_STATEFULSET_REPLICAS": "2"}
	tests := []struct {
		name    string
		host    string
		env     map[string]string
		args    []string
		id      int
		addrs   string
		wantErr string
	}{
		{name: "env", host: "wc-1", env: k8s, id: 1, addrs: "wc-0.weir:9000;wc-1.weir:9000"},
		{name: "port env", host: "wc-0", env: map[string]string{"WEIR_STATEFULSET_SERVICE": "weir", "WEIR_STATEFULSET_REPLICAS": "2", "WEIR_CLUSTER_PORT": "9100"}, addrs: "wc-0.weir:9100;wc-1.weir:9100"},
		{name: "flags", host: "wc-0", args: []string{"--statefulset-service", "s", "--statefulset-replicas", "3", "--cluster-port", "1"}, addrs: "wc-0.s:1;wc-1.s:1;wc-2.s:1"},
		{name: "flag beats env", host: "wc-2", env: k8s, args: []string{"--statefulset-replicas=3"}, id: 2, addrs: "wc-0.weir:9000;wc-1.weir:9000;wc-2.weir:9000"},
		{name: "addresses win", host: "wc-1", env: k8s, args: []string{"-a", "a:1;b:2;c:3", "-i", "2"}, id: 2, addrs: "a:1;b:2;c:3"},
		{name: "process id wins", host: "wc-1", env: k8s, args: []string{"-i", "0"}, id: 0, addrs: ""},
		{name: "not a pod", host: "laptop", env: k8s, wantErr: `prog: hostname "laptop" does not end in -N`},
		{name: "only the service", host: "wc-0", env: map[string]string{"WEIR_STATEFULSET_SERVICE": "weir"}, wantErr: "--statefulset-service (WEIR_STATEFULSET_SERVICE) is set but --statefulset-replicas"},
		{name: "bad replicas", host: "wc-0", env: map[string]string{"WEIR_STATEFULSET_SERVICE": "weir", "WEIR_STATEFULSET_REPLICAS": "two"}, wantErr: `prog: WEIR_STATEFULSET_REPLICAS="two": not a whole number (see prog --help)`},
		{name: "bad port", host: "wc-0", env: k8s, args: []string{"--cluster-port", "0"}, wantErr: "--cluster-port (WEIR_CLUSTER_PORT) must be from 1 to 65535, not 0"},
		{name: "no hostname", host: "", env: k8s, wantErr: "prog: reading the pod's hostname for --statefulset-service: no hostname (see prog --help)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			cl := newCommandLine("prog")
			cl.hostname = func() (string, error) {
				if tt.host == "" {
					return "", errors.New("no hostname")
				}
				return tt.host, nil
			}
			var stdout, stderr bytes.Buffer
			code, exit := cl.parse(tt.args, &stdout, &stderr)
			if tt.wantErr != "" {
				if !exit || code != 2 || !strings.Contains(stderr.String(), tt.wantErr) {
					t.Fatalf("exit %v %d, stderr %q; want status 2 and %q", exit, code, stderr.String(), tt.wantErr)
				}
				return
			}
			if exit {
				t.Fatalf("exits %d: %s", code, stderr.String())
			}
			cfg, err := cl.config(nil)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.processID != tt.id || strings.Join(cfg.addresses, ";") != tt.addrs {
				t.Errorf("process %d of %q, want %d of %q", cfg.processID, strings.Join(cfg.addresses, ";"), tt.id, tt.addrs)
			}
		})
	}
}
