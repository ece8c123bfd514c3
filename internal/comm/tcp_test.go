package comm

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// intCodec is a batch codec of []int for the tests: a count, then each item as a varint.
type intCodec struct{}

func (intCodec) AppendEncode(dst []byte, b any) ([]byte, error) {
	s := b.([]int)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	for _, v := range s {
		dst = binary.AppendVarint(dst, int64(v))
	}
	return dst, nil
}

func (intCodec) Decode(data []byte) (any, error) {
	n, k := binary.Uvarint(data)
	if k <= 0 || n > uint64(len(data)) {
		return nil, errors.New("intCodec: bad count")
	}
	data = data[k:]
	s := make([]int, 0, n)
	for range n {
		v, k := binary.Varint(data)
		if k <= 0 {
			return nil, errors.New("intCodec: bad item")
		}
		s = append(s, int(v))
		data = data[k:]
	}
	return s, nil
}

func (intCodec) Bytes(b any) int { return 8 * cap(b.([]int)) }

// listeners returns n listeners on loopback ports and their addresses.
func listeners(t testing.TB, n int) ([]net.Listener, []string) {
	t.Helper()
	lns := make([]net.Listener, n)
	addrs := make([]string, n)
	for i := range lns {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns[i], addrs[i] = ln, ln.Addr().String()
	}
	return lns, addrs
}

// testConfig is the config of process p of a test cluster with addrs, 2 edges of which
// edge 1 carries []int. Its fingerprint is its addresses', so that clusters of tests that
// run at the same time never join each other through a port one let go.
func testConfig(p int, addrs []string, workers int) ClusterConfig {
	return ClusterConfig{
		Process: p, Addresses: addrs, Workers: workers, Fingerprint: "flow-1 " + strings.Join(addrs, ","),
		StartupTimeout: 10 * time.Second, HeartbeatInterval: 50 * time.Millisecond, HeartbeatTimeout: time.Second,
		Limit: 1 << 20, Initial: 1 << 20,
		Codecs: []Codec{nil, intCodec{}}, EdgeNames: []string{"a -> b", "b -> c"},
		Logger: slog.New(slog.DiscardHandler),
	}
}

// joinAll joins the processes of the configs at once, each in a goroutine, and returns
// their meshes and errors.
func joinAll(ctx context.Context, cfgs []ClusterConfig) ([]*TCP, []error) {
	meshes := make([]*TCP, len(cfgs))
	errs := make([]error, len(cfgs))
	var wg sync.WaitGroup
	for i := range cfgs {
		wg.Go(func() { meshes[i], errs[i] = Join(ctx, cfgs[i]) })
	}
	wg.Wait()
	return meshes, errs
}

// cluster joins n processes of w workers each, failing the test on an error, and leaves
// them gracefully at its end.
func cluster(t testing.TB, n, w int, edit func(*ClusterConfig)) []*TCP {
	t.Helper()
	lns, addrs := listeners(t, n)
	cfgs := make([]ClusterConfig, n)
	for p := range cfgs {
		cfgs[p] = testConfig(p, addrs, w)
		cfgs[p].Listener = lns[p]
		if edit != nil {
			edit(&cfgs[p])
		}
	}
	meshes, errs := joinAll(context.Background(), cfgs)
	for p, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", p, err)
		}
	}
	return meshes
}

// leaveAll leaves every mesh gracefully, at once, and returns their errors.
func leaveAll(meshes []*TCP) []error {
	errs := make([]error, len(meshes))
	var wg sync.WaitGroup
	for i, m := range meshes {
		wg.Go(func() { errs[i] = m.Leave(nil) })
	}
	wg.Wait()
	return errs
}

