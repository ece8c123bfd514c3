package comm

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A peer that fails a check is refused, and both sides get a *HandshakeError naming the
// check: the side that refused, and the side refused (or both, when both checks fail).
func TestHandshakeRefused(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(c *ClusterConfig) // of process 1
		want   error
		detail string
	}{
		{"dataflow", func(c *ClusterConfig) { c.Fingerprint = "flow-2" }, ErrDataflow, "dataflow differs: process 0 runs flow-1 127.0…, process 1 runs flow-2"},
		{"process count", func(c *ClusterConfig) { c.Addresses = append(c.Addresses, "127.0.0.1:1") }, ErrProcesses, "process count differs: process 0 has 2, process 1 has 3"},
		{"workers", func(c *ClusterConfig) { c.Workers = 3 }, ErrWorkers, "workers per process differ: process 0 has 2, process 1 has 3"},
		{"version", func(c *ClusterConfig) { c.version = 2 }, ErrVersion, "a peer speaks protocol version 2, process 0 speaks 1"},
		{"secret differs", func(c *ClusterConfig) { c.Secret = []byte("other") }, ErrSecret, "secret does not match"},
		{"secret missing", func(c *ClusterConfig) { c.Secret = nil }, ErrSecret, "secret does not match: process 0 has a secret, process 1 has none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lns, addrs := listeners(t, 2)
			cfgs := make([]ClusterConfig, 2)
			for p := range cfgs {
				cfgs[p] = testConfig(p, addrs, 2)
				cfgs[p].Listener = lns[p]
				cfgs[p].Secret = []byte("secret")
			}
			tt.edit(&cfgs[1])
			start := time.Now()
			meshes, errs := joinAll(context.Background(), cfgs)
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("refused after %v", d)
			}
			seen := false
			for p, err := range errs {
				if meshes[p] != nil {
					t.Errorf("process %d joined", p)
				}
				var he *HandshakeError
				if !errors.As(err, &he) || !errors.Is(err, tt.want) || he.Check == "" {
					t.Fatalf("process %d: %v, want a HandshakeError of %v", p, err, tt.want)
				}
				seen = seen || strings.Contains(err.Error(), tt.detail)
				t.Logf("process %d: %v", p, err)
			}
			if !seen {
				t.Errorf("neither side says %q", tt.detail)
			}
		})
	}
}

// Two processes with one id: the second to arrive is refused, and the process it
// dialed stops too, naming the duplicate.
func TestHandshakeDuplicateID(t *testing.T) {
	lns, addrs := listeners(t, 4)
	addrs = addrs[:3] // process 2 never starts: process 0 keeps waiting
	cfgs := make([]ClusterConfig, 3)
	for i, p := range []int{0, 1, 1} {
		cfgs[i] = testConfig(p, addrs, 1)
		cfgs[i].Listener = lns[i]
		cfgs[i].StartupTimeout = 5 * time.Second
	}
	cfgs[2].Listener = lns[3]
	_, errs := joinAll(context.Background(), cfgs)
	local, remote := 0, 0
	for i, err := range errs {
		var he *HandshakeError
		if errors.As(err, &he) && errors.Is(err, ErrProcessID) && strings.Contains(err.Error(), "process id 1 already joined") {
			if he.Remote {
				remote++
			} else {
				local++
			}
		}
		t.Logf("%d: %v", i, err)
	}
	if local != 1 || remote != 1 {
		t.Errorf("%d refusals by process 0 and %d seen by a process 1, want 1 and 1: %v", local, remote, errs)
	}
}

