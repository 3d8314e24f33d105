package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// TestStudentEstimateShown: a student trained with an estimate shows it on
// Stats (with the plain verdict) and under the labeler field of the Runs
// form when it is the labeler chosen; an unreliable, not-better estimate is
// said to be so.
func TestStudentEstimateShown(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	est := &store.StudentEstimate{Teacher: "gpt4o", Queries: 7, Pairs: 1066, Folds: 7, Bootstrap: 1000,
		Student:    store.EstimateAgreement{Kappa: 0.12, KappaCI: [2]float64{0.05, 0.2}, QuadKappa: 0.3},
		Lexical:    store.EstimateAgreement{Kappa: 0.18, QuadKappa: 0.4},
		Unreliable: "from 7 queries (fewer than 30)"}
	stu := store.Labeler{Name: "stu", Kind: store.KindStudent, Role: "student", Config: store.LabelerConfig{Estimate: est}}
	if err := f.st.AddLabeler(ctx, &stu); err != nil {
		t.Fatal(err)
	}
	for _, p := range f.pairs {
		if err := f.st.PutJudgment(ctx, &store.Judgment{PairID: p, LabelerID: stu.ID, Grade: 1, Status: store.StatusOK}); err != nil {
			t.Fatal(err)
		}
	}
	job := Job{Kind: store.RunLabeling, Title: "labeling", About: "grades pairs",
		Labelers: func(ls []store.Labeler) []string { return []string{"stu"} }, LabelerHint: "who grades",
		Start: func(context.Context, *store.Store, JobArgs, func(Progress)) error { return nil }}
	d := newDriver(t, f, Options{Annotator: "alice", Jobs: []Job{job}}, 140, 60)
	d.keys("2", "ctrl+s")
	if d.m.screen != scrStats {
		d.run(d.m.show(scrStats))
	}
	s := d.screen()
	for _, want := range []string{"Students", "expected agreement with the teacher on new queries", "new-query κ 0.12 [0.05, 0.20] vs lexical 0.18 (7 queries)",
		"not better than lexical, unreliable", "stu is NOT expected to beat lexical on new queries", "label --labeler gpt4o"} {
		if !strings.Contains(s, want) {
			t.Errorf("Stats lacks %q:\n%s", want, s)
		}
	}
	d.keys("ctrl+r", "n", "down")
	if s := d.screen(); !strings.Contains(s, "‹ stu ›") || !strings.Contains(s, "at training: new-query κ 0.12") {
		t.Errorf("Runs form without the estimate:\n%s", s)
	}
}
