package distill

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
)

func TestTrainStoresModelAndLabelUsesIt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 8, 8)
	res, err := Train(ctx, f.st, TrainOptions{Teacher: "teacher", Labeler: "mini"})
	if err != nil {
		t.Fatal(err)
	}
	// 8 queries × 8 pairs, one failed per query, 2×3 human-graded left out
	if res.Pairs != 8*8-8-6 || res.HumanSkipped != 6 || res.Queries != 8 || res.Retrained {
		t.Fatalf("result %+v", res)
	}
	lab, err := f.st.Labeler(ctx, "mini")
	if err != nil {
		t.Fatal(err)
	}
	if lab.Kind != store.KindStudent || lab.Role != "student" || lab.BaseURL != "" || lab.Model != "" {
		t.Errorf("labeler %+v", lab)
	}
	for _, want := range []string{"teacher teacher", "50 pairs", "8 queries", "q0,q1"} {
		if !strings.Contains(lab.Description, want) {
			t.Errorf("description %q lacks %q", lab.Description, want)
		}
	}
	m, err := student.Load(lab.Config.Student)
	if err != nil {
		t.Fatal(err)
	}
	if m.Summary.N != res.Pairs || m.MinGrade != 0 || m.MaxGrade != 3 || m.Options.Method != student.MethodLexicalPrior {
		t.Errorf("stored model: summary %+v options %+v", m.Summary, m.Options)
	}
	if res.Model.Summary.TrainKappa < 0.5 {
		t.Errorf("train kappa %.3f on grades that follow the text", res.Model.Summary.TrainKappa)
	}
	// the training run
	runs, err := f.st.Runs(ctx, store.RunTraining, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Labeler != "mini" || runs[0].Status != store.RunDone || runs[0].Done != res.Pairs || runs[0].ID != res.Run.ID {
		t.Fatalf("training runs %+v", runs)
	}
	var params trainParams
	if err := json.Unmarshal(runs[0].Params, &params); err != nil || params.Teacher != "teacher" || len(params.TrainQueries) != 8 {
		t.Errorf("run params %s (%v)", runs[0].Params, err)
	}

	// label runs it in-process, with probabilities
	run, err := pipeline.Label(ctx, f.st, pipeline.LabelOptions{Labeler: "mini"})
	if err != nil {
		t.Fatal(err)
	}
	if run.Done != 64 || run.Failed != 0 {
		t.Fatalf("labeling run %+v", run)
	}
	agree, n := 0, 0
	for _, id := range f.pairs {
		j, ok, err := f.st.Judgment(ctx, id, lab.ID)
		if err != nil || !ok {
			t.Fatalf("pair %d: no student judgment (%v)", id, err)
		}
		if j.Status != store.StatusOK || len(j.Probs) != 4 || !j.HasExpected || !strings.HasPrefix(j.PromptVersion, "student/") {
			t.Fatalf("judgment %+v", j)
		}
		sum := 0.0
		for _, p := range j.Probs {
			sum += p
		}
		if sum < 0.999 || sum > 1.001 {
			t.Errorf("probabilities sum to %v", sum)
		}
		tj, _, _ := f.st.Judgment(ctx, id, f.teacher.ID)
		if tj.Status == store.StatusOK {
			n++
			if tj.Grade == j.Grade {
				agree++
			}
		}
	}
	if float64(agree) < 0.6*float64(n) {
		t.Errorf("student agrees with the teacher on %d of %d pairs", agree, n)
	}
}

func TestTrainQueriesHumanAndRetrain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 8, 8)
	// only queries q0..q3, human-graded pairs included
	res, err := Train(ctx, f.st, TrainOptions{Teacher: "teacher", Labeler: "mini", Queries: []string{"q3", "q0", "q1", "q2"}, IncludeHumanGraded: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pairs != 4*7 || res.HumanSkipped != 0 || res.Queries != 4 {
		t.Fatalf("result %+v", res)
	}
	if !strings.Contains(res.Labeler.Description, "humans also graded") {
		t.Errorf("description %q does not warn about human-graded pairs", res.Labeler.Description)
	}
	if _, err := pipeline.Label(ctx, f.st, pipeline.LabelOptions{Labeler: "mini"}); err != nil {
		t.Fatal(err)
	}
	old := res.Labeler.Config.Student

	// exclude-query; retraining replaces the model, keeps the judgments
	res2, err := Train(ctx, f.st, TrainOptions{Teacher: "teacher", Labeler: "mini", ExcludeQueries: []string{"q0", "q1"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Retrained || res2.Pairs != 6*7 || res2.Labeler.ID != res.Labeler.ID {
		t.Fatalf("retrain result %+v", res2)
	}
	lab, _ := f.st.Labeler(ctx, "mini")
	if string(lab.Config.Student) == string(old) {
		t.Error("retraining kept the old model")
	}
	if p, _ := f.st.LabelerProgress(ctx, lab.ID); p.Graded != 64 {
		t.Errorf("old judgments: %d, want 64 kept until relabeled", p.Graded)
	}
	runs, _ := f.st.Runs(ctx, store.RunTraining, 0)
	if len(runs) != 2 {
		t.Errorf("%d training runs, want 2", len(runs))
	}

	// errors
	for name, opt := range map[string]TrainOptions{
		"unknown query":       {Teacher: "teacher", Labeler: "x", Queries: []string{"nope"}},
		"both filters":        {Teacher: "teacher", Labeler: "x", Queries: []string{"q0"}, ExcludeQueries: []string{"q1"}},
		"unknown teacher":     {Teacher: "nobody", Labeler: "x"},
		"teacher is student":  {Teacher: "teacher", Labeler: "teacher"},
		"not a student":       {Teacher: "teacher", Labeler: "lexical"},
		"teacher w/o grades":  {Teacher: "bm25", Labeler: "x"},
		"bad name":            {Teacher: "teacher", Labeler: "a b"},
		"single-grade result": {Teacher: "human:alice", Labeler: "x", Queries: []string{"q9"}},
	} {
		if _, err := Train(ctx, f.st, opt); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := f.st.Labeler(ctx, "x"); err == nil {
		t.Error("a failed training left a labeler behind")
	}

	// every teacher grade is on a human-graded pair: say how to go on
	small := newFixture(t, 2, 3)
	_, err = Train(ctx, small.st, TrainOptions{Teacher: "teacher", Labeler: "x"})
	if err == nil || !strings.Contains(err.Error(), "--include-human-graded") {
		t.Errorf("only human-graded pairs: error %v", err)
	}
	// explicit student options are used, on the workspace scale
	res3, err := Train(ctx, small.st, TrainOptions{Teacher: "teacher", Labeler: "x", IncludeHumanGraded: true,
		Student: &student.TrainOptions{L2: 0.5, Method: student.MethodOrdinal}})
	if err != nil {
		t.Fatal(err)
	}
	if o := res3.Model.Options; o.L2 != 0.5 || o.Calibrate || o.MinGrade != 0 || o.MaxGrade != 3 {
		t.Errorf("options %+v", o)
	}
}
