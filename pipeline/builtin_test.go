package pipeline

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// builtinDocs: for "falcon roadmap", a is about exactly that, b names only
// falcon, c only roadmap (in a longer text), e neither; f1..f3 are unpaired
// documents that make both terms rare. No document contains a word that is
// also an FTS5 keyword of q2 (and, or, near, not).
var builtinDocs = []tdoc{
	{"a", "Falcon roadmap", "The falcon roadmap: falcon milestones for the quarter."},
	{"b", "Falcon", "Falcon team notes from the weekly sync."},
	{"c", "Planning overview", "General roadmap planning guidance for every team in the company during the coming year."},
	{"e", "Lunch menu", "Pizza, pasta with salad on Friday."},
	{"f1", "Payments", "The payments service."},
	{"f2", "Search", "The search service."},
	{"f3", "Mobile", "The mobile app."},
}

var builtinQueries = []tquery{
	{"q1", "falcon roadmap", []string{"a", "b", "c", "e"}},
	// FTS5 syntax and punctuation must be plain words, never an error.
	{"q2", `"falcon" NEAR(roadmap* OR) AND -c:x ( ^falcon`, []string{"a", "b", "c", "e"}},
	// No searchable term at all.
	{"q3", `*:()" -- ^`, []string{"a", "b", "c", "e"}},
	{"q4", `falcon's "roadmap"?`, []string{"a", "e"}},
}

