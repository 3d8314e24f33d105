package store

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// putChange records a grade and returns the change PutJudgment made.
func putChange(t testing.TB, st *Store, lab, pair int64, grade int, note string) int64 {
	t.Helper()
	j := Judgment{PairID: pair, LabelerID: lab, Grade: grade, Status: StatusOK, Note: note}
	if err := st.PutJudgment(context.Background(), &j); err != nil {
		t.Fatal(err)
	}
	if j.HistoryID == 0 {
		t.Fatal("PutJudgment set no HistoryID")
	}
	return j.HistoryID
}

// UndoChange takes back exactly the change named, not the labeler's latest,
// and refuses one that a later change superseded or that was undone.
func TestUndoChangeIsExact(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 1, 3)
	alice, bob := human(t, st, "alice"), human(t, st, "bob")
	a := putChange(t, st, alice, pairs[0], 2, "first")
	b := putChange(t, st, alice, pairs[1], 1, "")
	b2 := putChange(t, st, alice, pairs[1], 3, "changed my mind")
	c := putChange(t, st, alice, pairs[2], 0, "") // the latest change

	// The older change a, not the latest c.
	ch, err := st.UndoChange(ctx, alice, a)
	if err != nil || ch.PairID != pairs[0] || ch.Grade != 2 || ch.Had {
		t.Fatalf("undo a: %+v %v", ch, err)
	}
	if _, ok, _ := st.Judgment(ctx, pairs[0], alice); ok {
		t.Fatal("undo a left the grade")
	}
	if j, ok, _ := st.Judgment(ctx, pairs[2], alice); !ok || j.Grade != 0 {
		t.Fatalf("undo a touched the latest change: %+v %v", j, ok)
	}
	if _, err := st.UndoChange(ctx, alice, a); !errors.Is(err, ErrUndone) {
		t.Fatalf("second undo of a: %v", err)
	}
	// b was superseded by b2: refused, b2 stands.
	if _, err := st.UndoChange(ctx, alice, b); !errors.Is(err, ErrChangedSince) {
		t.Fatalf("undo of a superseded change: %v", err)
	}
	if j, _, _ := st.Judgment(ctx, pairs[1], alice); j.Grade != 3 || j.Note != "changed my mind" {
		t.Fatalf("superseded undo changed the grade: %+v", j)
	}
	// Undoing b2 restores b's value; then b itself can go.
	ch, err = st.UndoChange(ctx, alice, b2)
	if err != nil || !ch.Had || ch.PrevGrade != 1 || ch.PrevStatus != StatusOK {
		t.Fatalf("undo b2: %+v %v", ch, err)
	}
	if j, _, _ := st.Judgment(ctx, pairs[1], alice); j.Grade != 1 || j.Note != "" {
		t.Fatalf("after undo b2: %+v", j)
	}
	if _, err := st.UndoChange(ctx, alice, b); err != nil {
		t.Fatalf("undo b after b2: %v", err)
	}
	// Another labeler's change is not mine to undo.
	if _, err := st.UndoChange(ctx, bob, c); err == nil {
		t.Fatal("bob undid alice's change")
	}
	if j, ok, _ := st.Judgment(ctx, pairs[2], alice); !ok || j.Grade != 0 {
		t.Fatalf("refused undo changed the grade: %+v %v", j, ok)
	}
	checkHumanCounts(t, st)
}

// UndoAdjudication takes back the decision only: the adjudicator's own
// grades stay, the disagreement is open again, an earlier decision comes
// back with its adjudicator, and a later decision by someone else stands.
func TestUndoAdjudication(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 1, 2)
	alice, bob, carol := human(t, st, "alice"), human(t, st, "bob"), human(t, st, "carol")
	for _, n := range []string{"human:alice", "human:carol"} {
		if err := st.SetAdjudicator(ctx, n, true); err != nil {
			t.Fatal(err)
		}
	}
	own := putChange(t, st, carol, pairs[1], 2, "carol's own grade")
	put(t, st, alice, pairs[0], 1, StatusOK)
	put(t, st, bob, pairs[0], 3, StatusOK)
	open := func() int {
		ds, err := st.Disagreements(ctx, DisagreementOptions{Unresolved: true})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	first, err := st.Adjudicate(ctx, pairs[0], carol, 2, "partly")
	if err != nil || open() != 0 {
		t.Fatalf("adjudicate: %v, %d open", err, open())
	}
	a, err := st.UndoAdjudication(ctx, carol, first)
	if err != nil || a.PairID != pairs[0] || a.Grade != 2 || !a.Undone {
		t.Fatalf("undo: %+v %v", a, err)
	}
	gold, _ := st.Labeler(ctx, GoldLabeler)
	if _, ok, _ := st.Judgment(ctx, pairs[0], gold.ID); ok {
		t.Fatal("gold grade left after undo")
	}
	if open() != 1 {
		t.Fatal("the disagreement is not open again")
	}
	if j, ok, _ := st.Judgment(ctx, pairs[1], carol); !ok || j.Grade != 2 || j.Note != "carol's own grade" {
		t.Fatalf("undoing the decision touched carol's own grade: %+v %v", j, ok)
	}
	if _, err := st.UndoChange(ctx, carol, own); err != nil {
		t.Fatalf("carol's own change is still hers to undo: %v", err)
	}
	if _, err := st.UndoAdjudication(ctx, carol, first); !errors.Is(err, ErrUndone) {
		t.Fatalf("second undo: %v", err)
	}
	// carol decides 3, alice then decides 0: alice's undo brings carol's back.
	second, _ := st.Adjudicate(ctx, pairs[0], carol, 3, "on second thought")
	third, _ := st.Adjudicate(ctx, pairs[0], alice, 0, "")
	if _, err := st.UndoAdjudication(ctx, carol, second); !errors.Is(err, ErrChangedSince) {
		t.Fatalf("undo of a decision decided again since: %v", err)
	}
	if _, err := st.UndoAdjudication(ctx, carol, third); err == nil {
		t.Fatal("carol undid alice's decision")
	}
	if _, err := st.UndoAdjudication(ctx, alice, third); err != nil {
		t.Fatal(err)
	}
	j, ok, _ := st.Judgment(ctx, pairs[0], gold.ID)
	if !ok || j.Grade != 3 || j.Note != "on second thought" || j.Reason != "adjudicated by human:carol" {
		t.Fatalf("gold after undoing alice's decision: %+v %v", j, ok)
	}
	as, _ := st.Adjudications(ctx, pairs[0])
	if len(as) != 3 || !as[0].Undone || as[1].Undone || !as[2].Undone {
		t.Fatalf("adjudications on record: %+v", as)
	}
	checkHumanCounts(t, st)
}

