package distill

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/features"
	"github.com/qrelbench/qrelbench/pipeline/lexical"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
)

// heldOut is one teacher-graded training pair's grades for the
// independent recomputation of the estimate.
type heldOut struct {
	query            string
	teacher, student int
	lexical          int
}

// TestEstimateMatchesIndependentComputation recomputes the printed
// estimate from scratch: for each of the 11 training queries, a student
// trained with the same options on the other 10 grades that query's pairs;
// Cohen's kappa (benchmark.CohenKappa) of those held-out grades against the
// teacher must be what Train reported, and so must lexical's. A student
// that saw the held-out query (cross-validation by pair, or the final model
// graded its own training data) would not reproduce it.
func TestEstimateMatchesIndependentComputation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, 11, 8)
	f.addStrictTeacher(t)
	res, err := Train(ctx, f.st, TrainOptions{Teacher: "strict", Labeler: "mini"})
	if err != nil {
		t.Fatal(err)
	}
	e := res.Estimate
	if e == nil || e.Queries != 11 || e.Folds != 11 || e.Pairs != res.Pairs || e.Teacher != "strict" {
		t.Fatalf("estimate %+v (result %+v)", e, res)
	}
	lab, err := f.st.Labeler(ctx, "mini")
	if err != nil || !reflect.DeepEqual(lab.Config.Estimate, e) {
		t.Fatalf("stored estimate %+v, returned %+v (%v)", lab.Config.Estimate, e, err)
	}

	// independent: features, examples and held-out predictions by query
	tgrades, _, err := teacherGrades(ctx, f.st, f.teacher)
	if err != nil {
		t.Fatal(err)
	}
	qs, _ := f.st.Queries(ctx)
	type qdata struct {
		ex  []student.Example
		lex []int
	}
	byQuery := map[string]*qdata{}
	for _, q := range qs {
		views, err := f.st.PairViews(ctx, store.PairFilter{QueryID: q.ID})
		if err != nil {
			t.Fatal(err)
		}
		fps, _, err := pipeline.CandidateFeatures(ctx, f.st, views)
		if err != nil {
			t.Fatal(err)
		}
		d := &qdata{}
		for i, x := range features.ExtractGroup(fps, nil) {
			g, ok := tgrades[views[i].ID]
			if !ok || f.humanOK[views[i].ID] {
				continue
			}
			lg, _ := lexical.Grade(fps[i], 0, 3)
			d.ex = append(d.ex, student.Example{X: x, Grade: g, Query: q.ExtID})
			d.lex = append(d.lex, lg)
		}
		byQuery[q.ExtID] = d
	}
	var out []heldOut
	departed, differs := false, false
	for qid, d := range byQuery {
		var train []student.Example
		for other, od := range byQuery {
			if other != qid {
				train = append(train, od.ex...)
			}
		}
		m, err := student.Train(train, DefaultStudentOptions(f.st.Scale()))
		if err != nil {
			t.Fatal(err)
		}
		departed = departed || !m.Summary.LexicalFallback
		for i, x := range d.ex {
			g, _, _ := m.Predict(x.X, nil)
			out = append(out, heldOut{query: qid, teacher: x.Grade, student: g, lexical: d.lex[i]})
			if fg, _, _ := res.Model.Predict(x.X, nil); fg != g {
				differs = true
			}
		}
	}
	if !departed || !differs {
		t.Fatalf("held-out students departed from lexical: %v, differ from the final student: %v; the fixture does not exercise the cross-validation", departed, differs)
	}
	var tg, sg, lg []int
	for _, h := range out {
		tg, sg, lg = append(tg, h.teacher), append(sg, h.student), append(lg, h.lexical)
	}
	for _, c := range []struct {
		name string
		got  float64
		a, b []int
		w    benchmark.Weighting
	}{
		{"student kappa", e.Student.Kappa, tg, sg, benchmark.Unweighted},
		{"student quadratic kappa", e.Student.QuadKappa, tg, sg, benchmark.Quadratic},
		{"lexical kappa", e.Lexical.Kappa, tg, lg, benchmark.Unweighted},
		{"lexical quadratic kappa", e.Lexical.QuadKappa, tg, lg, benchmark.Quadratic},
	} {
		want, ok := benchmark.CohenKappa(c.a, c.b, 0, 3, c.w)
		if !ok || math.Abs(c.got-want) > 1e-12 {
			t.Errorf("%s: estimate %.6f, recomputed %.6f", c.name, c.got, want)
		}
	}
	if e.Student.KappaCI[0] > e.Student.Kappa || e.Student.KappaCI[1] < e.Student.Kappa || e.Bootstrap != EstimateBootstrap {
		t.Errorf("interval %v around %.3f", e.Student.KappaCI, e.Student.Kappa)
	}
	// humans graded 6 pairs of q0 and q1 (left out of training): the
	// human line covers them
	if e.Human == nil || e.Human.Pairs != 6 || e.Human.Queries != 2 || e.Human.Reference != "human:alice" {
		t.Errorf("human estimate %+v", e.Human)
	}
	if e.Unreliable == "" || !strings.Contains(e.Unreliable, "11 queries") {
		t.Errorf("11 queries not marked unreliable: %q", e.Unreliable)
	}
	text := strings.Join(benchmark.EstimateLines(*e, "mini"), "\n")
	for _, want := range []string{"expected agreement with teacher strict on new queries", "11 queries", "leave-one-query-out", "with humans (human:alice", "unreliable"} {
		if !strings.Contains(text, want) {
			t.Errorf("printed estimate lacks %q:\n%s", want, text)
		}
	}
	if !e.LexicalFallback || !strings.Contains(text, "grades exactly like lexical") || !strings.Contains(text, "label --labeler strict") {
		t.Errorf("fallback not said plainly:\n%s", text)
	}
	t.Log(text)
}

func TestEstimateVerdicts(t *testing.T) {
	good := store.EstimateAgreement{Kappa: 0.3, QuadKappa: 0.5}
	weak := store.EstimateAgreement{Kappa: 0.1, QuadKappa: 0.2}
	for _, c := range []struct {
		e    store.StudentEstimate
		want string
	}{
		{store.StudentEstimate{Teacher: "gpt", Student: weak, Lexical: good, Queries: 40}, "NOT expected to beat lexical"},
		{store.StudentEstimate{Teacher: "gpt", Student: weak, Lexical: good, Queries: 40}, "label --labeler gpt"},
		{store.StudentEstimate{Teacher: "gpt", Student: good, Lexical: good, Queries: 40, LexicalFallback: true}, "grades exactly like lexical"},
		{store.StudentEstimate{Teacher: "gpt", Student: good, Lexical: weak, Queries: 40}, "expected to agree with the teacher better than lexical on new queries"},
		{store.StudentEstimate{Teacher: "gpt", Student: good, Lexical: weak, Queries: 8, Unreliable: "from 8 queries"}, "unreliable"},
	} {
		if got := benchmark.EstimateVerdict(c.e, "s"); !strings.Contains(got, c.want) {
			t.Errorf("verdict %q lacks %q", got, c.want)
		}
	}
	// a student no better than lexical in quadratic kappa does not beat it
	e := store.StudentEstimate{Student: store.EstimateAgreement{Kappa: 0.3, QuadKappa: 0.4}, Lexical: store.EstimateAgreement{Kappa: 0.2, QuadKappa: 0.5}}
	if e.BeatsLexical() {
		t.Error("lower quadratic kappa beats lexical")
	}
}
