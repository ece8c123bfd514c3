package comm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"
)

// Join listens on this process's address, connects to every other process and runs the
// handshake on each connection, and returns the mesh once every peer has joined. There
// is one connection per pair of processes: process i dials every process j < i and
// accepts every j > i. A dialer tries again after 10 to 20 ms, then twice as long each
// time up to 250 to 500 ms, until the startup timeout (a first retry after 100 to 500 ms
// made two processes started together take 0.3 s at the median to join, as the first dial
// usually comes before the peer listens), and every 5 s Join logs whom it still waits for.
//
// Join fails when ctx is done, at the startup timeout (a *StartupError naming the
// processes missing), or when a handshake is refused on either side (a
// *HandshakeError naming the check). A connection that does not speak the handshake (a
// port scanner, an HTTP request) or fails its TLS handshake is dropped, and Join goes on
// waiting. On failure the peers that had joined are told why.
func Join(ctx context.Context, cfg ClusterConfig) (*TCP, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	t := newTCP(cfg)
	if t.procs == 1 {
		if cfg.Listener != nil {
			cfg.Listener.Close()
		}
		return t, nil
	}
	var server, client *tls.Config
	if cfg.TLS != nil {
		var err error
		if server, client, err = tlsConfigs(cfg.TLS); err != nil {
			return nil, err
		}
	}
	ln := cfg.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", listenAddr(cfg.Addresses[cfg.Process])); err != nil {
			return nil, fmt.Errorf("weir: cluster: listening: %w", err)
		}
	}
	jctx, cancel := context.WithCancel(ctx)
	j := &joiner{t: t, ctx: jctx, server: server, client: client, pending: map[net.Conn]bool{},
		reserved: make([]bool, t.procs), last: make([]error, t.procs), joined: make(chan int, t.procs),
		errs: make(chan error, t.procs+1)}
	j.wg.Add(1)
	go j.accept(ln)
	for q := range t.proc {
		j.wg.Add(1)
		go j.dial(q)
	}
	err := j.wait(ctx)
	cancel()
	ln.Close()
	j.mu.Lock()
	j.over = true
	for c := range j.pending {
		c.Close()
	}
	j.mu.Unlock()
	j.wg.Wait()
	if err != nil {
		t.Leave(err)
		return nil, err
	}
	return t, nil
}

// listenAddr is where a process with address addr listens: there when its host is an IP
// address, else at its port on every interface.
func listenAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" || net.ParseIP(host) != nil {
		return addr
	}
	return ":" + port
}

// waitLogEvery is how often Join logs whom it still waits for (a variable for tests).
var waitLogEvery = 5 * time.Second

// handshakeTimeout bounds each handshake, so that a client that sends half a hello is
// dropped.
const handshakeTimeout = 10 * time.Second

// joiner is the state of a Join under way.
type joiner struct {
	t              *TCP
	ctx            context.Context
	server, client *tls.Config

	mu       sync.Mutex
	pending  map[net.Conn]bool // connections in their handshake
	reserved []bool            // by process: joined, or in the last steps of its handshake
	last     []error           // by process: why the last dial failed
	over     bool
	wg       sync.WaitGroup
	joined   chan int
	errs     chan error
}

func (j *joiner) wait(ctx context.Context) error {
	t := j.t
	timeout := time.NewTimer(t.cfg.StartupTimeout)
	defer timeout.Stop()
	tick := time.NewTicker(waitLogEvery)
	defer tick.Stop()
	for n := 0; n < t.procs-1; {
		select {
		case <-j.joined:
			n++
		case err := <-j.errs:
			return err
		case <-t.failed:
			return t.err
		case <-ctx.Done():
			return fmt.Errorf("weir: cluster: joining: %w", ctx.Err())
		case <-timeout.C:
			e := &StartupError{Timeout: t.cfg.StartupTimeout}
			j.mu.Lock()
			for q := range t.procs {
				if q != t.proc && t.peers[q] == nil {
					e.Missing = append(e.Missing, q)
					e.Addrs = append(e.Addrs, t.cfg.Addresses[q])
					e.Last = append(e.Last, j.last[q])
				}
			}
			j.mu.Unlock()
			return e
		case <-tick.C:
			var ids []int
			var addrs []string
			j.mu.Lock()
			for q := range t.procs {
				if q != t.proc && t.peers[q] == nil {
					ids = append(ids, q)
					addrs = append(addrs, t.cfg.Addresses[q])
				}
			}
			j.mu.Unlock()
			t.log.Info("weir: cluster: waiting for processes", "process", t.proc, "missing", ids, "addresses", addrs)
		}
	}
	return nil
}

