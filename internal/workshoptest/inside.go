package workshoptest

import "sync/atomic"

// Inside watches a critical section: how many holders are in it now, and the
// most that ever were at once. A lock that works keeps Most at 1.
type Inside struct {
	now, most atomic.Int32
}

// Enter is called first thing inside the critical section.
func (in *Inside) Enter() {
	n := in.now.Add(1)
	for m := in.most.Load(); n > m && !in.most.CompareAndSwap(m, n); m = in.most.Load() {
	}
}

// Leave is called last thing inside the critical section.
func (in *Inside) Leave() { in.now.Add(-1) }

// Most is the most holders that were ever inside at once.
func (in *Inside) Most() int { return int(in.most.Load()) }
