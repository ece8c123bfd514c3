package comm

import (
	"bytes"
	"cmp"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// The handshake runs on every connection before any frame, so that a process joins only
// peers that run the same dataflow in the same cluster shape, and, with a secret, only
// peers that know it. Both sides do the same steps at once, each writing before it
// reads, so that neither waits for the other to speak first:
//
//  1. hello: the magic, the protocol version, then (length-prefixed, so that a later
//     version can change it) the process count, the workers per process, the sender's
//     process id, whether it has a secret, a random nonce and the dataflow's fingerprint;
//  2. verdict: each checks the other's hello (version, dataflow, process count, workers,
//     process id, secret or none, in that order) and sends "ok" or a refusal naming the
//     check and both values; then reads the other's verdict. Each reads the other's
//     verdict even after refusing, so that closing never resets a connection with a
//     refusal unread;
//  3. with a secret: each sends HMAC-SHA256(secret, label, the other's nonce, its own
//     id), which proves it knows the secret without sending it (the nonce makes an old
//     answer useless), checks the other's, and a second verdict follows.
//
// A connection whose first bytes are not a hello (a port scanner, an HTTP client) is
// dropped without an answer.

const (
	helloMagic   = "WEIRMESH"
	helloFixed   = 4 + 4 + 4 + 1 + 32 // procs, workers, id, flags, nonce
	helloMaxRest = helloFixed + 512   // the fingerprint is at most 512 bytes
	macLabel     = "weir cluster handshake v1"
	maxDetail    = 1024
	helloSecret  = 1 // flags: the sender has a secret
)

// hello is what each side of a connection says first.
type hello struct {
	version     byte
	procs       uint32
	workers     uint32
	id          uint32
	secret      bool
	nonce       [32]byte
	fingerprint string
}

func (h *hello) append(dst []byte) []byte {
	dst = append(dst, helloMagic...)
	dst = append(dst, h.version)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(helloFixed+len(h.fingerprint)))
	dst = binary.LittleEndian.AppendUint32(dst, h.procs)
	dst = binary.LittleEndian.AppendUint32(dst, h.workers)
	dst = binary.LittleEndian.AppendUint32(dst, h.id)
	var flags byte
	if h.secret {
		flags |= helloSecret
	}
	dst = append(dst, flags)
	dst = append(dst, h.nonce[:]...)
	return append(dst, h.fingerprint...)
}

// errNotHello: the peer does not speak this handshake (garbage, or another protocol).
var errNotHello = errors.New("weir: cluster: not a weir handshake")

// decodeHello reads a whole hello from b, checking each length before it is used. A hello
// of another version is returned with only its version set: its layout may differ.
func decodeHello(b []byte) (h hello, n int, err error) {
	if len(b) < len(helloMagic)+1+2 {
		return h, 0, fmt.Errorf("%w: %d bytes, a hello has at least %d", errNotHello, len(b), len(helloMagic)+3)
	}
	if string(b[:len(helloMagic)]) != helloMagic {
		return h, 0, fmt.Errorf("%w: starts with %q", errNotHello, b[:len(helloMagic)])
	}
	h.version = b[len(helloMagic)]
	rest := int(binary.LittleEndian.Uint16(b[len(helloMagic)+1:]))
	n = len(helloMagic) + 3 + rest
	if rest > helloMaxRest {
		return h, 0, fmt.Errorf("%w: hello of %d bytes, at most %d", errNotHello, rest, helloMaxRest)
	}
	if len(b) < n {
		return h, 0, fmt.Errorf("%w: hello of %d bytes, %d read", errNotHello, n, len(b))
	}
	if h.version != FrameVersion {
		return hello{version: h.version}, n, nil
	}
	if rest < helloFixed {
		return h, 0, fmt.Errorf("%w: hello of version %d with %d bytes, at least %d", errNotHello, h.version, rest, helloFixed)
	}
	p := b[len(helloMagic)+3 : n]
	h.procs = binary.LittleEndian.Uint32(p)
	h.workers = binary.LittleEndian.Uint32(p[4:])
	h.id = binary.LittleEndian.Uint32(p[8:])
	if p[12]&^helloSecret != 0 {
		return h, 0, fmt.Errorf("%w: unknown flags %#x", errNotHello, p[12])
	}
	h.secret = p[12]&helloSecret != 0
	copy(h.nonce[:], p[13:45])
	h.fingerprint = string(p[45:])
	return h, n, nil
}

