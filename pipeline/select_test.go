package pipeline

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/pipeline/features"
	"github.com/qrelbench/qrelbench/pipeline/selection"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
)

// TestLabelSelectChoosesAndResumes: --select student-uncertain with a limit
// grades exactly the pairs the untrained student (lexical's probabilities)
// is least sure of, computed independently here; an interrupted selection
// resumes the same pairs, so the budget is kept and nothing is paid twice;
// random and diverse grade the limit too.
func TestLabelSelectChoosesAndResumes(t *testing.T) {
	const n, limit, stopAt = 60, 12, 5
	st, pairs := modelWorkspace(t, n, func(i int) string {
		// vary the text: more or fewer of the query's words
		return fmt.Sprintf("GRADE=%d", i%4) + strings.Repeat(" falcon roadmap", i%3) + strings.Repeat(" other words", i%5)
	})
	docOf := pairDoc(pairs)
	f := newFakeLLM(t, grades03)
	lab := addModelLabeler(t, st, "gpt", f, store.LabelerConfig{Concurrency: 2, TimeoutSec: 10})
	ctx := context.Background()

	// independently: lexical's probabilities, the highest entropies
	m := student.Lexical(0, 3)
	var cands []selection.Candidate
	qs, _ := st.Queries(ctx)
	for _, q := range qs {
		views, err := st.PairViews(ctx, store.PairFilter{QueryID: q.ID})
		if err != nil {
			t.Fatal(err)
		}
		fps, idx, err := CandidateFeatures(ctx, st, views)
		if err != nil {
			t.Fatal(err)
		}
		xs := features.ExtractGroup(fps, nil)
		for i, v := range views {
			g, _, p := m.Predict(xs[idx[i]], nil)
			cands = append(cands, selection.Candidate{PairID: v.ID, Query: q.ExtID, Probs: p, Grade: g})
		}
	}
	want, _ := selection.Select(cands, limit, selection.StudentUncertain, 7)

	f.blockAfter.Store(stopAt)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opt := LabelOptions{Labeler: "gpt", Limit: limit, Select: selection.StudentUncertain, SelectSeed: 7, DrainTimeout: 50 * time.Millisecond}
	opt.Progress = func(p Progress) {
		if p.Done >= stopAt {
			cancel()
		}
	}
	run1, err := Label(cctx, st, opt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled run returned %v", err)
	}
	stored, _ := st.Run(ctx, run1.ID)
	if !strings.Contains(stored.Error, "--select student-uncertain --seed 7") || !strings.Contains(stored.Error, "--limit 12") {
		t.Errorf("resume command %q", stored.Error)
	}
	f.blockAfter.Store(0)
	opt.Progress = nil
	run2, err := Label(ctx, st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if run2.ID != run1.ID || run2.Done != limit {
		t.Fatalf("resumed run %+v (first %d)", run2, run1.ID)
	}
	js := judgments(t, st, lab.ID)
	var got []int64
	for id := range js {
		got = append(got, id)
	}
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Fatalf("graded %v, the selection is %v", got, w)
	}
	_, paid := f.counts()
	for _, id := range got {
		if paid[docOf[id]] != 1 {
			t.Errorf("%s paid %d times", docOf[id], paid[docOf[id]])
		}
	}

	// another selection of the rest: random and diverse each take the limit
	// among the pairs not yet graded
	for _, how := range []string{selection.Random, selection.Diverse} {
		before := len(judgments(t, st, lab.ID))
		run, err := Label(ctx, st, LabelOptions{Labeler: "gpt", Limit: 10, Select: how, SelectSeed: 1})
		if err != nil || run.Done != 10 || len(judgments(t, st, lab.ID)) != before+10 {
			t.Fatalf("%s: run %+v, %v", how, run, err)
		}
	}
	for name, o := range map[string]LabelOptions{
		"no limit":        {Labeler: "gpt", Select: selection.Random},
		"unknown":         {Labeler: "gpt", Limit: 3, Select: "smart"},
		"unknown student": {Labeler: "gpt", Limit: 3, Select: selection.StudentUncertain, SelectStudent: "nobody"},
	} {
		if _, err := Label(ctx, st, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
