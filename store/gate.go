package store

import (
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SQLite has one writer at a time, and its busy handler is not fair: a
// background run that commits batch after batch can keep an annotator's
// grade waiting for hundreds of milliseconds. A writeGate lets interactive
// writes go first: a background transaction (see Background) does not begin
// while an interactive one is waiting or running, so an interactive write
// waits at most for the one background batch already in progress.
//
// Within a process the gate is a counter shared by every Store of the same
// file. Across processes (a `qrelbench label` next to `qrelbench serve`) it
// is an advisory lock on a sidecar file, WORKSPACE-writers: interactive
// writers hold it shared while they write, and a background writer takes it
// exclusively for an instant before each batch, which waits out every
// interactive writer of every process. Where advisory locks are not
// available the cross-process part is simply absent.
type writeGate struct {
	mu          sync.Mutex
	interactive int      // interactive transactions waiting or running here
	lock        *os.File // sidecar for the cross-process lock; nil without one
}

var gates sync.Map // absolute workspace path -> *writeGate

func gateFor(path string) *writeGate { return perWorkspace(&gates, path, newWriteGate) }

// perWorkspace is the one value of m for the workspace file at path (by
// absolute path, so every Store of a file in this process shares it),
// made by fresh the first time.
func perWorkspace[T any](m *sync.Map, path string, fresh func(abs string) *T) *T {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if v, ok := m.Load(abs); ok {
		return v.(*T)
	}
	v, _ := m.LoadOrStore(abs, fresh(abs))
	return v.(*T)
}

func newWriteGate(path string) *writeGate {
	g := &writeGate{}
	if f, err := os.OpenFile(path+"-writers", os.O_RDWR|os.O_CREATE, 0o644); err == nil {
		g.lock = f
	}
	return g
}

// backgroundPoll is how often a background writer looks again while an
// interactive write of this process is in the way.
const backgroundPoll = 200 * time.Microsecond

// enter is called before a transaction begins; the returned func after it
// ends.
func (g *writeGate) enter(background bool) (leave func()) {
	if g == nil {
		return func() {}
	}
	if background {
		for {
			g.mu.Lock()
			if g.interactive == 0 {
				// Wait out other processes' interactive writers. Holding mu
				// keeps this process's own from taking the shared lock on
				// the same file description meanwhile.
				lockExclusive(g.lock)
				unlock(g.lock)
				g.mu.Unlock()
				return func() {}
			}
			g.mu.Unlock()
			time.Sleep(backgroundPoll)
		}
	}
	g.mu.Lock()
	if g.interactive == 0 {
		lockShared(g.lock)
	}
	g.interactive++
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.interactive--
		if g.interactive == 0 {
			unlock(g.lock)
		}
		g.mu.Unlock()
	}
}

// Background returns the same workspace for a background writer (labeling,
// mining and synthesis runs): its transactions give way to interactive
// ones. Use it for bulk writes, never for an annotator's grade.
func (s *Store) Background() *Store {
	b := *s
	b.background = true
	return &b
}
