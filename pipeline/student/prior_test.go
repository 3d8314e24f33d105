package student

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/internal/cputime"
	"github.com/qrelbench/qrelbench/pipeline/features"
	"github.com/qrelbench/qrelbench/pipeline/lexical"
)

// synthPair is a generated (query, document) pair with its features.
type synthPair struct {
	query   string
	pair    features.Pair
	x       []float64 // ExtractGroup over the query's pairs
	matched int       // distinct query words in the body
}

// synthQueries generates nq queries of three words with per candidate
// documents each: random text over a 300-word vocabulary, holding 0 to 3 of
// the query's words (sometimes as a phrase, sometimes in the title), with a
// BM25-like score, rank and maximum per query, as the store computes them.
func synthQueries(nq, per int, seed uint64) []synthPair {
	r := rand.New(rand.NewPCG(seed, 99))
	word := func() string { return fmt.Sprintf("w%03d", r.IntN(300)) }
	var out []synthPair
	for q := range nq {
		qw := []string{word(), word(), word()}
		for qw[1] == qw[0] {
			qw[1] = word()
		}
		for qw[2] == qw[0] || qw[2] == qw[1] {
			qw[2] = word()
		}
		query := strings.Join(qw, " ")
		group := make([]synthPair, per)
		for i := range group {
			body := make([]string, 20+r.IntN(60))
			for j := range body {
				body[j] = word()
			}
			m := r.IntN(4)
			if r.IntN(4) == 0 && m == 3 && len(body) > 5 { // the whole query as a phrase
				copy(body[2:], qw)
			} else {
				for _, w := range qw[:m] {
					body[r.IntN(len(body))] = w
				}
			}
			title := []string{word(), word(), word()}
			if r.IntN(3) == 0 {
				title[0] = qw[r.IntN(3)]
			}
			matched := 0
			bm := 0.0
			for _, w := range qw {
				tf := 0
				for _, b := range body {
					if b == w {
						tf++
					}
				}
				if tf > 0 {
					matched++
					bm += 2.2 * float64(tf) / (float64(tf) + 1.2*(0.6+0.4*float64(len(body))/50))
				}
			}
			group[i] = synthPair{query: fmt.Sprintf("q%03d", q), matched: matched,
				pair: features.Pair{Query: query, Title: strings.Join(title, " "), Body: strings.Join(body, " "), BM25: bm, NCandidates: per}}
		}
		order := make([]int, per)
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int { return cmpFloat(group[b].pair.BM25, group[a].pair.BM25) })
		for rank, i := range order {
			group[i].pair.BM25Max = group[order[0]].pair.BM25
			if group[i].pair.BM25 > 0 {
				group[i].pair.BM25Rank = rank + 1
			}
		}
		ps := make([]features.Pair, per)
		for i := range group {
			ps[i] = group[i].pair
		}
		for i, x := range features.ExtractGroup(ps, nil) {
			group[i].x = x
		}
		out = append(out, group...)
	}
	return out
}

func synthExamples(ps []synthPair, grade func(synthPair) int) []Example {
	ex := make([]Example, len(ps))
	for i, p := range ps {
		ex[i] = Example{X: p.x, Grade: grade(p), Query: p.query}
	}
	return ex
}

func lexGrade(p synthPair) int {
	g, _ := lexical.Grade(p.pair, 0, 3)
	return g
}

// coverageTeacher grades by the number of query words the body holds: a
// teacher that disagrees with lexical's bins in a way the features show.
func coverageTeacher(p synthPair) int { return p.matched }

// sameAsLexical is the share of pairs the model grades exactly like the
// lexical grader.
func sameAsLexical(m *Model, ps []synthPair) float64 {
	same := 0
	for _, p := range ps {
		if g, _, _ := m.Predict(p.x, nil); g == lexGrade(p) {
			same++
		}
	}
	return float64(same) / float64(len(ps))
}