// readHello reads one hello from r.
func readHello(r io.Reader) (hello, error) {
	buf := make([]byte, len(helloMagic)+3, len(helloMagic)+3+helloMaxRest)
	if _, err := io.ReadFull(r, buf); err != nil {
		return hello{}, fmt.Errorf("%w: %w", errNotHello, err)
	}
	if !bytes.HasPrefix(buf, []byte(helloMagic)) {
		return hello{}, fmt.Errorf("%w: starts with %q", errNotHello, buf[:len(helloMagic)])
	}
	rest := int(binary.LittleEndian.Uint16(buf[len(helloMagic)+1:]))
	if rest > helloMaxRest {
		return hello{}, fmt.Errorf("%w: hello of %d bytes, at most %d", errNotHello, rest, helloMaxRest)
	}
	buf = buf[:len(buf)+rest]
	if _, err := io.ReadFull(r, buf[len(helloMagic)+3:]); err != nil {
		return hello{}, fmt.Errorf("%w: %w", errNotHello, err)
	}
	h, _, err := decodeHello(buf)
	return h, err
}

// Errors of the handshake's checks: a *HandshakeError matches one of them with errors.Is.
var (
	ErrVersion      = errors.New("weir: cluster: protocol version differs")
	ErrDataflow     = errors.New("weir: cluster: dataflow differs")
	ErrProcesses    = errors.New("weir: cluster: process count differs")
	ErrWorkers      = errors.New("weir: cluster: workers per process differ")
	ErrProcessID    = errors.New("weir: cluster: process id refused")
	ErrSecret       = errors.New("weir: cluster: secret does not match")
	ErrTLS          = errors.New("weir: cluster: tls handshake failed")
	errCheckUnknown = errors.New("weir: cluster: handshake refused")
)

// checks are the handshake's checks in the order they run; a refusal names one by its
// index here.
var checks = []struct {
	name string
	err  error
}{
	{"", errCheckUnknown},
	{"version", ErrVersion},
	{"dataflow", ErrDataflow},
	{"processes", ErrProcesses},
	{"workers", ErrWorkers},
	{"process id", ErrProcessID},
	{"secret", ErrSecret},
	{"tls", ErrTLS},
}

const (
	checkVersion byte = 1 + iota
	checkDataflow
	checkProcesses
	checkWorkers
	checkProcessID
	checkSecret
	checkTLS
)

// HandshakeError is a connection refused by a check of the handshake, by this process or
// by the peer (Remote). Both sides of a refused connection get one naming the same check.
type HandshakeError struct {
	Process int    // the peer's process id; -1 when it was not learnt
	Addr    string // the peer's address
	Remote  bool   // the peer refused this process (else this process refused the peer)
	Check   string // "version", "dataflow", "processes", "workers", "process id", "secret", "tls"
	Detail  string // what the check found: "dataflow differs: process 0 runs 3f2a…, process 1 runs 9b1c…"
	Err     error  // the check's sentinel (ErrDataflow, ...)
}

func (e *HandshakeError) Error() string {
	who := "a process at " + e.Addr
	if e.Process >= 0 {
		who = fmt.Sprintf("process %d (%s)", e.Process, e.Addr)
	}
	if e.Remote {
		return fmt.Sprintf("weir: cluster: refused by %s: %s", who, e.Detail)
	}
	return fmt.Sprintf("weir: cluster: refused %s: %s", who, e.Detail)
}

func (e *HandshakeError) Unwrap() error { return e.Err }

// shake holds what one side of a handshake knows before it starts.
type shake struct {
	cfg    *ClusterConfig
	dialer bool
	expect int // the process a dialer dialed; -1 on the accepting side
	addr   string
	// reserve claims the peer's process id for this connection, so that a second
	// connection claiming it is refused; release gives it back after a later failure.
	reserve func(id int) error
	release func(id int)
}

// short shows a long fingerprint by its start.
func short(s string) string {
	if len(s) > 12 {
		return s[:12] + "…"
	}
	return s
}

// check returns the first check other's hello fails, and its detail.
func (s *shake) check(mine, other *hello) (byte, string) {
	me, it := s.cfg.Process, int(other.id)
	if other.version != mine.version {
		return checkVersion, fmt.Sprintf("a peer speaks protocol version %d, process %d speaks %d", other.version, me, mine.version)
	}
	if other.fingerprint != mine.fingerprint {
		return checkDataflow, fmt.Sprintf("dataflow differs: process %d runs %s, process %d runs %s", me, short(mine.fingerprint), it, short(other.fingerprint))
	}
	if other.procs != mine.procs {
		return checkProcesses, fmt.Sprintf("process count differs: process %d has %d, process %d has %d", me, mine.procs, it, other.procs)
	}
	if other.workers != mine.workers {
		return checkWorkers, fmt.Sprintf("workers per process differ: process %d has %d, process %d has %d", me, mine.workers, it, other.workers)
	}
	switch {
	case other.id >= mine.procs:
		return checkProcessID, fmt.Sprintf("process id %d is not below the process count %d", it, mine.procs)
	case it == me:
		return checkProcessID, fmt.Sprintf("process id %d is this process's (two processes with one id?)", it)
	case s.dialer && it != s.expect:
		return checkProcessID, fmt.Sprintf("process %d dialed process %d at %s and found process %d", me, s.expect, s.addr, it)
	case !s.dialer && it < me:
		return checkProcessID, fmt.Sprintf("process %d dialed process %d, which dials only lower ids (two processes with one id?)", it, me)
	}
	if !s.dialer {
		if err := s.reserve(it); err != nil {
			return checkProcessID, err.Error()
		}
	}
	if other.secret != mine.secret {
		has, not := me, it
		if other.secret {
			has, not = it, me
		}
		return checkSecret, fmt.Sprintf("secret does not match: process %d has a secret, process %d has none", has, not)
	}
	return 0, ""
}

