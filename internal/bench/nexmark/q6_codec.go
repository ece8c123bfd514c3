package nexmark

import (
	"encoding/binary"
	"fmt"

	"github.com/weirflow/weir/internal/codec"
	"github.com/weirflow/weir/recovery"
)

// SellerBids is Q6's state per seller: its last 10 winning bids, in (time, price) order.
// Q6 holds one for every seller seen, a state that grows all run, and every epoch
// rewrites those of the sellers it touched: its codec writes the bids' numbers as varints,
// where CBOR would name every field of every bid (see winningCodec).
type SellerBids []Bid

func init() { recovery.RegisterCodec[SellerBids]("nexmark-q6-1", sellerBidsCodec{}) }

type sellerBidsCodec struct{}

func (sellerBidsCodec) Encode(s SellerBids) ([]byte, error) {
	b := make([]byte, 0, 1+len(s)*20)
	b = binary.AppendUvarint(b, uint64(len(s)))
	for i := range s {
		b = appendBid(b, &s[i])
	}
	return b, nil
}

func (sellerBidsCodec) Decode(data []byte) (SellerBids, error) {
	r := codec.Reader{Data: data}
	var s SellerBids
	if n := r.Count(); n > 0 {
		s = make(SellerBids, n)
		for i := range s {
			s[i] = readBid(&r)
		}
	}
	if r.Err == nil && len(r.Data) > 0 {
		r.Err = fmt.Errorf("%d bytes after the state", len(r.Data))
	}
	if r.Err != nil {
		return nil, fmt.Errorf("weir: nexmark: q6 state: %w", r.Err)
	}
	return s, nil
}