// Workload counts what NextPair will serve: at K=1 pairs with an imported
// human grade are full (and whose grades fill them is said); at K=2 they
// are served again. The counts match what NextPair actually serves.
func TestWorkload(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	pairs := fixture(t, st, 2, 3) // 6 pairs
	imported := human(t, st, "imported")
	for _, p := range pairs[:4] {
		put(t, st, imported, p, 1, StatusOK)
	}
	alice := human(t, st, "alice")
	put(t, st, alice, pairs[4], 2, StatusOK)
	put(t, st, alice, pairs[0], 0, StatusUnsure)
	served := func(k int) int {
		bob := human(t, st, "bob")
		n := 0
		var skip []int64
		for {
			v, ok, err := st.NextPair(ctx, bob, AssignOptions{K: k, Skip: skip})
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			n++
			skip = append(skip, v.ID)
		}
		st.ReleaseLeases(ctx, bob)
		return n
	}
	w, err := st.Workload(ctx, alice, 1)
	if err != nil {
		t.Fatal(err)
	}
	// K=1: pairs[5] only (4 imported, 1 graded by alice, pairs[0] also unsure).
	if w.K != 1 || w.Left != 1 || w.Full != 3 || w.FullBy != nil {
		t.Fatalf("K=1 alice: %+v", w)
	}
	b, _ := st.Workload(ctx, human(t, st, "bob"), 1)
	if b.Left != served(1) || b.Left != 1 || b.Full != 5 {
		t.Fatalf("K=1 bob: %+v, NextPair serves %d", b, served(1))
	}
	put(t, st, imported, pairs[5], 3, StatusOK)
	w, _ = st.Workload(ctx, alice, 1)
	if w.Left != 0 || w.Full != 4 || len(w.FullBy) != 1 || w.FullBy[0] != (LabelerCount{"human:imported", 4}) {
		t.Fatalf("K=1 alice, nothing left: %+v", w)
	}
	// K=2: every pair alice has not judged is served again.
	w, _ = st.Workload(ctx, alice, 2)
	if w.Left != 4 || w.Full != 0 {
		t.Fatalf("K=2 alice: %+v", w)
	}
	b, _ = st.Workload(ctx, human(t, st, "bob"), 2)
	if b.Left != served(2) || b.Left != 6 {
		t.Fatalf("K=2 bob: %+v, NextPair serves %d", b, served(2))
	}
	// K=0 is the workspace's setting.
	st.SetAssignK(ctx, 2)
	if w, _ := st.Workload(ctx, alice, 0); w.K != 2 || w.Left != 4 {
		t.Fatalf("K from the workspace: %+v", w)
	}
}

func TestGuidelines(t *testing.T) {
	ctx := context.Background()
	st := newTestStore(t, "0-3")
	if g, err := st.Guidelines(ctx); err != nil || g.Text != "" {
		t.Fatalf("fresh workspace: %+v %v", g, err)
	}
	if err := st.SetGuidelines(ctx, "# Guidelines\n\nGrade the **answer**, not the topic.\n", "rules.md"); err != nil {
		t.Fatal(err)
	}
	g, err := st.Guidelines(ctx)
	if err != nil || g.Text != "# Guidelines\n\nGrade the **answer**, not the topic.\n" || g.Source != "rules.md" || g.UpdatedAt.IsZero() {
		t.Fatalf("stored: %+v %v", g, err)
	}
	for _, bad := range []string{"\xff\xfe", "a\x00b", "  \n", strings.Repeat("x", MaxGuidelines+1)} {
		if err := st.SetGuidelines(ctx, bad, "bad.md"); err == nil {
			t.Errorf("guidelines %.10q accepted", bad)
		}
	}
	if g, _ := st.Guidelines(ctx); g.Source != "rules.md" {
		t.Fatalf("a refused text changed the guidelines: %+v", g)
	}
	if err := st.SetGuidelines(ctx, "", ""); err != nil {
		t.Fatal(err)
	}
	if g, _ := st.Guidelines(ctx); g.Text != "" || g.Source != "" {
		t.Fatalf("removed: %+v", g)
	}
}