// receiveAll receives on local worker w of m until want batch items and markers have
// come, or the timeout.
func receiveAll(t *testing.T, m *TCP, w, want int) []Message {
	t.Helper()
	var got []Message
	// It bounds a hang, not the speed: TestTCPAfterBurst's 24 MiB take seconds under
	// -race on a loaded machine.
	deadline := time.After(30 * time.Second)
	for len(got) < want {
		select {
		case <-m.Wake(w):
		case <-deadline:
			t.Fatalf("worker %d: %d of %d messages (mesh: %v)", w, len(got), want, m.Err())
		}
		n := len(got)
		got = m.Receive(w, got)
		for _, msg := range got[n:] {
			if msg.Batch != nil {
				m.Done(w, msg.Bytes)
			}
		}
	}
	return got
}

// Every worker sends batches and a marker to every worker of 2 and 3 processes: each
// sender's messages arrive in order, batches decoded, markers after the data before them.
func TestTCPSendReceive(t *testing.T) {
	for _, tt := range []struct{ procs, workers int }{{2, 1}, {2, 2}, {3, 2}} {
		t.Run(fmt.Sprintf("%dx%d", tt.procs, tt.workers), func(t *testing.T) {
			meshes := cluster(t, tt.procs, tt.workers, nil)
			total := tt.procs * tt.workers
			const per = 50
			var wg sync.WaitGroup
			for _, m := range meshes {
				for l := range tt.workers {
					from := m.Process()*tt.workers + l
					wg.Go(func() {
						for i := range per {
							for to := range total {
								b := []int{from, to, i}
								m.Send(to, Message{Edge: 1, From: from, Epoch: uint64(i), Batch: b, Bytes: intCodec{}.Bytes(b)})
							}
						}
						for to := range total {
							m.Send(to, Message{Edge: 1, From: from, Frontier: per})
						}
					})
				}
			}
			for _, m := range meshes {
				for l := range tt.workers {
					w := m.Process()*tt.workers + l
					wg.Go(func() {
						got := receiveAll(t, m, w, total*(per+1))
						next := make([]int, total)
						for _, msg := range got {
							if msg.Batch == nil {
								if next[msg.From] != per || msg.Frontier != per {
									t.Errorf("worker %d: marker %d from %d after %d batches", w, msg.Frontier, msg.From, next[msg.From])
								}
								next[msg.From]++
								continue
							}
							b := msg.Batch.([]int)
							if b[0] != msg.From || b[1] != w || b[2] != next[msg.From] || msg.Epoch != uint64(b[2]) || msg.Edge != 1 {
								t.Errorf("worker %d: got %v (epoch %d, edge %d) from %d, want item %d", w, b, msg.Epoch, msg.Edge, msg.From, next[msg.From])
							}
							if msg.Bytes != (intCodec{}).Bytes(b) {
								t.Errorf("worker %d: bytes %d, want the sender's %d", w, msg.Bytes, intCodec{}.Bytes(b))
							}
							next[msg.From]++
						}
					})
				}
			}
			wg.Wait()
			for p, err := range leaveAll(meshes) {
				if err != nil {
					t.Errorf("process %d leaving: %v", p, err)
				}
			}
		})
	}
}

// Exchange gives every process every other's part, small and chunked, with tags in order.
func TestTCPExchange(t *testing.T) {
	meshes := cluster(t, 3, 1, func(c *ClusterConfig) { c.MaxFrame = 1000 })
	part := func(from, to int, tag uint32) []byte {
		n := 10
		if tag == 2 {
			n = 2500 // over the frame limit: chunked
		}
		return []byte(strings.Repeat(fmt.Sprintf("%d>%d;", from, to), n))
	}
	var wg sync.WaitGroup
	for _, m := range meshes {
		wg.Go(func() {
			for tag := uint32(1); tag <= 3; tag++ {
				out := make([][]byte, 3)
				for q := range out {
					out[q] = part(m.Process(), q, tag)
				}
				if tag == 3 {
					out[(m.Process()+1)%3] = nil
				}
				in, err := m.Exchange(context.Background(), tag, out)
				if err != nil {
					t.Errorf("process %d, tag %d: %v", m.Process(), tag, err)
					return
				}
				for q, b := range in {
					want := part(q, m.Process(), tag)
					if tag == 3 && (q+1)%3 == m.Process() {
						want = nil
					}
					if string(b) != string(want) {
						t.Errorf("process %d, tag %d: from %d got %d bytes, want %d", m.Process(), tag, q, len(b), len(want))
					}
				}
			}
		})
	}
	wg.Wait()
	for p, err := range leaveAll(meshes) {
		if err != nil {
			t.Errorf("process %d leaving: %v", p, err)
		}
	}
}