// Connections that do not speak the handshake are dropped, and the cluster forms.
func TestJoinDropsGarbage(t *testing.T) {
	lns, addrs := listeners(t, 2)
	cfgs := []ClusterConfig{testConfig(0, addrs, 1), testConfig(1, addrs, 1)}
	cfgs[0].Listener = lns[0]
	cfgs[1].Listener = lns[1]
	var junk []net.Conn
	defer func() {
		for _, c := range junk {
			c.Close()
		}
	}()
	random := make([]byte, 4096)
	rand.Read(random)
	half := (&hello{version: FrameVersion, procs: 2, workers: 1, fingerprint: cfgs[0].Fingerprint}).append(nil)
	half = half[:len(half)/2]
	for _, b := range [][]byte{random, half, []byte("GET / HTTP/1.1\r\nHost: weir\r\n\r\n"), []byte(helloMagic + "\x01\xff\xff")} {
		c, err := net.Dial("tcp", addrs[0])
		if err != nil {
			t.Fatal(err)
		}
		c.Write(b)
		junk = append(junk, c)
	}
	done := make(chan []error)
	var m0 *TCP
	go func() {
		meshes, errs := joinAll(context.Background(), cfgs[:1])
		m0 = meshes[0]
		done <- errs
	}()
	time.Sleep(100 * time.Millisecond) // the junk is read first
	m1, err := Join(context.Background(), cfgs[1])
	if err != nil {
		t.Fatal(err)
	}
	errs := <-done
	if errs[0] != nil {
		t.Fatal(errs[0])
	}
	for i, c := range junk { // each was closed, none answered with a frame
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b, err := io.ReadAll(c)
		if err != nil && !errors.Is(err, syscall.ECONNRESET) { // closed with its junk unread
			t.Errorf("junk %d: %v", i, err)
		}
		if len(b) > 0 && !bytes.HasPrefix(b, []byte(helloMagic)) {
			t.Errorf("junk %d got %q", i, b)
		}
	}
	leaveAll([]*TCP{m0, m1})
}

