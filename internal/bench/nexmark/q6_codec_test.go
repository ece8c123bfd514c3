package nexmark

import (
	"slices"
	"testing"

	"github.com/weirflow/weir/internal/codec"
)

// TestQ6Codec encodes a seller's last bids as Q6 keeps them with its codec and decodes
// them, and checks that they come back whole in at most half of CBOR's bytes, and that
// damaged bytes are an error.
func TestQ6Codec(t *testing.T) {
	if name := codec.For[SellerBids]().Name(); name != "nexmark-q6-1" {
		t.Errorf("SellerBids are written by codec %q, not by nexmark-q6-1", name)
	}
	c := DefaultConfig()
	var last SellerBids
	for i := int64(0); len(last) < 10 || i < 2000; i++ {
		if e := c.Event(i); e.Bid != nil {
			last = lastBids(last, *e.Bid)
		}
	}
	if len(last) != 10 {
		t.Fatalf("%d bids kept, want 10", len(last))
	}
	_, data := roundTripCompact(t, sellerBidsCodec{}.Encode, sellerBidsCodec{}.Decode, last)
	for _, cut := range []int{0, 1, len(data) / 2, len(data) - 1} {
		if _, err := (sellerBidsCodec{}).Decode(data[:cut]); err == nil {
			t.Errorf("the first %d of %d bytes decoded", cut, len(data))
		}
	}
	if _, err := (sellerBidsCodec{}).Decode(append(slices.Clip(data), 0)); err == nil {
		t.Error("a byte after the state decoded")
	}
}