// Calls go to the process named, concurrently, before and after its handler is set, and
// the handler's error comes back naming the process.
func TestTCPCall(t *testing.T) {
	meshes := cluster(t, 3, 1, nil)
	ctx := context.Background()
	early := make(chan error, 1)
	go func() { // before process 1 has a handler: queued
		resp, err := meshes[0].Call(ctx, 1, []byte("early"))
		if err == nil && string(resp) != "1 got early from 0" {
			err = fmt.Errorf("response %q", resp)
		}
		early <- err
	}()
	time.Sleep(50 * time.Millisecond)
	for _, m := range meshes {
		m.Handle(func(from int, req []byte) ([]byte, error) {
			if string(req) == "fail" {
				return nil, errors.New("weir: test: refused")
			}
			return fmt.Appendf(nil, "%d got %s from %d", m.Process(), req, from), nil
		})
	}
	if err := <-early; err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, m := range meshes {
		for q := range 3 {
			if q == m.Process() {
				continue
			}
			for i := range 20 {
				wg.Go(func() {
					req := fmt.Sprintf("r%d", i)
					resp, err := m.Call(ctx, q, []byte(req))
					if want := fmt.Sprintf("%d got %s from %d", q, req, m.Process()); err != nil || string(resp) != want {
						t.Errorf("call %d -> %d: %q, %v; want %q", m.Process(), q, resp, err, want)
					}
				})
			}
		}
	}
	wg.Wait()
	_, err := meshes[2].Call(ctx, 0, []byte("fail"))
	var re *RemoteError
	if !errors.As(err, &re) || re.Process != 0 || !strings.Contains(err.Error(), "process 0") || !strings.Contains(err.Error(), "weir: test: refused") {
		t.Errorf("error %v, want process 0's refusal", err)
	}
	for p, err := range leaveAll(meshes) {
		if err != nil {
			t.Errorf("process %d leaving: %v", p, err)
		}
	}
}

// A peer that leaves with an error stops the others with its reason; an abort stops them
// with ErrPeerAborted, and its context's end with ErrPeerInterrupted.
func TestTCPLeaveWithCause(t *testing.T) {
	for _, tt := range []struct {
		cause error
		want  error
		text  string
	}{
		{errors.New("weir: step count.reduce failed: boom"), ErrPeerStopped, "process 1 (127.0.0.1:"},
		{ErrAborted, ErrPeerAborted, "aborted"},
		{fmt.Errorf("weir: run: %w", context.Canceled), ErrPeerInterrupted, "interrupted: weir: run: context canceled"},
	} {
		t.Run(tt.want.Error(), func(t *testing.T) {
			meshes := cluster(t, 3, 1, nil)
			start := time.Now()
			if err := meshes[1].Leave(tt.cause); err != nil {
				t.Fatalf("Leave: %v", err)
			}
			for _, p := range []int{0, 2} {
				select {
				case <-meshes[p].Failed():
				case <-time.After(5 * time.Second):
					t.Fatalf("process %d did not fail", p)
				}
				err := meshes[p].Err()
				var pe *PeerError
				if !errors.As(err, &pe) || pe.Process != 1 || !errors.Is(err, tt.want) {
					t.Errorf("process %d: %v, want a PeerError of process 1 matching %v", p, err, tt.want)
				}
				if !strings.Contains(err.Error(), tt.text) || tt.want == ErrPeerStopped && !strings.Contains(err.Error(), "stopped: "+tt.cause.Error()) {
					t.Errorf("process %d: %v", p, err)
				}
			}
			var wg sync.WaitGroup
			for _, p := range []int{0, 2} {
				wg.Go(func() { meshes[p].Leave(meshes[p].Err()) })
			}
			wg.Wait()
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v", d)
			}
		})
	}
}

