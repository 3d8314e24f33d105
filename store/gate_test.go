package store

import (
	"context"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestBackgroundGivesWay: a background transaction does not begin while an
// interactive one is running, even through another Store of the same file,
// and begins as soon as it ends.
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

	release := make(chan struct{})
	inside := make(chan struct{})
	interactiveDone := make(chan error)
	go func() {
		interactiveDone <- st.Tx(ctx, func(tx *Store) error {
			close(inside)
			<-release
			return nil
		})
	}()
	<-inside
	var began atomic.Bool
	backgroundDone := make(chan error)
	go func() {
		backgroundDone <- other.Background().Tx(ctx, func(tx *Store) error {
			began.Store(true)
			return nil
		})
	}()
	time.Sleep(50 * time.Millisecond)
	if began.Load() {
		t.Fatal("the background transaction began while an interactive one was running")
	}
	close(release)
	if err := <-interactiveDone; err != nil {
		t.Fatal(err)
	}
	if err := <-backgroundDone; err != nil || !began.Load() {
		t.Fatalf("background transaction after the interactive one: began=%v err=%v", began.Load(), err)
	}
}