func builtinGrades(t *testing.T, st *store.Store, name string) map[string]store.Judgment {
	t.Helper()
	lab, err := st.Labeler(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Judgment{}
	ids, _ := st.PairIDs(context.Background())
	js := judgments(t, st, lab.ID)
	for k, id := range ids {
		if j, ok := js[id]; ok {
			out[k.Query+"/"+k.Doc] = j
		}
	}
	return out
}

func TestBuiltinLabelers(t *testing.T) {
	ctx := context.Background()
	st := newWorkspace(t, "0-3")
	pairs := populate(t, st, builtinDocs, builtinQueries)

	want := map[string]map[string]int{
		"bm25": {
			// 4 candidates on 0-3: rank 1 → 3, 2 → 2, 3 → 1; no match → 0
			"q1/a": 3, "q1/b": 2, "q1/c": 1, "q1/e": 0,
			"q2/a": 3, "q2/b": 2, "q2/c": 1, "q2/e": 0,
			"q3/a": 0, "q3/b": 0, "q3/c": 0, "q3/e": 0,
			// 2 candidates: rank 1 → 3, no match → 0
			"q4/a": 3, "q4/e": 0,
		},
		"lexical": {
			// half the query terms → 1 (related); all of them, in the title → 3
			"q1/a": 3, "q1/b": 1, "q1/c": 1, "q1/e": 0,
			"q3/a": 0, "q3/b": 0, "q3/c": 0, "q3/e": 0,
			"q4/a": 3, "q4/e": 0,
		},
	}
	for _, name := range []string{"bm25", "lexical"} {
		var log progressLog
		run, err := Label(ctx, st, LabelOptions{Labeler: name, Progress: log.add})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if run.Status != store.RunDone || run.Done != len(pairs) || run.Failed != 0 || run.CostUSD != 0 || run.TokensIn != 0 {
			t.Fatalf("%s run: %+v", name, run)
		}
		log.checkMonotone(t, len(pairs), store.RunDone)
		got := builtinGrades(t, st, name)
		if len(got) != len(pairs) {
			t.Fatalf("%s graded %d of %d pairs", name, len(got), len(pairs))
		}
		for k, j := range got {
			if j.Status != store.StatusOK || j.Grade < 0 || j.Grade > 3 || !j.HasExpected ||
				math.IsNaN(j.Expected) || j.Expected < 0 || j.Expected > 3 || j.PromptVersion == "" {
				t.Errorf("%s %s: %+v", name, k, j)
			}
			if w, ok := want[name][k]; ok && j.Grade != w {
				t.Errorf("%s %s: grade %d (expected %.3f), want %d", name, k, j.Grade, j.Expected, w)
			}
		}
		// BM25's expected grade orders documents like BM25 does.
		if name == "bm25" && !(got["q1/a"].Expected > got["q1/b"].Expected && got["q1/b"].Expected > got["q1/c"].Expected && got["q1/c"].Expected > got["q1/e"].Expected) {
			t.Errorf("bm25 expected grades out of BM25 order: a %g b %g c %g e %g",
				got["q1/a"].Expected, got["q1/b"].Expected, got["q1/c"].Expected, got["q1/e"].Expected)
		}

		// Nothing left: a rerun grades nothing; --all regrades everything
		// to the very same grades (deterministic).
		if r, err := Label(ctx, st, LabelOptions{Labeler: name}); err != nil || r.Done != 0 {
			t.Fatalf("%s rerun: %+v %v", name, r, err)
		}
		r2, err := Label(ctx, st, LabelOptions{Labeler: name, All: true})
		if err != nil || r2.Done != len(pairs) {
			t.Fatalf("%s --all: %+v %v", name, r2, err)
		}
		again := builtinGrades(t, st, name)
		for k, j := range got {
			if a := again[k]; a.Grade != j.Grade || a.Expected != j.Expected || a.RunID != r2.ID {
				t.Errorf("%s %s: regrade gave %d/%g (run %d), first %d/%g", name, k, a.Grade, a.Expected, a.RunID, j.Grade, j.Expected)
			}
		}
	}

	// The same corpus in a fresh workspace grades the same.
	st2 := newWorkspace(t, "0-3")
	populate(t, st2, builtinDocs, builtinQueries)
	for _, name := range []string{"bm25", "lexical"} {
		if _, err := Label(ctx, st2, LabelOptions{Labeler: name}); err != nil {
			t.Fatal(err)
		}
		a, b := builtinGrades(t, st, name), builtinGrades(t, st2, name)
		for k := range a {
			if a[k].Grade != b[k].Grade || a[k].Expected != b[k].Expected {
				t.Errorf("%s %s: %d/%g in one workspace, %d/%g in another", name, k, a[k].Grade, a[k].Expected, b[k].Grade, b[k].Expected)
			}
		}
	}
}

// TestBuiltinGradeDoesNotDependOnPending: a pair's built-in grade is the
// same whether its query's other pairs are pending or already graded.
func TestBuiltinGradeDoesNotDependOnPending(t *testing.T) {
	ctx := context.Background()
	full := newWorkspace(t, "0-3")
	populate(t, full, builtinDocs, builtinQueries)
	part := newWorkspace(t, "0-3")
	populate(t, part, builtinDocs, builtinQueries)
	for _, name := range []string{"bm25", "lexical"} {
		if _, err := Label(ctx, full, LabelOptions{Labeler: name}); err != nil {
			t.Fatal(err)
		}
		for _, lim := range []int{1, 2, 3, 100} { // a few pairs at a time
			if _, err := Label(ctx, part, LabelOptions{Labeler: name, Limit: lim}); err != nil {
				t.Fatal(err)
			}
		}
		a, b := builtinGrades(t, full, name), builtinGrades(t, part, name)
		if len(a) != len(b) {
			t.Fatalf("%s: %d vs %d graded", name, len(a), len(b))
		}
		for k := range a {
			if a[k].Grade != b[k].Grade || math.Abs(a[k].Expected-b[k].Expected) > 1e-12 {
				t.Errorf("%s %s: %d/%g at once, %d/%g in parts", name, k, a[k].Grade, a[k].Expected, b[k].Grade, b[k].Expected)
			}
		}
	}
}

// TestLabelInProcessCancelResume: an in-process run stopped (Ctrl-C) after
// its first commit keeps what it committed, its counts equal to its
// judgments; the rerun resumes it and grades only the rest, each pair
// once in the history.
func TestLabelInProcessCancelResume(t *testing.T) {
	st := benchWorkspace(t, 200, 100) // 20,000 pairs: about ten chunks
	const n = 20000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run1, err := Label(ctx, st, LabelOptions{Labeler: "lexical", Progress: func(p Progress) {
		if p.Done > 0 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled run returned %v", err)
	}
	lab, _ := st.Labeler(context.Background(), "lexical")
	stored, _ := st.Run(context.Background(), run1.ID)
	got := len(judgments(t, st, lab.ID))
	if stored.Status != store.RunInterrupted || stored.Done != got || got == 0 || got >= n || stored.Total != n {
		t.Fatalf("interrupted run %+v with %d judgments", stored, got)
	}
	run2, err := Label(context.Background(), st, LabelOptions{Labeler: "lexical"})
	if err != nil || run2.ID != run1.ID || run2.Status != store.RunDone || run2.Done != n || run2.Total != n {
		t.Fatalf("resumed run %+v: %v", run2, err)
	}
	var rows, pairs int
	if err := st.DB().QueryRow(`SELECT count(*), count(DISTINCT pair_id) FROM judgment_history WHERE labeler_id = ?`, lab.ID).Scan(&rows, &pairs); err != nil {
		t.Fatal(err)
	}
	if rows != n || pairs != n {
		t.Fatalf("%d history rows over %d pairs, want %d each", rows, pairs, n)
	}
}