// A peer whose connection closes without a goodbye fails the mesh at once; one that goes
// silent (its writer stopped, its socket open) within the heartbeat timeout.
func TestTCPPeerLost(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		meshes := cluster(t, 2, 1, func(c *ClusterConfig) { c.HeartbeatTimeout = 10 * time.Second })
		start := time.Now()
		meshes[1].peers[0].conn.Close()
		waitLost(t, meshes[0], 1, "connection lost", start, 2*time.Second)
		meshes[0].Leave(meshes[0].Err())
		meshes[1].Leave(errors.New("test"))
	})
	t.Run("silent", func(t *testing.T) {
		meshes := cluster(t, 2, 1, nil)
		start := time.Now()
		meshes[1].peers[0].mute.Store(true)
		waitLost(t, meshes[0], 1, "no heartbeat for 1s", start, 2*time.Second)
		if d := time.Since(start); d < 700*time.Millisecond {
			t.Errorf("lost after %v, before the heartbeat timeout", d)
		}
		meshes[0].Leave(meshes[0].Err())
		meshes[1].Leave(errors.New("test"))
	})
}

func waitLost(t *testing.T, m *TCP, peer int, text string, start time.Time, within time.Duration) {
	t.Helper()
	select {
	case <-m.Failed():
	case <-time.After(within + time.Second):
		t.Fatalf("not failed after %v", time.Since(start))
	}
	if d := time.Since(start); d > within {
		t.Errorf("failed after %v, want within %v", d, within)
	}
	err := m.Err()
	var pe *PeerError
	if !errors.As(err, &pe) || pe.Process != peer || !errors.Is(err, ErrPeerLost) || !strings.Contains(err.Error(), text) {
		t.Errorf("%v, want process %d lost: %s", err, peer, text)
	}
	select {
	case <-m.Wake(m.Process() * m.Workers()):
	default:
		t.Error("the local worker was not woken")
	}
}

// A receiver that is not done with what it received stops its sender: the sender's
// credit runs out after about its share of the receiver's limit, however long it keeps
// asking, and comes back, with a wake-up, as the receiver is done.
func TestTCPCredit(t *testing.T) {
	const limit = 1 << 20
	meshes := cluster(t, 2, 1, func(c *ClusterConfig) { c.Limit, c.Initial = limit, limit })
	m0, m1 := meshes[0], meshes[1]
	batch := make([]int, 1024) // 8 KiB by intCodec.Bytes
	size := intCodec{}.Bytes(batch)
	sent := 0
	send := func() {
		for m0.Credit(0, 1) > 0 {
			m0.Send(1, Message{Edge: 1, From: 0, Epoch: 1, Batch: batch, Bytes: size})
			sent += size
			if sent > 4*limit {
				t.Fatalf("sent %d bytes, credit %d", sent, m0.Credit(0, 1))
			}
		}
	}
	send()
	share := limit / 2 // the receiver's limit among 2 processes
	if sent < share || sent > share+size {
		t.Fatalf("sent %d bytes before the credit ran out, want about the share %d", sent, share)
	}
	var got []Message
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < sent/size && time.Now().Before(deadline) { // received, not done
		got = m1.Receive(1, got)
		time.Sleep(time.Millisecond)
	}
	if len(got) != sent/size {
		t.Fatalf("received %d of %d batches", len(got), sent/size)
	}
	time.Sleep(100 * time.Millisecond)
	if c := m0.Credit(0, 1); c > 0 {
		t.Fatalf("credit %d while the receiver holds all it got", c)
	}
	select {
	case <-m0.Wake(0):
	default:
	}
	for range got[:len(got)/2] {
		m1.Done(1, size)
	}
	select {
	case <-m0.Wake(0):
	case <-time.After(5 * time.Second):
		t.Fatal("the sender was not woken when credit came back")
	}
	if c := m0.Credit(0, 1); c <= 0 {
		t.Fatalf("credit %d after the receiver was done with half", c)
	}
	// Held bytes shrink the share: a receiver holding its whole limit gives no credit.
	for range got[len(got)/2:] {
		m1.Done(1, size)
	}
	m1.Report(1, limit, limit)
	deadline = time.Now().Add(5 * time.Second)
	for m0.Credit(0, 1) > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if c := m0.Credit(0, 1); c > 0 {
		t.Fatalf("credit %d toward a receiver holding its limit", c)
	}
	m1.Report(1, 0, limit)
	deadline = time.Now().Add(5 * time.Second)
	for m0.Credit(0, 1) <= 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if c := m0.Credit(0, 1); c != share {
		t.Fatalf("credit %d after the receiver let go of its held bytes, want %d", c, share)
	}
	for p, err := range leaveAll(meshes) {
		if err != nil {
			t.Errorf("process %d leaving: %v", p, err)
		}
	}
}