// track notes a connection in its handshake, so that the end of Join closes it; false
// when Join is over.
func (j *joiner) track(c net.Conn, on bool) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !on {
		delete(j.pending, c)
		return true
	}
	if j.over {
		return false
	}
	j.pending[c] = true
	return true
}

func (j *joiner) reserve(id int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.reserved[id] {
		return fmt.Errorf("process id %d already joined (two processes with one id?)", id)
	}
	j.reserved[id] = true
	return nil
}

func (j *joiner) release(id int) {
	j.mu.Lock()
	j.reserved[id] = false
	j.mu.Unlock()
}

// add makes conn the connection to process id.
func (j *joiner) add(id int, conn net.Conn) {
	j.mu.Lock()
	j.reserved[id] = true
	j.t.addPeer(id, conn)
	j.mu.Unlock()
	j.joined <- id
}

func (j *joiner) refused(err error) {
	select {
	case j.errs <- err:
	default:
	}
}

func (j *joiner) accept(ln net.Listener) {
	defer j.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return // closed
		}
		if !j.track(c, true) {
			c.Close()
			return
		}
		j.wg.Add(1)
		go j.handshake(c)
	}
}

// handshake runs the accepting side's handshake on c.
func (j *joiner) handshake(c net.Conn) {
	defer j.wg.Done()
	t := j.t
	remote := c.RemoteAddr().String()
	conn := c
	if j.server != nil {
		tc, err := j.secure(c, tls.Server(c, j.server))
		if err != nil {
			var ce *certError
			if errors.As(err, &ce) || isNoCert(err) {
				t.log.Warn("weir: cluster: refused a connection: its certificate", "process", t.proc, "from", remote, "err", err)
			} else {
				t.log.Debug("weir: cluster: dropped a connection: tls", "process", t.proc, "from", remote, "err", err)
			}
			return
		}
		conn = tc
	}
	s := &shake{cfg: &t.cfg, expect: -1, addr: remote, reserve: j.reserve, release: j.release}
	id, err := s.run(conn, min(handshakeTimeout, t.cfg.StartupTimeout))
	j.track(c, false)
	if err != nil {
		conn.Close()
		var he *HandshakeError
		if errors.As(err, &he) {
			j.refused(err)
			return
		}
		t.log.Debug("weir: cluster: dropped a connection", "process", t.proc, "from", remote, "err", err)
		return
	}
	j.add(id, conn)
}

// dial connects to process q until it joins, Join ends, or q refuses.
func (j *joiner) dial(q int) {
	defer j.wg.Done()
	t := j.t
	addr := t.cfg.Addresses[q]
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 250*time.Millisecond) {
		err := j.try(q, addr)
		if err == nil {
			return
		}
		var he *HandshakeError
		if errors.As(err, &he) {
			j.refused(err)
			return
		}
		j.mu.Lock()
		j.last[q] = err
		j.mu.Unlock()
		select {
		case <-j.ctx.Done():
			return
		case <-time.After(wait + rand.N(wait)):
		}
	}
}

