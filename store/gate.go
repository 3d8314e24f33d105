package store

import (
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite has one writer at a time, and its busy handler is not fair: a
// background run that commits batch after batch can keep an annotator's
// grade waiting for hundreds of milliseconds. A writeGate, shared by every
// Store of one workspace file in this process, lets interactive writes go
// first: a background transaction (see Background) does not begin while an
// interactive one is waiting or running, so an interactive write waits at
// most for the one background batch already in progress.
type writeGate struct {
	interactive atomic.Int64 // interactive transactions waiting or running
}

var gates sync.Map // absolute workspace path -> *writeGate

func gateFor(path string) *writeGate {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	g, _ := gates.LoadOrStore(abs, &writeGate{})
	return g.(*writeGate)
}

// backgroundPoll is how often a background writer looks again while an
// interactive write is in the way.
const backgroundPoll = 200 * time.Microsecond

// enter is called before a transaction begins; the returned func after it
// ends.
func (g *writeGate) enter(background bool) (leave func()) {
	if g == nil {
		return func() {}
	}
	if background {
		for g.interactive.Load() > 0 {
			time.Sleep(backgroundPoll)
		}
		return func() {}
	}
	g.interactive.Add(1)
	return func() { g.interactive.Add(-1) }
}

// Background returns the same workspace for a background writer (labeling,
// mining and synthesis runs): its transactions give way to interactive
// ones. Use it for bulk writes, never for an annotator's grade.
func (s *Store) Background() *Store {
	b := *s
	b.background = true
	return &b
}