// A process that starts a second late is waited for; one that never starts is named when
// the startup timeout ends Join.
func TestJoinStartup(t *testing.T) {
	t.Run("late", func(t *testing.T) {
		lns, addrs := listeners(t, 2)
		lns[0].Close() // process 0 listens only when it starts
		cfgs := []ClusterConfig{testConfig(0, addrs, 1), testConfig(1, addrs, 1)}
		cfgs[1].Listener = lns[1]
		var wg sync.WaitGroup
		meshes := make([]*TCP, 2)
		errs := make([]error, 2)
		wg.Go(func() { meshes[1], errs[1] = Join(context.Background(), cfgs[1]) })
		wg.Go(func() {
			time.Sleep(time.Second)
			meshes[0], errs[0] = Join(context.Background(), cfgs[0])
		})
		wg.Wait()
		for p, err := range errs {
			if err != nil {
				t.Fatalf("process %d: %v", p, err)
			}
		}
		leaveAll(meshes)
	})
	t.Run("timeout", func(t *testing.T) {
		defer func(d time.Duration) { waitLogEvery = d }(waitLogEvery)
		waitLogEvery = 200 * time.Millisecond
		lns, addrs := listeners(t, 3)
		lns[2].Close()
		cfgs := []ClusterConfig{testConfig(0, addrs, 1), testConfig(1, addrs, 1)}
		var logs bytes.Buffer
		var mu sync.Mutex
		for p := range cfgs {
			cfgs[p].Listener = lns[p]
			cfgs[p].StartupTimeout = 700 * time.Millisecond
			cfgs[p].Logger = slog.New(slog.NewTextHandler(&lockedWriter{&mu, &logs}, nil))
		}
		start := time.Now()
		_, errs := joinAll(context.Background(), cfgs)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("timed out after %v", d)
		}
		for p, err := range errs {
			// Its own timeout, or the other's, which stops it first.
			var se *StartupError
			if !(errors.As(err, &se) && len(se.Missing) == 1 && se.Missing[0] == 2 || errors.Is(err, ErrPeerStopped)) ||
				!strings.Contains(err.Error(), "startup timeout") || !strings.Contains(err.Error(), "process 2 ("+addrs[2]) {
				t.Errorf("process %d: %v, want a startup timeout naming process 2", p, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		want := fmt.Sprintf(`msg="weir: cluster: waiting for processes" process=0 missing=[2] addresses=[%s]`, addrs[2])
		if !strings.Contains(logs.String(), want) {
			t.Errorf("no %s in the log:\n%s", want, logs.String())
		}
	})
	t.Run("canceled", func(t *testing.T) {
		lns, addrs := listeners(t, 2)
		cfg := testConfig(0, addrs, 1)
		cfg.Listener = lns[0]
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		if _, err := Join(ctx, cfg); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%v, want the context's error", err)
		}
	})
}

// pki is a CA and certificates it signed, made in the test.
type pki struct {
	ca   *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newPKI(t *testing.T, name string) *pki {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &pki{ca, key, pool}
}

// cert returns a certificate for a process, with no host names: peers do not check them.
func (p *pki) cert(t *testing.T, serial int64) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "weir process"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// With TLS both sides present certificates of the cluster's CA; a client without one, or
// with one of another CA, is refused, and a process that trusts another CA refuses ours.
func TestJoinTLS(t *testing.T) {
	ours, theirs := newPKI(t, "cluster CA"), newPKI(t, "other CA")
	config := func(p *pki, roots *pki, serial int64) *tls.Config {
		return &tls.Config{Certificates: []tls.Certificate{p.cert(t, serial)}, RootCAs: roots.pool}
	}
	t.Run("joins", func(t *testing.T) {
		meshes := cluster(t, 3, 1, func(c *ClusterConfig) { c.TLS = config(ours, ours, int64(c.Process+2)) })
		var wg sync.WaitGroup
		for _, m := range meshes {
			wg.Go(func() {
				out := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
				if _, err := m.Exchange(context.Background(), 1, out); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		for p, err := range leaveAll(meshes) {
			if err != nil {
				t.Errorf("process %d: %v", p, err)
			}
		}
	})
	for _, tt := range []struct {
		name   string
		client *tls.Config // of process 1
		remote bool        // the refusal comes from process 0
	}{
		{"certificate of another CA", config(theirs, ours, 5), true},
		{"trusts another CA", config(ours, theirs, 6), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lns, addrs := listeners(t, 2)
			cfgs := []ClusterConfig{testConfig(0, addrs, 1), testConfig(1, addrs, 1)}
			cfgs[0].Listener, cfgs[1].Listener = lns[0], lns[1]
			cfgs[0].TLS, cfgs[1].TLS = config(ours, ours, 7), tt.client
			cfgs[0].StartupTimeout = time.Second
			_, errs := joinAll(context.Background(), cfgs)
			var he *HandshakeError
			if !errors.As(errs[1], &he) || !errors.Is(errs[1], ErrTLS) || he.Remote != tt.remote {
				t.Errorf("process 1: %v, want a tls refusal (remote %v)", errs[1], tt.remote)
			}
			if !errors.Is(errs[0], ErrStartup) { // process 0 does not know who it refused: it waits on
				t.Errorf("process 0: %v, want the startup timeout", errs[0])
			}
			t.Logf("process 1: %v", errs[1])
		})
	}
	t.Run("client without certificate", func(t *testing.T) {
		lns, addrs := listeners(t, 2)
		cfgs := []ClusterConfig{testConfig(0, addrs, 1), testConfig(1, addrs, 1)}
		cfgs[0].Listener, cfgs[1].Listener = lns[0], lns[1]
		cfgs[0].TLS, cfgs[1].TLS = config(ours, ours, 8), config(ours, ours, 9)
		var logs bytes.Buffer
		var mu sync.Mutex
		cfgs[0].Logger = slog.New(slog.NewTextHandler(&lockedWriter{&mu, &logs}, nil))
		done := make(chan error)
		var m0 *TCP
		go func() {
			var err error
			m0, err = Join(context.Background(), cfgs[0])
			done <- err
		}()
		c, err := tls.Dial("tcp", addrs[0], &tls.Config{InsecureSkipVerify: true})
		if err == nil {
			_, err = c.Read(make([]byte, 1))
			c.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("client without a certificate: %v", err)
		}
		m1, err := Join(context.Background(), cfgs[1])
		if err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		leaveAll([]*TCP{m0, m1})
		mu.Lock()
		defer mu.Unlock()
		if !strings.Contains(logs.String(), "refused a connection") {
			t.Errorf("no warning of the refused client: %s", logs.String())
		}
	})
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// FuzzHello: any bytes decode to a hello or an error, never a panic, and a hello decoded
// encodes back to the bytes it came from.
func FuzzHello(f *testing.F) {
	f.Add((&hello{version: FrameVersion, procs: 3, workers: 2, id: 1, secret: true, fingerprint: "3f2a9b1c"}).append(nil))
	f.Add((&hello{version: FrameVersion, procs: 1, workers: 1}).append(nil))
	f.Add([]byte(helloMagic + "\x02\x00\x00"))
	f.Add([]byte("GET / HTTP/1.1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		h, n, err := decodeHello(in)
		if err != nil {
			if !errors.Is(err, errNotHello) {
				t.Fatalf("error %v is not errNotHello", err)
			}
			return
		}
		if h.version != FrameVersion {
			return
		}
		if again := h.append(nil); !bytes.Equal(again, in[:n]) {
			t.Fatalf("hello %+v encodes to %x, read from %x", h, again, in[:n])
		}
		if r, err := readHello(bytes.NewReader(in)); err != nil || r != h {
			t.Fatalf("readHello: %+v, %v; decodeHello: %+v", r, err, h)
		}
	})
}