// After a burst that grew the outbound buffers past 16 MiB, the frames that follow are
// still sent (the writer once dropped a large buffer it had yet to write).
//
// It runs with the default heartbeat timeout, not the tests' 1 s: both processes share
// one test binary, and under -race on a loaded machine their network goroutines were
// seen waiting up to 0.99 s for the runtime to wake them (a reader with no bytes for
// 989 ms while the writer's 1 MiB took 751 ms to go out), which a 1 s timeout calls a
// lost peer. Losing a peer on a silence is tested by TestReadDeadlineMovesWithBytes.
func TestTCPAfterBurst(t *testing.T) {
	meshes := cluster(t, 2, 1, func(c *ClusterConfig) { c.HeartbeatTimeout = 10 * time.Second })
	big := make([]int, 1<<20) // about 1 MiB encoded
	const bursts, small = 24, 200
	for range bursts {
		meshes[0].Send(1, Message{Edge: 1, From: 0, Epoch: 1, Batch: big, Bytes: 1})
	}
	for i := range small {
		meshes[0].Send(1, Message{Edge: 1, From: 0, Epoch: 2, Batch: []int{i}, Bytes: 1})
		if i%20 == 0 {
			time.Sleep(time.Millisecond)
		}
	}
	got := receiveAll(t, meshes[1], 1, bursts+small)
	for i, m := range got[bursts:] {
		if b := m.Batch.([]int); len(b) != 1 || b[0] != i {
			t.Fatalf("batch %d: %v", i, b)
		}
	}
	for p, err := range leaveAll(meshes) {
		if err != nil {
			t.Errorf("process %d leaving: %v", p, err)
		}
	}
}

// A process that has said goodbye still answers the calls of a peer that has not: the
// peer may still be committing (its snapshot rows go to the processes holding their
// partitions). A call to a peer gone after its goodbye fails rather than waits.
func TestTCPCallAfterGoodbye(t *testing.T) {
	meshes := cluster(t, 2, 1, nil)
	meshes[0].Handle(func(from int, req []byte) ([]byte, error) { return append([]byte("re: "), req...), nil })
	left := make(chan error, 1)
	go func() { left <- meshes[0].Leave(nil) }()
	time.Sleep(100 * time.Millisecond) // process 0's goodbye is out
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := meshes[1].Call(ctx, 0, []byte("rows"))
	if err != nil || string(resp) != "re: rows" {
		t.Fatalf("call after the goodbye: %q, %v", resp, err)
	}
	if err := meshes[1].Leave(nil); err != nil {
		t.Errorf("process 1 leaving: %v", err)
	}
	if err := <-left; err != nil {
		t.Errorf("process 0 leaving: %v", err)
	}
}

