package store

import (
	"context"
	"sync"
	"testing"
)

// TestEnsureLabelerConcurrent: many sessions of two Stores on one file meet
// a new annotator at once; every one gets the same labeler, none fails with
// "already exists" (two SSH sessions of a new annotator once raced here and
// one of them ended at start).
func TestEnsureLabelerConcurrent(t *testing.T) {
	a := newTestStore(t, "0-3")
	b, err := Open(context.Background(), a.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for round := range 20 {
		name := "human:new" + string(rune('a'+round))
		ids := make([]int64, 16)
		errs := make([]error, 16)
		var wg sync.WaitGroup
		for i := range ids {
			st := a
			if i%2 == 1 {
				st = b
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				l, err := st.EnsureLabeler(context.Background(), name, KindHuman)
				ids[i], errs[i] = l.ID, err
			}()
		}
		wg.Wait()
		for i := range ids {
			if errs[i] != nil || ids[i] == 0 || ids[i] != ids[0] {
				t.Fatalf("%s: session %d got labeler %d, error %v (first got %d)", name, i, ids[i], errs[i], ids[0])
			}
		}
	}
}