func TestLexicalPriorFallsBackToLexical(t *testing.T) {
	held := synthQueries(20, 30, 2)
	many := synthQueries(12, 25, 1)
	oneQuery := synthQueries(1, 200, 3)
	for _, c := range []struct {
		name string
		ex   []Example
	}{
		{"tiny: 5 pairs of 5 queries", func() []Example {
			all := synthExamples(many, coverageTeacher)
			return []Example{all[0], all[25], all[50], all[75], all[100]}
		}()},
		{"tiny: 12 pairs", synthExamples(many[:12], coverageTeacher)},
		{"one query, 200 pairs", synthExamples(oneQuery, coverageTeacher)},
		{"one grade: all 0 over 12 queries", synthExamples(many, func(synthPair) int { return 0 })},
		{"one grade: all 3 over 12 queries", synthExamples(many, func(synthPair) int { return 3 })},
		{"nine queries, teacher that differs from lexical", synthExamples(many[:9*25], coverageTeacher)},
		{"no query ids (one query)", func() []Example {
			ex := synthExamples(many, coverageTeacher)
			for i := range ex {
				ex[i].Query = ""
			}
			return ex
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := Train(c.ex, Tuned(0, 3))
			if err != nil {
				t.Fatal(err)
			}
			if same := sameAsLexical(m, held); same < 0.95 || !m.Summary.LexicalFallback {
				t.Fatalf("grades like lexical on %.1f%% of held-out pairs (fallback %v, shrink %v)", 100*same, m.Summary.LexicalFallback, m.Summary.Shrink)
			}
			// the fallback is exact, not approximate
			if same := sameAsLexical(m, held); same != 1 {
				t.Fatalf("fallback model differs from lexical on %.2f%% of pairs", 100*(1-same))
			}
			for _, p := range held[:50] {
				_, e, pr := m.Predict(p.x, nil)
				sum := 0.0
				for _, v := range pr {
					sum += v
				}
				if math.Abs(sum-1) > 1e-9 || e < 0 || e > 3 {
					t.Fatalf("probs %v expected %v", pr, e)
				}
			}
		})
	}
}

func TestLexicalPriorLearnsFromEnoughQueries(t *testing.T) {
	train := synthQueries(12, 25, 1) // just over minCVQueries
	held := synthQueries(20, 30, 2)
	m, err := Train(synthExamples(train, coverageTeacher), Tuned(0, 3))
	if err != nil {
		t.Fatal(err)
	}
	var tg, sg, lg []int
	for _, p := range held {
		g, _, _ := m.Predict(p.x, nil)
		tg, sg, lg = append(tg, coverageTeacher(p)), append(sg, g), append(lg, lexGrade(p))
	}
	ks, kl := Kappa(tg, sg, 4), Kappa(tg, lg, 4)
	t.Logf("held-out kappa with the teacher: student %.3f, lexical %.3f; shrink %v, cv %+v", ks, kl, m.Summary.Shrink, m.Summary.ShrinkCV)
	if m.Summary.LexicalFallback || m.Summary.Shrink <= 0 {
		t.Fatalf("12 queries of a teacher unlike lexical earned no correction: %+v", m.Summary.ShrinkCV)
	}
	if ks < kl+0.2 {
		t.Fatalf("student kappa %.3f, lexical %.3f: the student did not move towards the teacher", ks, kl)
	}
	if len(m.Summary.ShrinkCV) != len(DefaultShrink)+1 || m.Summary.ShrinkCV[0].Shrink != 0 {
		t.Fatalf("cross-validation record %+v", m.Summary.ShrinkCV)
	}
}

func TestLexicalPriorTeacherEqualsLexical(t *testing.T) {
	// A teacher that is lexical: whatever the student learns, it must keep
	// grading (almost) like lexical.
	train := synthQueries(12, 25, 5)
	held := synthQueries(20, 30, 6)
	m, err := Train(synthExamples(train, lexGrade), Tuned(0, 3))
	if err != nil {
		t.Fatal(err)
	}
	if same := sameAsLexical(m, held); same < 0.95 {
		t.Fatalf("a student of lexical grades like it on %.1f%% of pairs", 100*same)
	}
}

