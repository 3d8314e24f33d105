package store

import (
	"context"
	"testing"
)

// TestChangesAcrossStores: every kind of change made through a second Store
// on the same file (another process, as far as SQLite is concerned) moves
// exactly the marker a poller watches for it, and reading changes nothing.
func TestChangesAcrossStores(t *testing.T) {
	ctx := context.Background()
	st, ids, h := browseWorkspace(t)
	other, err := Open(ctx, st.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	read := func() Changes {
		t.Helper()
		c, err := st.Changes(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c0 := read()
	if c0.Pairs != ids[len(ids)-1] || c0.History != 0 {
		t.Fatalf("initial %+v", c0)
	}
	if c := read(); c != c0 {
		t.Fatalf("reading changed the markers: %+v then %+v", c0, c)
	}
	step := func(what string, do func() error, moved func(a, b Changes) bool) {
		t.Helper()
		before := read()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		after := read()
		if !moved(before, after) {
			t.Fatalf("%s: markers %+v -> %+v", what, before, after)
		}
		// Only the expected marker moved.
		b2 := before
		switch what {
		case "pair":
			b2.Pairs = after.Pairs
		case "query":
			b2.Queries = after.Queries
		case "grade", "undo":
			b2.History = after.History
		case "labeler", "labeler edit":
			b2.Labelers = after.Labelers
		case "run", "run progress":
			b2.Runs = after.Runs
		case "query text":
			b2.Corpus = after.Corpus
		}
		if b2 != after {
			t.Errorf("%s moved other markers too: %+v -> %+v", what, before, after)
		}
	}
	var q Query
	step("query", func() error {
		q = Query{ExtID: "q-new", Text: "brand new query"}
		_, err := other.PutQuery(ctx, &q, false)
		return err
	}, func(a, b Changes) bool { return b.Queries > a.Queries })
	step("pair", func() error {
		p := Pair{QueryID: q.ID, DocID: 1, Source: SourceImported}
		_, err := other.PutPair(ctx, &p)
		return err
	}, func(a, b Changes) bool { return b.Pairs > a.Pairs })
	step("grade", func() error {
		return other.PutJudgment(ctx, &Judgment{PairID: ids[0], LabelerID: h.ID, Grade: 2, Status: StatusOK})
	}, func(a, b Changes) bool { return b.History > a.History })
	step("undo", func() error {
		_, _, err := other.Undo(ctx, h.ID)
		return err
	}, func(a, b Changes) bool { return b.History > a.History })
	var l Labeler
	step("labeler", func() error {
		l = Labeler{Name: "gpt", Kind: KindLLM, Model: "x"}
		return other.AddLabeler(ctx, &l)
	}, func(a, b Changes) bool { return b.Labelers > a.Labelers })
	step("labeler edit", func() error {
		l.Role = "teacher"
		return other.UpdateLabeler(ctx, l)
	}, func(a, b Changes) bool { return b.Labelers > a.Labelers })
	var r Run
	step("run", func() error {
		r = Run{Kind: RunLabeling, LabelerID: l.ID, Total: 3}
		return other.StartRun(ctx, &r)
	}, func(a, b Changes) bool { return b.Runs > a.Runs })
	step("run progress", func() error {
		return other.AddRunProgress(ctx, r.ID, RunDelta{Done: 1})
	}, func(a, b Changes) bool { return b.Runs > a.Runs })
	step("query text", func() error {
		q.Text = "an edited query"
		_, err := other.PutQuery(ctx, &q, true)
		return err
	}, func(a, b Changes) bool { return b.Corpus > a.Corpus })
}
