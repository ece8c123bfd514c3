package comm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// Frames are how the mesh between processes (TCP) carries messages over a byte stream:
// one frame per batch of an edge and destination worker, per progress marker, per credit
// grant and per heartbeat, and the control frames of the setup exchanges, calls and the
// end of a process's part. In one process nothing is framed.
//
// A frame is a fixed header, a payload and a checksum, all little-endian:
//
//	version   1 byte   FrameVersion; another version is refused
//	kind      1 byte   FrameKind
//	edge      4 bytes  the plan's edge id (batches, markers); a tag or call id
//	from, to  4 bytes each  sending and receiving worker, numbered across the cluster
//	                   (of control frames: the processes)
//	epoch     8 bytes  a batch's epoch, a marker's frontier, a grant's bytes, the bytes
//	                   of a chunked message still to come
//	length    4 bytes  of the payload, at most the reader's limit
//	payload   length bytes  a batch: a uvarint of the sender's estimate of its memory
//	                   (graph.BatchOps.Bytes), then the batch as its edge's codec wrote it
//	crc       4 bytes  CRC-32C of everything before it
//
// The length is checked against the reader's limit before anything is allocated, and the
// checksum before the frame is handed on, so that a damaged or hostile stream gives an
// error, never a panic or an allocation of its choosing.

// FrameVersion is the version of the frame format this code writes and reads.
const FrameVersion = 1

// FrameKind says what a frame carries.
type FrameKind uint8

const (
	// FrameBatch carries a batch of one epoch (Epoch) on an edge for one worker.
	FrameBatch FrameKind = 1 + iota
	// FrameMarker promises that From sends nothing more below Epoch on Edge.
	FrameMarker
	// FrameCredit grants credit: the receiving process's workers may have sent worker
	// From up to Epoch bytes in all (a cumulative count, so that a grant is never lost
	// or counted twice; it may fall when From holds more bytes parked).
	FrameCredit
	// FrameHeartbeat says the peer is alive; it carries nothing.
	FrameHeartbeat
	// FrameGoodbye says the sending process has finished its part: it sends nothing
	// more but the replies to the receiver's calls.
	FrameGoodbye
	// FrameStop says the sending process stops: its payload is why. Edge is 1 for an
	// abort (its peers stop without an error), 0 for an error.
	FrameStop
	// FrameExchange carries a chunk of one process's part of an all-to-all exchange: Edge
	// is the exchange's tag, Epoch the bytes of that part still to come after this chunk.
	FrameExchange
	// FrameCall carries a chunk of a request to the receiving process: Edge is the call's
	// id, Epoch the bytes still to come.
	FrameCall
	// FrameReply carries a chunk of the response to call Edge, as FrameCall.
	FrameReply
	// FrameFault answers call Edge with an error: its payload is the error's text.
	FrameFault

	frameLastKind = FrameFault
)

func (k FrameKind) String() string {
	switch k {
	case FrameBatch:
		return "batch"
	case FrameMarker:
		return "marker"
	case FrameCredit:
		return "credit"
	case FrameHeartbeat:
		return "heartbeat"
	case FrameGoodbye:
		return "goodbye"
	case FrameStop:
		return "stop"
	case FrameExchange:
		return "exchange"
	case FrameCall:
		return "call"
	case FrameReply:
		return "reply"
	case FrameFault:
		return "fault"
	}
	return fmt.Sprintf("FrameKind(%d)", uint8(k))
}

// Frame is one message between processes. Payload is only a batch's.
type Frame struct {
	Kind     FrameKind
	Edge     uint32
	From, To uint32
	Epoch    uint64
	Payload  []byte
}

const (
	frameHeader  = 1 + 1 + 4 + 4 + 4 + 8 + 4
	frameTrailer = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendFrame appends f, framed, to dst.
func AppendFrame(dst []byte, f Frame) []byte {
	start := len(dst)
	dst = append(dst, FrameVersion, byte(f.Kind))
	dst = binary.LittleEndian.AppendUint32(dst, f.Edge)
	dst = binary.LittleEndian.AppendUint32(dst, f.From)
	dst = binary.LittleEndian.AppendUint32(dst, f.To)
	dst = binary.LittleEndian.AppendUint64(dst, f.Epoch)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(f.Payload)))
	dst = append(dst, f.Payload...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

// Errors of ReadFrame; a *FrameError matches one of them with errors.Is.
var (
	ErrFrameVersion  = errors.New("weir: comm: frame of another version")
	ErrFrameKind     = errors.New("weir: comm: frame of an unknown kind")
	ErrFrameTooLarge = errors.New("weir: comm: frame larger than the limit")
	ErrFrameChecksum = errors.New("weir: comm: frame checksum mismatch")
)

// FrameError is a frame ReadFrame refused: which check failed, and what it read.
type FrameError struct {
	Err    error // one of the ErrFrame sentinels
	Detail string
}

func (e *FrameError) Error() string { return e.Err.Error() + ": " + e.Detail }
func (e *FrameError) Unwrap() error { return e.Err }

// ReadFrame reads one frame from r. Its payload is read into buf, grown as needed, and
// returned with it for the next call: f.Payload is valid until buf is reused. A payload
// longer than limit bytes is refused before it is read. The end of r before a frame is
// io.EOF; inside one, io.ErrUnexpectedEOF.
func ReadFrame(r io.Reader, limit int, buf []byte) (f Frame, _ []byte, err error) {
	var h [frameHeader]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return Frame{}, buf, err
	}
	if h[0] != FrameVersion {
		return Frame{}, buf, &FrameError{ErrFrameVersion, fmt.Sprintf("version %d, this process speaks %d", h[0], FrameVersion)}
	}
	f = Frame{
		Kind:  FrameKind(h[1]),
		Edge:  binary.LittleEndian.Uint32(h[2:]),
		From:  binary.LittleEndian.Uint32(h[6:]),
		To:    binary.LittleEndian.Uint32(h[10:]),
		Epoch: binary.LittleEndian.Uint64(h[14:]),
	}
	if f.Kind < FrameBatch || f.Kind > frameLastKind {
		return Frame{}, buf, &FrameError{ErrFrameKind, f.Kind.String()}
	}
	n := binary.LittleEndian.Uint32(h[22:])
	if uint64(n) > uint64(max(limit, 0)) {
		return Frame{}, buf, &FrameError{ErrFrameTooLarge, fmt.Sprintf("%d bytes of payload, limit %d", n, limit)}
	}
	if cap(buf) < int(n)+frameTrailer {
		buf = make([]byte, int(n)+frameTrailer)
	}
	buf = buf[:int(n)+frameTrailer]
	if _, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, buf, err
	}
	sum := crc32.Update(crc32.Checksum(h[:], castagnoli), castagnoli, buf[:n])
	if got := binary.LittleEndian.Uint32(buf[n:]); got != sum {
		return Frame{}, buf, &FrameError{ErrFrameChecksum, fmt.Sprintf("%s frame on edge %d from worker %d: crc %08x, computed %08x", f.Kind, f.Edge, f.From, got, sum)}
	}
	if n > 0 {
		f.Payload = buf[:n]
	}
	return f, buf, nil
}
