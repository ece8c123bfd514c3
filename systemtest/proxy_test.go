package systemtest

import (
	"net"
	"sync"
	"testing"
)

// proxy forwards TCP connections from its own loopback address to a process's, so that a
// test can break the connection between two processes of a cluster as a network does:
// cut it (both ends see it close, without the mesh's goodbye) or hold it (the bytes stop
// flowing both ways, the connection stays open, as behind a dead router).
type proxy struct {
	t      testing.TB
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn // both ends of every connection forwarded
	held  bool
	gate  *sync.Cond // broadcast when held turns false or the proxy closes
	shut  bool
	wg    sync.WaitGroup
	count int // connections accepted
}

// newProxy listens on a free loopback port and forwards every connection to target; the
// test's cleanup closes it.
func newProxy(t testing.TB, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{t: t, ln: ln, target: target}
	p.gate = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// addr is the address to give the dialing process instead of target.
func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			in.Close() // the target is not listening yet: the dialer retries
			continue
		}
		p.mu.Lock()
		if p.shut {
			p.mu.Unlock()
			in.Close()
			out.Close()
			return
		}
		p.conns = append(p.conns, in, out)
		p.count++
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(out, in)
		go p.pipe(in, out)
	}
}

// pipe copies from src to dst, waiting before each write while the proxy holds; it
// closes both when either side ends.
func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			p.mu.Lock()
			for p.held && !p.shut {
				p.gate.Wait()
			}
			shut := p.shut
			p.mu.Unlock()
			if shut {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // io.EOF or a closed connection: either ends the pipe
		}
	}
}

// cut closes every connection the proxy forwards, both ends, as a network that resets
// them; new connections are still forwarded.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// hold stops forwarding bytes, both ways, on every connection, without closing any: the
// bytes read wait in the proxy, and what the kernel's buffers cannot take waits in the
// sender's.
func (p *proxy) hold() {
	p.mu.Lock()
	p.held = true
	p.mu.Unlock()
}

// connections returns how many connections the proxy has forwarded.
func (p *proxy) connections() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.count
}

// close stops the proxy and every connection through it, and waits for its goroutines.
func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	p.shut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.gate.Broadcast()
	p.mu.Unlock()
	p.wg.Wait()
}