// A call to a peer that said goodbye and then vanished fails rather than waits for ever.
func TestTCPCallToGonePeer(t *testing.T) {
	meshes := cluster(t, 2, 1, nil) // process 0 never sets a handler: calls to it wait
	left := make(chan error, 1)
	go func() { left <- meshes[0].Leave(nil) }()
	time.Sleep(100 * time.Millisecond)
	go func() {
		time.Sleep(100 * time.Millisecond)
		meshes[0].peers[1].conn.Close() // gone, as after a crash
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := meshes[1].Call(ctx, 0, []byte("rows"))
	if !errors.Is(err, ErrPeerLost) || !strings.Contains(err.Error(), "process 0") {
		t.Errorf("call to a gone peer: %v", err)
	}
	meshes[1].Leave(errors.New("test"))
	<-left
}

// An idle mesh stays up past the heartbeat timeout: heartbeats keep it alive.
func TestTCPIdleStaysUp(t *testing.T) {
	meshes := cluster(t, 2, 1, func(c *ClusterConfig) { c.HeartbeatTimeout = 300 * time.Millisecond })
	time.Sleep(time.Second)
	for p, m := range meshes {
		if err := m.Err(); err != nil {
			t.Errorf("process %d: %v", p, err)
		}
	}
	for p, err := range leaveAll(meshes) {
		if err != nil {
			t.Errorf("process %d leaving: %v", p, err)
		}
	}
}

// A frame the receiver cannot take fails its mesh with a protocol error naming it, and an
// exchange under way returns that error.
func TestTCPProtocolError(t *testing.T) {
	for _, tt := range []struct {
		name string
		f    Frame
		want string
	}{
		{"edge without codec", Frame{Kind: FrameBatch, Edge: 0, From: 1, To: 0, Payload: []byte{1, 0}}, "edge 0 (a -> b), which carries nothing"},
		{"unknown edge", Frame{Kind: FrameMarker, Edge: 7, From: 1, To: 0}, "edge 7, which carries nothing"},
		{"not its worker", Frame{Kind: FrameMarker, Edge: 1, From: 0, To: 0}, "from worker 0, not one of process 1's"},
		{"not our worker", Frame{Kind: FrameMarker, Edge: 1, From: 1, To: 1}, "for worker 1, not one of process 0's"},
		{"undecodable batch", Frame{Kind: FrameBatch, Edge: 1, From: 1, To: 0, Payload: []byte{8, 9}}, "intCodec: bad count"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			meshes := cluster(t, 2, 1, nil)
			exchanged := make(chan error, 1)
			go func() {
				_, err := meshes[0].Exchange(context.Background(), 1, make([][]byte, 2))
				exchanged <- err
			}()
			meshes[1].peers[0].enqueue(tt.f)
			select {
			case <-meshes[0].Failed():
			case <-time.After(5 * time.Second):
				t.Fatal("not failed")
			}
			err := meshes[0].Err()
			var pe *PeerError
			if !errors.As(err, &pe) || pe.Process != 1 || !errors.Is(err, ErrProtocol) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("%v, want a protocol error of process 1: %s", err, tt.want)
			}
			if xerr := <-exchanged; xerr != err {
				t.Errorf("exchange: %v, want the mesh's error", xerr)
			}
			meshes[0].Leave(err)
			meshes[1].Leave(errors.New("test"))
		})
	}
}

// A cluster of one process needs no network: its mesh is its workers' Local.
func TestTCPOneProcess(t *testing.T) {
	cfg := testConfig(0, []string{"127.0.0.1:1"}, 2)
	m, err := Join(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	in, err := m.Exchange(context.Background(), 1, [][]byte{[]byte("self")})
	if err != nil || len(in) != 1 || string(in[0]) != "self" {
		t.Fatalf("exchange: %q, %v", in, err)
	}
	m.Send(1, Message{Edge: 1, From: 0, Batch: []int{1}, Bytes: 8})
	if got := receiveAll(t, m, 1, 1); got[0].Batch.([]int)[0] != 1 {
		t.Fatalf("got %v", got)
	}
	if err := m.Leave(nil); err != nil {
		t.Fatal(err)
	}
}
