package store

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestBackgroundGivesWay: while a background batch holds the write lock, an
// interactive write queues behind it, and a second background batch that
// arrives after the interactive write does not overtake it — even through
// another Store of the same file. Without the gate both would race in
// SQLite's busy handler.
func TestBackgroundGivesWay(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	st, err := Create(ctx, path, Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	other, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	var mu sync.Mutex
	var order []string
	record := func(s string) {
		mu.Lock()
		order = append(order, s)
		mu.Unlock()
	}
	release := make(chan struct{})
	holding := make(chan struct{})
	errs := make(chan error, 3)
	go func() { // background batch A holds the write lock
		errs <- other.Background().Tx(ctx, func(tx *Store) error {
			if _, err := tx.h.ExecContext(ctx, `INSERT INTO workspace(key, value) VALUES ('a', '1')`); err != nil {
				return err
			}
			close(holding)
			<-release
			return nil
		})
	}()
	<-holding
	go func() { // the annotator's write waits for A
		errs <- st.Tx(ctx, func(tx *Store) error {
			record("interactive")
			return nil
		})
	}()
	waiting := func() bool {
		st.gate.mu.Lock()
		defer st.gate.mu.Unlock()
		return st.gate.interactive > 0
	}
	for deadline := time.Now().Add(time.Second); !waiting() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // and into SQLite's busy wait
	go func() {                       // background batch B arrives while the annotator waits
		errs <- other.Background().Tx(ctx, func(tx *Store) error {
			record("background")
			return nil
		})
	}()
	time.Sleep(20 * time.Millisecond)
	close(release)
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if len(order) != 2 || order[0] != "interactive" {
		t.Fatalf("order %v: the annotator's write must go before the later background batch", order)
	}
}

// TestBackgroundGivesWayAcrossProcesses: two gates on the same file with
// their own lock descriptors behave as two processes do: a background batch
// does not begin while the other "process" has an interactive write open.
func TestBackgroundGivesWayAcrossProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.db")
	serve, label := newWriteGate(path), newWriteGate(path)
	if serve.lock == nil || label.lock == nil {
		t.Skip("no sidecar lock file")
	}
	leave := serve.enter(false) // an annotator's write in the server
	began := make(chan struct{})
	go func() {
		label.enter(true)() // a batch in `qrelbench label`
		close(began)
	}()
	select {
	case <-began:
		t.Fatal("the other process's batch began during an interactive write")
	case <-time.After(50 * time.Millisecond):
	}
	leave()
	select {
	case <-began:
	case <-time.After(5 * time.Second):
		t.Fatal("the batch did not begin after the interactive write ended")
	}
}
