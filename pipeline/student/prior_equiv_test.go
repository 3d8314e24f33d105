package student

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline/features"
)

// refModel trains ex with the reference lexical-prior training (plain
// L-BFGS; prior_ref_test.go), set up as Train sets it up, each fit
// finished with Newton steps if polish; it returns the model and its whole
// data's iterations.
func refModel(t *testing.T, ex []Example, opt TrainOptions, polish bool) (*Model, int) {
	t.Helper()
	if len(ex[0].X) != features.NumGroupFeatures {
		t.Fatalf("reference: %d features, want group vectors", len(ex[0].X))
	}
	opt.Epochs = 500
	defer func() { refPolish = false }()
	refPolish = polish
	K := opt.MaxGrade - opt.MinGrade + 1
	m := &Model{MinGrade: opt.MinGrade, MaxGrade: opt.MaxGrade, Method: opt.Method, Options: opt,
		FeatureVersion: features.GroupVersion, FeatureNames: features.GroupNames()}
	y := make([]int, len(ex))
	per := make([]int, K)
	for i, e := range ex {
		y[i] = e.Grade - opt.MinGrade
		per[y[i]]++
	}
	iters, err := refTrainPrior(ex, opt, m, y, classWeights(per, len(ex), opt.Balance))
	if err != nil {
		t.Fatal(err)
	}
	return m, iters
}

// modelGap is how far apart two lexical-prior models are: the largest
// difference of their weights, edge shifts (lexical-score units) and
// relative difference of their temperatures, and how many of xs they
// grade differently.
func modelGap(a, b *Model, xs [][]float64) (params float64, regraded int) {
	for j := range a.Weights {
		params = math.Max(params, math.Abs(a.Weights[j]-b.Weights[j]))
	}
	for k := range a.LexShift {
		params = math.Max(params, math.Abs(a.LexShift[k]-b.LexShift[k]))
	}
	params = math.Max(params, math.Abs(a.LexScale-b.LexScale)/b.LexScale)
	for _, x := range xs {
		ga, _, _ := a.Predict(x, nil)
		gb, _, _ := b.Predict(x, nil)
		if ga != gb {
			regraded++
		}
	}
	return params, regraded
}

// Tolerances of the comparison with the optimum: the parameters and the
// inner cross-validation's agreement figures, and the share of vectors
// graded differently (a grade changes where a score sits within the
// parameters' difference of a bin edge).
const (
	optParamTol   = 1e-4
	optKappaTol   = 2e-3
	optRegradeTol = 0.002
)

// checkOptimum trains ex with Train and with the reference, polished to
// the objective's optimum (whichever way it is reached), and
// requires the same choice of shrinkage, the same inner cross-validation
// and parameters within the tolerances above, and the same grades on all
// but a sliver of all (the training vectors and held-out ones), from
// Train's and from TrainForGrades' model. With old it logs how far the
// old training (the reference at its own tolerances) ended from the
// optimum, beside Train.
//
// Where the teacher grades exactly like lexical, the inner
// cross-validation's figures are left out: lexical's scores on the edges
// of its bins then carry grades that the smallest change of a fit moves
// (any such change is within the fits' tolerance), and the model is
// lexical whatever they are.
func checkOptimum(t *testing.T, name string, ex []Example, opt TrainOptions, all [][]float64, old bool) {
	t.Helper()
	got, err := Train(ex, opt)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want, _ := refModel(t, ex, opt, true)
	var diffs []string
	if got.Summary.Shrink != want.Summary.Shrink || got.Summary.LexicalFallback != want.Summary.LexicalFallback {
		diffs = append(diffs, fmt.Sprintf("shrink %v (fallback %v), optimum's %v (%v)", got.Summary.Shrink, got.Summary.LexicalFallback, want.Summary.Shrink, want.Summary.LexicalFallback))
	}
	if !slices.Equal(got.FeatureNames, want.FeatureNames) || !slices.Equal(got.Mean, want.Mean) || !slices.Equal(got.Std, want.Std) {
		diffs = append(diffs, "other feature names or standardisation")
	}
	if len(got.Summary.ShrinkCV) != len(want.Summary.ShrinkCV) {
		diffs = append(diffs, fmt.Sprintf("%d inner cross-validation points, optimum's %d", len(got.Summary.ShrinkCV), len(want.Summary.ShrinkCV)))
	} else {
		for i, p := range got.Summary.ShrinkCV {
			q := want.Summary.ShrinkCV[i]
			if p.Shrink != q.Shrink || !lexicalTeacher(ex, opt) && (math.Abs(p.Kappa-q.Kappa) > optKappaTol || math.Abs(p.QuadKappa-q.QuadKappa) > optKappaTol) {
				diffs = append(diffs, fmt.Sprintf("shrink_cv[%d] = %+v, optimum's %+v", i, p, q))
			}
		}
	}
	params, regraded := modelGap(got, want, all)
	if params > optParamTol {
		diffs = append(diffs, fmt.Sprintf("parameters differ by up to %.3g", params))
	}
	if float64(regraded) > optRegradeTol*float64(len(all)) {
		diffs = append(diffs, fmt.Sprintf("%d of %d vectors graded differently", regraded, len(all)))
	}
	fast, err := TrainForGrades(ex, opt)
	if err != nil {
		t.Fatalf("%s: TrainForGrades: %v", name, err)
	}
	if _, r := modelGap(fast, got, all); r > 0 {
		diffs = append(diffs, fmt.Sprintf("TrainForGrades grades %d vectors differently from Train", r))
	}
	if len(diffs) > 0 {
		t.Errorf("%s (%d examples, shrink %v): differs from the optimum:\n%v", name, len(ex), want.Summary.Shrink, diffs)
	}
	msg := fmt.Sprintf("%s: Train %.2g from the optimum (%d of %d vectors graded differently)", name, params, regraded, len(all))
	if old {
		m, _ := refModel(t, ex, opt, false)
		op, or := modelGap(m, want, all)
		msg += fmt.Sprintf("; the old training %.2g (%d)", op, or)
	}
	t.Log(msg)
}

