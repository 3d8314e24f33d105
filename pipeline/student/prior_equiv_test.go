package student

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline/features"
)

// refModel trains ex with the reference (pre-optimisation) lexical-prior
// training, set up as Train sets it up; it returns the model and the
// iterations Train would report.
func refModel(t *testing.T, ex []Example, opt TrainOptions) (*Model, int) {
	t.Helper()
	if len(ex[0].X) != features.NumGroupFeatures {
		t.Fatalf("reference: %d features, want group vectors", len(ex[0].X))
	}
	if opt.Epochs <= 0 {
		opt.Epochs = 500
	}
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

// sameBits reports the first difference between two float slices, bit for
// bit ("" when none).
func sameBits(name string, a, b []float64) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%s: %d values, reference %d", name, len(a), len(b))
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return fmt.Sprintf("%s[%d] = %v, reference %v (differ by %g)", name, i, a[i], b[i], a[i]-b[i])
		}
	}
	return ""
}

// checkSameModel trains ex with Train and with the reference and requires
// the same parameters, the same inner cross-validation and the same
// iterations, bit for bit, and the same grade, expected grade and grade
// distribution for every vector of all (the training vectors and any
// held-out ones), and the same grades from TrainForGrades' model.
func checkSameModel(t *testing.T, name string, ex []Example, opt TrainOptions, all [][]float64) {
	t.Helper()
	got, err := Train(ex, opt)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	want, iters := refModel(t, ex, opt)
	var diffs []string
	for _, d := range []string{
		sameBits("mean", got.Mean, want.Mean), sameBits("std", got.Std, want.Std),
		sameBits("weights", got.Weights, want.Weights), sameBits("lex_shift", got.LexShift, want.LexShift),
		sameBits("thresholds", got.Thresholds, want.Thresholds),
		sameBits("lex_scale", []float64{got.LexScale}, []float64{want.LexScale}),
		sameBits("shrink", []float64{got.Summary.Shrink}, []float64{want.Summary.Shrink}),
	} {
		if d != "" {
			diffs = append(diffs, d)
		}
	}
	if got.Summary.Iterations != iters {
		diffs = append(diffs, fmt.Sprintf("iterations %d, reference %d", got.Summary.Iterations, iters))
	}
	if got.Summary.LexicalFallback != want.Summary.LexicalFallback || !slices.Equal(got.FeatureNames, want.FeatureNames) {
		diffs = append(diffs, fmt.Sprintf("fallback %v, reference %v; or other feature names", got.Summary.LexicalFallback, want.Summary.LexicalFallback))
	}
	if len(got.Summary.ShrinkCV) != len(want.Summary.ShrinkCV) {
		diffs = append(diffs, fmt.Sprintf("%d inner cross-validation points, reference %d", len(got.Summary.ShrinkCV), len(want.Summary.ShrinkCV)))
	} else {
		for i, p := range got.Summary.ShrinkCV {
			q := want.Summary.ShrinkCV[i]
			if d := sameBits(fmt.Sprintf("shrink_cv[%d]", i), []float64{p.Shrink, p.Kappa, p.QuadKappa, p.SE}, []float64{q.Shrink, q.Kappa, q.QuadKappa, q.SE}); d != "" {
				diffs = append(diffs, d)
			}
		}
	}
	regraded := 0
	for i, x := range all {
		g, e, pr := got.Predict(x, nil)
		wg, we, wpr := want.Predict(x, nil)
		if g != wg || sameBits("p", append(pr, e), append(wpr, we)) != "" {
			if regraded == 0 {
				diffs = append(diffs, fmt.Sprintf("vector %d: grade %d expected %v probs %v, reference %d %v %v", i, g, e, pr, wg, we, wpr))
			}
			regraded++
		}
	}
	// TrainForGrades' model grades the same
	fast, err := TrainForGrades(ex, opt)
	if err != nil {
		t.Fatalf("%s: TrainForGrades: %v", name, err)
	}
	for i, x := range all {
		g, e, pr := fast.Predict(x, nil)
		wg, we, wpr := want.Predict(x, nil)
		if g != wg || sameBits("p", append(pr, e), append(wpr, we)) != "" {
			diffs = append(diffs, fmt.Sprintf("TrainForGrades: vector %d: grade %d expected %v probs %v, reference %d %v %v", i, g, e, pr, wg, we, wpr))
			break
		}
	}
	if regraded > 0 {
		diffs = append(diffs, fmt.Sprintf("%d of %d vectors graded differently", regraded, len(all)))
	}
	if len(diffs) > 0 {
		t.Errorf("%s (%d examples, shrink %v, %d iterations): differs from the reference:\n%v", name, len(ex), want.Summary.Shrink, iters, diffs)
	}
}

func exampleVectors(ex []Example) [][]float64 {
	xs := make([][]float64, len(ex))
	for i, e := range ex {
		xs[i] = e.X
	}
	return xs
}

// TestTrainPriorMatchesReference: the lexical-prior training gives the
// reference's models bit for bit on generated data: the benchmarks' data
// sets, a teacher that is lexical, one grade, few queries, class weights,
// other shrinkage grids and an iteration bound that stops the fits early.
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
		tc{"12 epochs", cov, func() TrainOptions { o := Tuned(0, 3); o.Epochs = 12; return o }()},
		tc{"scale 0-4", synthExamples(synthQueries(15, 30, 10), func(p synthPair) int { return p.matched + p.matched/3 }), Tuned(0, 4)},
	)
	for _, c := range cases {
		checkSameModel(t, c.name, c.ex, c.opt, append(exampleVectors(c.ex), heldX...))
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
			checkSameModel(t, fmt.Sprintf("%s, split %d", s.name, si), ex, Tuned(0, 3), all)
		}
	}
}
