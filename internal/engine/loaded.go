package engine

import "github.com/weirflow/weir/internal/state"

// loaded is what one worker resumes of one stateful step, as the store's Load gave it: in
// blocks, not one slice, so that a million keys are not copied again each time the slice
// would have grown (a tenth of a resume of 1M keys went to it), and each block can be let
// go once its keys have resumed.
type loaded struct {
	blocks [][]state.Change
	n      int
}

// maxLoadBlock is the size blocks double up to: a step with few keys keeps a small one.
const maxLoadBlock = 4096

func (l *loaded) add(c state.Change) {
	last := len(l.blocks) - 1
	if last < 0 || len(l.blocks[last]) == cap(l.blocks[last]) {
		size := 16
		if last >= 0 {
			size = min(2*cap(l.blocks[last]), maxLoadBlock)
		}
		l.blocks = append(l.blocks, make([]state.Change, 0, size))
		last++
	}
	l.blocks[last] = append(l.blocks[last], c)
	l.n++
}

// reserver is a stateful runtime that can make room for the keys it is about to resume
// (the keyed runtime sizes its map once rather than growing it a million keys long).
type reserver interface{ Reserve(keys int) }