func (j *joiner) try(q int, addr string) error {
	t := j.t
	d := net.Dialer{Timeout: 2 * time.Second}
	c, err := d.DialContext(j.ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if !j.track(c, true) {
		c.Close()
		return j.ctx.Err()
	}
	conn := c
	if j.client != nil {
		tc, err := j.secure(c, tls.Client(c, j.client))
		if err != nil {
			return tlsRefusal(q, addr, err)
		}
		conn = tc
	}
	s := &shake{cfg: &t.cfg, dialer: true, expect: q, addr: addr}
	_, err = s.run(conn, min(handshakeTimeout, t.cfg.StartupTimeout))
	// Untracked before it is added: once the last peer is added, Join closes the
	// connections still in their handshake, which must not include this one.
	j.track(c, false)
	if err != nil {
		conn.Close()
		return tlsRefusal(q, addr, err)
	}
	j.add(q, conn)
	return nil
}

// secure runs the TLS handshake of tc over c within the handshake timeout, a deadline on
// c; on failure it lets go of c. The join's end stops it by closing c, which is pending
// (track), not through j.ctx: crypto/tls's HandshakeContext returns the context's error
// instead of the handshake's own when the context ends as the handshake fails, and so a
// client refused for its certificate just before the join completed went unreported
// (TestJoinTLS, 1.5% of runs).
func (j *joiner) secure(c net.Conn, tc *tls.Conn) (*tls.Conn, error) {
	c.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.Handshake(); err != nil {
		j.track(c, false)
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return tc, nil
}

// tlsRefusal turns a certificate refused on either side into a *HandshakeError, so that
// the dialer stops rather than retries; other errors are returned as they are.
func tlsRefusal(q int, addr string, err error) error {
	var ce *certError
	var oe *net.OpError
	switch {
	case errors.As(err, &ce):
		return &HandshakeError{Process: q, Addr: addr, Check: "tls", Detail: err.Error(), Err: ErrTLS}
	case errors.As(err, &oe) && oe.Op == "remote error":
		return &HandshakeError{Process: q, Addr: addr, Remote: true, Check: "tls", Detail: oe.Err.Error(), Err: ErrTLS}
	}
	return err
}

// certError is a peer's certificate that does not chain to the cluster's CA.
type certError struct{ err error }

func (e *certError) Error() string { return "peer certificate refused: " + e.err.Error() }
func (e *certError) Unwrap() error { return e.err }

var errNoCert = errors.New("weir: cluster: the peer sent no certificate")

// isNoCert reports whether err is crypto/tls's refusal of a client without a
// certificate, which it does not export: only to log it as a refusal, not as noise.
func isNoCert(err error) bool {
	return strings.Contains(err.Error(), "didn't provide a certificate")
}

// tlsConfigs makes the two sides' configurations from the user's: both present their
// certificate and verify the other's chain to the CA, without a host name.
func tlsConfigs(base *tls.Config) (server, client *tls.Config, err error) {
	roots := base.RootCAs
	if roots == nil {
		roots = base.ClientCAs
	}
	if roots == nil {
		return nil, nil, errors.New("weir: cluster: tls: no CA (RootCAs or ClientCAs) to verify peers with")
	}
	if len(base.Certificates) == 0 && base.GetCertificate == nil {
		return nil, nil, errors.New("weir: cluster: tls: no certificate for this process")
	}
	verify := func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return &certError{errNoCert}
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, r := range raw {
			c, err := x509.ParseCertificate(r)
			if err != nil {
				return &certError{err}
			}
			certs[i] = c
		}
		inter := x509.NewCertPool()
		for _, c := range certs[1:] {
			inter.AddCert(c)
		}
		_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
		if err != nil {
			return &certError{err}
		}
		return nil
	}
	server = base.Clone()
	server.ClientAuth = tls.RequireAnyClientCert
	server.VerifyPeerCertificate = verify
	server.MinVersion = max(server.MinVersion, tls.VersionTLS12)
	client = base.Clone()
	client.InsecureSkipVerify = true // verify checks the chain; peers have no host names to check
	client.VerifyPeerCertificate = verify
	client.MinVersion = max(client.MinVersion, tls.VersionTLS12)
	if client.GetClientCertificate == nil && len(client.Certificates) > 0 {
		cert := client.Certificates[0]
		client.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
	}
	return server, client, nil
}