func TestQueryFoldsKeepQueriesWhole(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for trial := range 50 {
		nq := 1 + r.IntN(30)
		var qs []string
		for range 1 + r.IntN(400) {
			qs = append(qs, fmt.Sprintf("q%d", r.IntN(nq)))
		}
		k := 1 + r.IntN(12)
		fold, nf := QueryFolds(qs, k)
		distinct := len(uniq(qs))
		if nf != min(k, distinct) || len(fold) != len(qs) {
			t.Fatalf("trial %d: %d folds for k=%d and %d queries", trial, nf, k, distinct)
		}
		where := map[string]int{}
		used := make([]int, nf)
		for i, q := range qs {
			if fold[i] < 0 || fold[i] >= nf {
				t.Fatalf("fold %d of %d", fold[i], nf)
			}
			if f, ok := where[q]; ok && f != fold[i] {
				t.Fatalf("trial %d: query %s in folds %d and %d", trial, q, f, fold[i])
			}
			where[q] = fold[i]
			used[fold[i]]++
		}
		for f, n := range used {
			if n == 0 {
				t.Fatalf("trial %d: fold %d is empty", trial, f)
			}
		}
		// the same queries in another order get the same folds
		perm := slices.Clone(qs)
		r.Shuffle(len(perm), func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		fold2, _ := QueryFolds(perm, k)
		for i, q := range perm {
			if fold2[i] != where[q] {
				t.Fatalf("trial %d: folds depend on the order of the examples", trial)
			}
		}
	}
}

func TestLexicalPriorGradients(t *testing.T) {
	ps := synthQueries(4, 25, 8)
	ex := synthExamples(ps, coverageTeacher)
	d := &priorData{p: len(ex[0].X) + 2, cw: []float64{1, 1.5, 0.7, 2}}
	for _, e := range ex {
		d.R = priorInputs(e.X, 0, 3, d.R)
		d.lex = append(d.lex, d.R[len(d.R)-2])
		d.y = append(d.y, e.Grade)
	}
	idx := make([]int, len(ex))
	for i := range idx {
		idx[i] = i
	}
	mean, std := d.standardise(idx)
	pp := d.problem(idx, 4, mean, std)
	check := func(name string, f func(x, g []float64) float64, theta []float64) {
		g := make([]float64, len(theta))
		f(theta, g)
		tmp := make([]float64, len(theta))
		for j := range theta {
			const h = 1e-6
			tp, tm := slices.Clone(theta), slices.Clone(theta)
			tp[j] += h
			tm[j] -= h
			num := (f(tp, tmp) - f(tm, tmp)) / (2 * h)
			if math.Abs(num-g[j]) > 1e-5*math.Max(1, math.Abs(num)) {
				t.Fatalf("%s: grad[%d] = %v, numeric %v", name, j, g[j], num)
			}
		}
	}
	check("scale", pp.scaleLoss, []float64{math.Log(5)})
	r := rand.New(rand.NewPCG(1, 2))
	theta := make([]float64, 1+d.p+3)
	o := &correctionLoss{pp: pp, lambda: 3}
	o.start(theta, 6)
	for j := range theta {
		theta[j] += 0.05 * r.NormFloat64()
	}
	check("correction", func(x, g []float64) float64 {
		v := o.value(x)
		o.gradient(g)
		return v
	}, theta)
}

func TestLexicalPriorRoundTripAndValidation(t *testing.T) {
	m, err := Train(synthExamples(synthQueries(12, 25, 1), coverageTeacher), Tuned(0, 3))
	if err != nil {
		t.Fatal(err)
	}
	if m.Summary.LexicalFallback {
		t.Fatal("no correction to round-trip")
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Load(data)
	if err != nil {
		t.Fatal(err)
	}
	if m2.NumInputs() != features.NumGroupFeatures || m2.CheckFeatures() != nil {
		t.Fatalf("inputs %d: %v", m2.NumInputs(), m2.CheckFeatures())
	}
	for _, p := range synthQueries(5, 30, 9) {
		g1, e1, _ := m.Predict(p.x, nil)
		g2, e2, _ := m2.Predict(p.x, nil)
		if g1 != g2 || e1 != e2 {
			t.Fatal("round trip changes predictions")
		}
	}
	for name, mutate := range map[string]func(map[string]any){
		"no scale":        func(r map[string]any) { delete(r, "lex_scale") },
		"negative scale":  func(r map[string]any) { r["lex_scale"] = -1 },
		"short shifts":    func(r map[string]any) { r["lex_shift"] = []float64{0} },
		"renamed derived": func(r map[string]any) { n := r["feature_names"].([]any); n[len(n)-1] = "x" },
		"short std":       func(r map[string]any) { r["std"] = r["std"].([]any)[1:] },
	} {
		var raw map[string]any
		_ = json.Unmarshal(data, &raw)
		mutate(raw)
		bad, _ := json.Marshal(raw)
		if _, err := Load(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// the method cannot be calibrated, nor run on vectors without the
	// lexical features
	if _, err := Train(synthExamples(synthQueries(2, 10, 1), coverageTeacher), TrainOptions{Method: MethodLexicalPrior, Calibrate: true}); err == nil {
		t.Error("calibrated lexical prior accepted")
	}
	ex, _ := synthetic(100, 5, 1, 0)
	if _, err := Train(ex, TrainOptions{Method: MethodLexicalPrior}); err == nil {
		t.Error("lexical prior on 5 features accepted")
	}
}

// benchTrain trains the default student on nq queries of per pairs per
// op, cycling through 4 data sets.
func benchTrain(b *testing.B, nq, per int, seed uint64) {
	var sets [][]Example
	for s := range 4 {
		sets = append(sets, synthExamples(synthQueries(nq, per, seed+uint64(s)), coverageTeacher))
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cputime.Process()
	// One op trains on every set, so the figure does not depend on how
	// many of them b.N happens to reach.
	var pairs float64
	for i := 0; i < b.N; i++ {
		for _, set := range sets {
			if _, err := Train(set, Tuned(0, 3)); err != nil {
				b.Fatal(err)
			}
			if i == 0 {
				pairs += float64(len(set))
			}
		}
	}
	cpu := cputime.Process() - cpu0
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N)*1000/pairs, "ms/1000pairs")
	if cpu > 0 { // CPU time: the folds run in parallel, and other work on the machine stretches wall time
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N)*1000/pairs, "cpu-ms/1000pairs")
	}
}

// BenchmarkTrainLexicalPrior: 1,000 pairs of 40 queries, so the inner
// cross-validation runs (5 folds × the shrinkage path, beside the full
// data's path).
func BenchmarkTrainLexicalPrior(b *testing.B) { benchTrain(b, 40, 25, 100) }

// BenchmarkTrainLexicalPrior10k: 10,000 pairs of 200 queries, ten times
// the data: the time per 1,000 pairs should stay that of
// BenchmarkTrainLexicalPrior.
func BenchmarkTrainLexicalPrior10k(b *testing.B) { benchTrain(b, 200, 50, 300) }

// BenchmarkTrainLexicalPriorFewQueries: 999 pairs of 9 queries, too few
// for a correction, so training is the temperature fit alone.
func BenchmarkTrainLexicalPriorFewQueries(b *testing.B) { benchTrain(b, 9, 112, 200) }

// TestFoldNewtonStart: a fold's problem is a view of the whole data's
// (equal to the fold's own, standardised by its rows), and its fit starts
// from the whole data's point
// carried into the fold's coordinates, with its value, gradient and Hessian
// taken from the whole data's curvature of the fold's rows (no pass over
// them). The carried point gives every example the same score; the value
// and gradient equal the fold problem's own; the Hessian equals a finite
// difference of that gradient (the objective's Hessian is its
// Gauss-Newton matrix, but for the prior on a, which is exact too).
func TestFoldNewtonStart(t *testing.T) {
	ex := synthExamples(synthQueries(30, 25, 41), coverageTeacher)
	K := 4
	n := len(ex)
	y := make([]int, n)
	for i, e := range ex {
		y[i] = e.Grade
	}
	d := newPriorData(ex, 0, 3, y, []float64{1, 2, 1, 0.5})
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	mean, std := d.standardise(all)
	pp := d.problem(all, K, mean, std)
	fold, _ := QueryFolds(d.queries, 5)
	var tr, rows []int // the fold's training rows, in priorData and in pp
	for r, i := range pp.rows {
		if fold[i] != 2 {
			rows = append(rows, r)
		}
	}
	for i := range fold {
		if fold[i] != 2 {
			tr = append(tr, i)
		}
	}
	fmean, fstd := d.standardise(tr)
	fp := d.problem(tr, K, fmean, fstd)
	cmap := newCoordMap(mean, std, fmean, fstd)
	p := d.p
	// a point away from lexical
	r := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, p+K)
	full := &correctionLoss{pp: pp, lambda: 10}
	full.start(x, 7)
	for j := 1; j <= p; j++ {
		x[j] = 0.3 * r.NormFloat64()
	}
	x[0] *= 1.2
	x[p+1] += 0.2
	cv := newCurvature(p+2, K-1)
	cv.accumulate(pp, rows, x)
	xf := make([]float64, len(x))
	cmap.carry(x, p, xf)
	// same scores: s = a·lex + v·z in each problem's coordinates, against
	// the thresholds
	for k, i := range tr {
		zs := dot(x[1:1+p], pp.Z[i*p:i*p+p]) + x[0]*pp.lex[i] - x[1+p]
		zf := dot(xf[1:1+p], fp.Z[k*p:k*p+p]) + xf[0]*fp.lex[k] - xf[1+p]
		if math.Abs(zs-zf) > 1e-9 {
			t.Fatalf("row %d: score above the first threshold %v in the whole data's coordinates, %v carried", i, zs, zf)
		}
	}
	o := &correctionLoss{pp: fp, lambda: 10}
	g := make([]float64, len(x))
	f := startValue(cv, cmap, o, xf, g)
	want := o.value(xf)
	wg := make([]float64, len(x))
	o.gradient(wg)
	if math.Abs(f-want) > 1e-12 {
		t.Errorf("start value %v, the fold's own %v", f, want)
	}
	// the fold's problem as Train builds it, a view of the whole data's,
	// is the standalone problem
	vo := &correctionLoss{pp: pp.view(rows, cmap), lambda: 10}
	vg := make([]float64, len(x))
	if v := vo.value(xf); math.Abs(v-want) > 1e-12 {
		t.Errorf("the view's value %v, the standalone problem's %v", v, want)
	}
	vo.gradient(vg)
	for j := range vg {
		if math.Abs(vg[j]-wg[j]) > 1e-10 {
			t.Errorf("the view's gradient[%d] = %v, the standalone problem's %v", j, vg[j], wg[j])
		}
	}
	for j := range g {
		if math.Abs(g[j]-wg[j]) > 1e-10 {
			t.Errorf("start gradient[%d] = %v, the fold's own %v", j, g[j], wg[j])
		}
	}
	H := newtonMatrix(cv, cmap, o, xf, newNewtonWork(p, K))
	N := len(x)
	for j := range N {
		const h = 1e-6
		xp, xm := slices.Clone(xf), slices.Clone(xf)
		xp[j] += h
		xm[j] -= h
		gp, gm := make([]float64, N), make([]float64, N)
		o.value(xp)
		o.gradient(gp)
		o.value(xm)
		o.gradient(gm)
		for i := range N {
			num := (gp[i] - gm[i]) / (2 * h)
			if math.Abs(num-H[i*N+j]) > 1e-6*math.Max(1, math.Abs(num)) {
				t.Fatalf("Hessian[%d][%d] = %v, numeric %v", i, j, H[i*N+j], num)
			}
		}
	}
	// and its factor solves it
	L := slices.Clone(H)
	if !cholesky(L, N) {
		t.Fatal("Hessian not positive definite")
	}
	b := slices.Clone(g)
	choleskySolve(L, N, b)
	for i := range N {
		s := 0.0
		for j := range N {
			s += H[i*N+j] * b[j]
		}
		if math.Abs(s-g[i]) > 1e-9*math.Max(1, math.Abs(g[i])) {
			t.Fatalf("(H·H⁻¹g)[%d] = %v, want %v", i, s, g[i])
		}
	}
}