// run does the handshake on conn and returns the peer's process id.
func (s *shake) run(conn net.Conn, timeout time.Duration) (peer int, err error) {
	peer = s.expect
	conn.SetDeadline(time.Now().Add(timeout))
	defer conn.SetDeadline(time.Time{})
	mine := hello{version: cmp.Or(s.cfg.version, FrameVersion), procs: uint32(len(s.cfg.Addresses)), workers: uint32(s.cfg.Workers),
		id: uint32(s.cfg.Process), secret: len(s.cfg.Secret) > 0, fingerprint: s.cfg.Fingerprint}
	rand.Read(mine.nonce[:])
	if _, err := conn.Write(mine.append(nil)); err != nil {
		return peer, err
	}
	other, err := readHello(conn)
	if err != nil {
		return peer, err
	}
	if other.version == FrameVersion {
		peer = int(other.id)
	}
	refuse := func(check byte, detail string) error {
		return &HandshakeError{Process: peer, Addr: s.addr, Check: checks[check].name, Detail: detail, Err: checks[check].err}
	}
	reserved := false
	defer func() {
		if err != nil && reserved {
			s.release(peer)
		}
	}()
	check, detail := s.check(&mine, &other)
	reserved = !s.dialer && (check == 0 || check > checkProcessID)
	if err := s.verdict(conn, peer, check, detail); err != nil {
		return peer, err
	}
	if check != 0 {
		return peer, refuse(check, detail)
	}
	if !mine.secret {
		return peer, nil
	}
	if _, err := conn.Write(mac(s.cfg.Secret, other.nonce[:], s.cfg.Process)); err != nil {
		return peer, err
	}
	var got [sha256.Size]byte
	if _, err := io.ReadFull(conn, got[:]); err != nil {
		return peer, err
	}
	if !hmac.Equal(got[:], mac(s.cfg.Secret, mine.nonce[:], peer)) {
		check, detail = checkSecret, fmt.Sprintf("secret does not match: process %d's proof of the secret is not process %d's", peer, s.cfg.Process)
	}
	if err := s.verdict(conn, peer, check, detail); err != nil {
		return peer, err
	}
	if check != 0 {
		return peer, refuse(check, detail)
	}
	return peer, nil
}

// mac proves that process id knows secret, for the side that sent nonce.
func mac(secret, nonce []byte, id int) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(macLabel))
	m.Write(nonce)
	m.Write(binary.LittleEndian.AppendUint32(nil, uint32(id)))
	return m.Sum(nil)
}

// verdict sends this side's verdict (check 0: accepted) and reads the other's, returning
// the other's refusal as a *HandshakeError (unless this side refused too: its own error
// is the one the caller returns).
func (s *shake) verdict(conn net.Conn, peer int, check byte, detail string) error {
	if len(detail) > maxDetail {
		detail = detail[:maxDetail]
	}
	msg := []byte{check}
	msg = binary.LittleEndian.AppendUint16(msg, uint16(len(detail)))
	if _, err := conn.Write(append(msg, detail...)); err != nil {
		return err
	}
	var h [3]byte
	if _, err := io.ReadFull(conn, h[:]); err != nil {
		if check != 0 {
			return nil // refused already: the peer may close at once
		}
		return err
	}
	n := int(binary.LittleEndian.Uint16(h[1:]))
	if n > maxDetail {
		return fmt.Errorf("%w: a refusal of %d bytes", errNotHello, n)
	}
	text := make([]byte, n)
	if _, err := io.ReadFull(conn, text); err != nil && check == 0 {
		return err
	}
	if h[0] == 0 || check != 0 {
		return nil
	}
	c := int(h[0])
	if c >= len(checks) {
		c = 0
	}
	return &HandshakeError{Process: peer, Addr: s.addr, Remote: true, Check: checks[c].name, Detail: string(text), Err: checks[c].err}
}