// lexicalTeacher reports whether every example's grade is lexical's (as
// training sees it: priorData.lexicalExact).
func lexicalTeacher(ex []Example, opt TrainOptions) bool {
	y := make([]int, len(ex))
	for i, e := range ex {
		y[i] = e.Grade - opt.MinGrade
	}
	return newPriorData(ex, opt.MinGrade, opt.MaxGrade, y, nil).lexicalExact()
}

func exampleVectors(ex []Example) [][]float64 {
	xs := make([][]float64, len(ex))
	for i, e := range ex {
		xs[i] = e.X
	}
	return xs
}

// TestTrainPriorMatchesReference: the lexical-prior training finds the
// optimum the reference finds with a tight tolerance, on generated data:
// the benchmarks' data sets, a teacher that is lexical, one grade, few
// queries, class weights, other shrinkage grids and another scale.
func TestTrainPriorMatchesReference(t *testing.T) {
	held := synthQueries(20, 30, 5)
	var heldX [][]float64
	for _, p := range held {
		heldX = append(heldX, p.x)
	}
	type tc struct {
		name string
		ex   []Example
		opt  TrainOptions
	}
	var cases []tc
	for s := range 4 { // BenchmarkTrainLexicalPrior's data
		cases = append(cases, tc{fmt.Sprintf("40 queries, seed %d", 100+s), synthExamples(synthQueries(40, 25, 100+uint64(s)), coverageTeacher), Tuned(0, 3)})
	}
	cov := synthExamples(synthQueries(30, 30, 7), coverageTeacher)
	cases = append(cases,
		tc{"200 queries × 50", synthExamples(synthQueries(200, 50, 300), coverageTeacher), Tuned(0, 3)},
		tc{"9 queries (no cross-validation)", synthExamples(synthQueries(9, 112, 200), coverageTeacher), Tuned(0, 3)},
		tc{"teacher is lexical", synthExamples(synthQueries(30, 30, 8), lexGrade), Tuned(0, 3)},
		tc{"one grade", synthExamples(synthQueries(12, 25, 9), func(synthPair) int { return 2 }), Tuned(0, 3)},
		tc{"balanced classes", cov, func() TrainOptions { o := Tuned(0, 3); o.Balance = 0.5; return o }()},
		tc{"grid 50, 5", cov, func() TrainOptions { o := Tuned(0, 3); o.Shrink = []float64{5, 50}; return o }()},
		tc{"empty grid", cov, func() TrainOptions { o := Tuned(0, 3); o.Shrink = []float64{}; return o }()},
		tc{"scale 0-4", synthExamples(synthQueries(15, 30, 10), func(p synthPair) int { return p.matched + p.matched/3 }), Tuned(0, 4)},
	)
	for _, c := range cases {
		checkOptimum(t, c.name, c.ex, c.opt, append(exampleVectors(c.ex), heldX...), true)
	}
}

// TestTrainPriorMatchesReferenceOnSharedData: the same on real data, two
// splits of each setting of the distillation experiment (TestDistillExperiment),
// every pair of the data set graded by both models.
func TestTrainPriorMatchesReferenceOnSharedData(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 32 students on the shared data")
	}
	for _, s := range experimentSettings(t) {
		all := make([][]float64, len(s.rows))
		for i, r := range s.rows {
			all[i] = r.x
		}
		for si, sp := range s.splits[:min(2, len(s.splits))] {
			var ex []Example
			for _, ri := range sp.train {
				if g, ok := s.teacher(s.rows[ri]); ok {
					ex = append(ex, Example{X: s.rows[ri].x, Grade: g, Query: s.rows[ri].QueryID})
				}
			}
			checkOptimum(t, fmt.Sprintf("%s, split %d", s.name, si), ex, Tuned(0, 3), all, false)
		}
	}
}
