package nexmark

import (
	"encoding/binary"
	"fmt"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/recovery"
)

// Q3's join, as WinningBids' global step, holds its whole state under one key: every
// seller seen within MaxAuctionsWaiting and every event the watermark has not passed. Its
// codec writes the numbers as varints and the strings with their lengths, where CBOR
// would name every field of every seller (see winningCodec).
func init() { recovery.RegisterCodec[Q3State]("nexmark-q3-1", q3Codec{}) }

type q3Codec struct{}

func (q3Codec) Encode(s Q3State) ([]byte, error) {
	b := make([]byte, 0, 16+len(s.Sellers)*48+len(s.Queued)*32)
	b = binary.AppendVarint(b, s.MaxTime)
	b = binary.AppendUvarint(b, uint64(len(s.Sellers)))
	for i := range s.Sellers {
		x := &s.Sellers[i]
		b = binary.AppendVarint(b, x.ID)
		b = append(b, boolByte(x.Seen))
		b = appendStrings(b, x.Name, x.City, x.State)
		b = binary.AppendUvarint(b, uint64(len(x.Pending)))
		for _, a := range x.Pending {
			b = binary.AppendVarint(b, a)
		}
		b = binary.AppendVarint(b, x.Expires)
	}
	b = binary.AppendUvarint(b, uint64(len(s.Queued)))
	for i := range s.Queued {
		it := &s.Queued[i]
		b = binary.AppendVarint(b, it.Person)
		b = appendStrings(b, it.Name, it.City, it.State)
		b = binary.AppendVarint(b, it.Auction)
		b = binary.AppendVarint(b, it.Time)
	}
	return b, nil
}

func (q3Codec) Decode(data []byte) (Q3State, error) {
	r := codec.Reader{Data: data}
	s := Q3State{MaxTime: r.Varint()}
	if n := r.Count(); n > 0 {
		s.Sellers = make([]Q3Seller, n)
		for i := range s.Sellers {
			x := &s.Sellers[i]
			x.ID = r.Varint()
			x.Seen = r.Bool()
			x.Name, x.City, x.State = string(r.Bytes()), string(r.Bytes()), string(r.Bytes())
			if m := r.Count(); m > 0 {
				x.Pending = make([]int64, m)
				for j := range x.Pending {
					x.Pending[j] = r.Varint()
				}
			}
			x.Expires = r.Varint()
		}
	}
	if n := r.Count(); n > 0 {
		s.Queued = make([]Q3Item, n)
		for i := range s.Queued {
			it := &s.Queued[i]
			it.Person = r.Varint()
			it.Name, it.City, it.State = string(r.Bytes()), string(r.Bytes()), string(r.Bytes())
			it.Auction = r.Varint()
			it.Time = r.Varint()
		}
	}
	if r.Err == nil && len(r.Data) > 0 {
		r.Err = fmt.Errorf("%d bytes after the state", len(r.Data))
	}
	if r.Err != nil {
		return Q3State{}, fmt.Errorf("weir: nexmark: q3 state: %w", r.Err)
	}
	return s, nil
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

func appendStrings(b []byte, ss ...string) []byte {
	for _, s := range ss {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}
