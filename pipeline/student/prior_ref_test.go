package student

// The lexical-prior training as it was before it was made faster: plain
// L-BFGS on the objective in (log a, v, softplus thresholds), each fold's
// path of its own (kept verbatim but for the names, ref*, and a Newton
// polish the tests can switch on). TestTrainPriorMatchesReference polishes
// each of its fits to the objective's optimum and requires Train to find
// the same models.

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/pipeline/features"
)

// refGTol and refFTol are the reference fits' stopping tolerances (the
// gradient's largest component, an iteration's relative improvement): the
// old training's.
const refGTol, refFTol = 1e-5, 1e-8

// refPolish: each reference fit is finished with Newton steps, its
// Hessian by finite differences of the gradient, so that it ends at the
// objective's optimum (to about 1e-10) whatever L-BFGS left.
var refPolish bool

// refNewtonPolish takes Newton steps from x on f until the gradient's
// largest component is below 1e-10 (at most 4), each kept only if it
// lowers f.
func refNewtonPolish(f func(x, g []float64) float64, x []float64) {
	N := len(x)
	g := make([]float64, N)
	gh := make([]float64, N)
	H := make([]float64, N*N)
	xh := make([]float64, N)
	for range 4 {
		fx := f(x, g)
		if normInf(g) < 1e-10 {
			return
		}
		for j := range N {
			h := 1e-6 * math.Max(1, math.Abs(x[j]))
			copy(xh, x)
			xh[j] += h
			f(xh, gh)
			for i := range N {
				H[i*N+j] = (gh[i] - g[i]) / h
			}
		}
		for i := range N {
			for j := range i {
				m := (H[i*N+j] + H[j*N+i]) / 2
				H[i*N+j], H[j*N+i] = m, m
			}
		}
		if !cholesky(H, N) {
			return
		}
		d := make([]float64, N)
		for i := range d {
			d[i] = -g[i]
		}
		choleskySolve(H, N, d)
		for i := range xh {
			xh[i] = x[i] + d[i]
		}
		if fn := f(xh, gh); !(fn <= fx) {
			return
		}
		copy(x, xh)
	}
}

// refPriorProblem is the data of one fit: standardised inputs and the lexical
// offset.
type refPriorProblem struct {
	Z    []float64 // n×p standardised inputs, row-major
	p    int
	lex  []float64 // lexical score of each example
	y    []int     // 0-based grades
	wt   []float64 // example weights, summing to 1
	K    int
	c    []float64 // lexical bin edges (k+1)/K
	t    []float64 // scratch: thresholds
	gt   []float64 // scratch: threshold gradient
	gaps refGapTerms
}

func refNewPriorProblem(K int) *refPriorProblem {
	c := make([]float64, K-1)
	for k := range c {
		c[k] = float64(k+1) / float64(K)
	}
	return &refPriorProblem{K: K, c: c, t: make([]float64, K-1), gt: make([]float64, K-1)}
}

// refScaleLoss is the first stage's objective in ψ = log a, with w = δ = 0.
func (pp *refPriorProblem) refScaleLoss(theta, g []float64) float64 {
	a := math.Exp(theta[0])
	for k := range pp.t {
		pp.t[k] = a * pp.c[k]
		pp.gt[k] = 0
	}
	pp.gaps.set(pp.t)
	loss, dl := 0.0, 0.0
	for i, yi := range pp.y {
		if pp.wt[i] == 0 {
			continue
		}
		nll, ds, dlo, dhi := refOrdinalTerm(yi, pp.K, a*pp.lex[i], pp.t, &pp.gaps)
		loss += pp.wt[i] * nll
		dl += pp.wt[i] * ds * pp.lex[i]
		if yi > 0 {
			pp.gt[yi-1] += pp.wt[i] * dlo
		}
		if yi < pp.K-1 {
			pp.gt[yi] += pp.wt[i] * dhi
		}
	}
	for k, c := range pp.c {
		dl += pp.gt[k] * c
	}
	d := theta[0] - math.Log(priorScale0)
	loss += 0.5 * priorScaleReg * d * d
	g[0] = a*dl + priorScaleReg*d
	return loss
}

// refFitScale fits the inverse temperature a of the lexical grades alone.
func (pp *refPriorProblem) refFitScale(epochs int) float64 {
	theta := []float64{math.Log(priorScale0)}
	lbfgs(pp.refScaleLoss, theta, epochs)
	return math.Min(math.Max(math.Exp(theta[0]), 0.5), 500)
}

// refCorrectionLoss is the second stage's objective: theta is (ψ, v, θ) with
// a = e^ψ the inverse temperature (started at the first stage's value and
// refitted with the refCorrection), v = a·w the weights in logit units and θ
// the thresholds in the cumulative-softplus parametrisation t_0 = θ_0,
// t_k = t_{k-1} + softplus(θ_k), which keeps them ordered even for grades
// the teacher never gave. The penalty λ/2·(|v|² + |t - a·c|²)/a0² is zero
// exactly at lexical's grading (v = 0, t = a·c) whatever a.
type refCorrectionLoss struct {
	pp     *refPriorProblem
	lambda float64
}

// refStart writes the lexical point at temperature a into theta.
func (o *refCorrectionLoss) refStart(theta []float64, a float64) {
	p := o.pp.p
	theta[0] = math.Log(a)
	clear(theta[1 : 1+p])
	prev := 0.0
	for k, c := range o.pp.c {
		t := a * c
		if k == 0 {
			theta[1+p] = t
		} else {
			theta[1+p+k] = invSoftplus(t - prev)
		}
		prev = t
	}
}

func (o *refCorrectionLoss) refEval(theta, g []float64) float64 {
	pp := o.pp
	p, K := pp.p, pp.K
	a := math.Exp(theta[0])
	v := theta[1 : 1+p]
	thresholds(theta[1+p:], pp.t)
	clear(pp.gt)
	pp.gaps.set(pp.t)
	clear(g)
	gv := g[1 : 1+p]
	loss, ga := 0.0, 0.0
	for i, yi := range pp.y {
		c := pp.wt[i]
		if c == 0 {
			continue
		}
		z := pp.Z[i*p : i*p+p]
		s := a * pp.lex[i]
		for j, x := range z {
			s += v[j] * x
		}
		nll, ds, dlo, dhi := refOrdinalTerm(yi, K, s, pp.t, &pp.gaps)
		loss += c * nll
		if yi > 0 {
			pp.gt[yi-1] += c * dlo
		}
		if yi < K-1 {
			pp.gt[yi] += c * dhi
		}
		ds *= c
		ga += ds * pp.lex[i]
		for j, x := range z {
			gv[j] += ds * x
		}
	}
	pen := o.lambda / (priorScale0 * priorScale0)
	for j, x := range v {
		loss += 0.5 * pen * x * x
		gv[j] += pen * x
	}
	for k, t := range pp.t {
		x := t - a*pp.c[k]
		loss += 0.5 * pen * x * x
		pp.gt[k] += pen * x
		ga -= pen * x * pp.c[k]
	}
	dpsi := theta[0] - math.Log(priorScale0)
	loss += 0.5 * priorScaleReg * dpsi * dpsi
	g[0] = a*ga + priorScaleReg*dpsi
	// chain rule through the cumulative softplus
	tail := 0.0
	for k := K - 2; k >= 0; k-- {
		tail += pp.gt[k]
		if k == 0 {
			g[1+p] = tail
		} else {
			g[1+p+k] = tail * sigmoid(theta[1+p+k])
		}
	}
	return loss
}

// refPriorData holds the raw inputs of a training set.
type refPriorData struct {
	R       []float64 // n×p raw inputs (priorInputs), row-major
	p       int
	lex     []float64
	lexG    []int // lexical grade, 0-based
	y       []int
	cw      []float64 // class weights
	queries []string
}

// refStandardise returns the mean and standard deviation of the columns of
// the rows idx of R.
func (d *refPriorData) refStandardise(idx []int) (mean, std []float64) {
	p := d.p
	mean, std = make([]float64, p), make([]float64, p)
	for _, i := range idx {
		for j, x := range d.R[i*p : i*p+p] {
			mean[j] += x
		}
	}
	n := float64(len(idx))
	for j := range mean {
		mean[j] /= n
	}
	for _, i := range idx {
		for j, x := range d.R[i*p : i*p+p] {
			dx := x - mean[j]
			std[j] += dx * dx
		}
	}
	for j := range std {
		std[j] = math.Sqrt(std[j] / n)
		if std[j] < 1e-12 {
			std[j] = 1
		}
	}
	return mean, std
}

// refProblem builds the fit of the rows idx, standardised by mean and std.
func (d *refPriorData) refProblem(idx []int, K int, mean, std []float64) *refPriorProblem {
	pp := refNewPriorProblem(K)
	p := d.p
	pp.p = p
	pp.Z = make([]float64, len(idx)*p)
	pp.lex = make([]float64, len(idx))
	pp.y = make([]int, len(idx))
	pp.wt = make([]float64, len(idx))
	sum := 0.0
	for r, i := range idx {
		for j, x := range d.R[i*p : i*p+p] {
			pp.Z[r*p+j] = (x - mean[j]) / std[j]
		}
		pp.lex[r], pp.y[r] = d.lex[i], d.y[i]
		pp.wt[r] = d.cw[d.y[i]]
		sum += pp.wt[r]
	}
	for r := range pp.wt {
		pp.wt[r] /= sum
	}
	return pp
}

// refPriorGrade is the grade (0-based) of lexical-unit score s under the bin
// edge shifts delta, for K grades.
func refPriorGrade(s float64, delta []float64, K int) int {
	g := 0
	ks := float64(K) * s
	for k, d := range delta {
		if ks >= float64(k+1)+float64(K)*d {
			g++
		}
	}
	return g
}

// refCorrection returns the inverse temperature, the lexical-unit weights
// w = v/a and the edge shifts δ = t/a - c of a fitted theta.
func refCorrection(theta []float64, p, K int, c []float64) (a float64, w, delta []float64) {
	a = math.Exp(theta[0])
	w = make([]float64, p)
	for j := range w {
		w[j] = theta[1+j] / a
	}
	t := thresholds(theta[1+p:], nil)
	delta = make([]float64, K-1)
	for k := range delta {
		delta[k] = t[k]/a - c[k]
	}
	return a, w, delta
}

// refFitPath fits the refCorrection of pp at every shrinkage of grid (strongest
// first), each fit warm-started from the previous one, the first from
// lexical at temperature a.
func refFitPath(pp *refPriorProblem, a float64, grid []float64, epochs int) (path [][]float64, iters int) {
	path = make([][]float64, len(grid))
	theta := make([]float64, 1+pp.p+pp.K-1)
	(&refCorrectionLoss{pp: pp}).refStart(theta, a)
	for g, l := range grid {
		o := &refCorrectionLoss{pp: pp, lambda: l}
		iters += refLbfgsTol(o.refEval, theta, epochs, refGTol, refFTol)
		if refPolish {
			refNewtonPolish(o.refEval, theta)
		}
		path[g] = slices.Clone(theta)
	}
	return path, iters
}

// refShrinkGrid is the candidate shrinkages of opt, strongest first.
func refShrinkGrid(opt TrainOptions) []float64 {
	grid := slices.Clone(opt.Shrink)
	if grid == nil {
		grid = slices.Clone(DefaultShrink)
	}
	slices.SortFunc(grid, func(a, b float64) int { return -cmpFloat(a, b) })
	return grid
}

// refChooseShrink runs the inner cross-validation by query and returns the
// index of the chosen candidate in grid (-1: lexical) and every candidate's
// held-out agreement.
func (d *refPriorData) refChooseShrink(opt TrainOptions, K int, grid []float64) (int, []ShrinkPoint) {
	if len(uniq(d.queries)) < minCVQueries || len(grid) == 0 {
		return -1, nil
	}
	fold, nf := QueryFolds(d.queries, maxInnerFolds)
	qpos := map[string]int{}
	for _, q := range uniq(d.queries) {
		qpos[q] = len(qpos)
	}
	Q := len(qpos)
	G := len(grid) + 1 // candidate 0 is lexical
	conf := make([][]int64, G*Q)
	for i := range conf {
		conf[i] = make([]int64, K*K)
	}
	p := d.p
	// The folds are independent (and hold different queries, so they fill
	// different cells of conf): fit them at once.
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for f := 0; f < nf; f++ {
		var tr, te []int
		for i, fi := range fold {
			if fi == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		for _, i := range te {
			q := qpos[d.queries[i]]
			conf[q][d.y[i]*K+d.lexG[i]]++
		}
		if len(tr) == 0 {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			// the fold's own path from lexical (never warm-started from a
			// fit that saw the held-out queries)
			// standardised by the fold's own training rows: nothing of the
			// held-out queries enters its fit
			mean, std := d.refStandardise(tr)
			pp := d.refProblem(tr, K, mean, std)
			zt := make([]float64, p)
			path, _ := refFitPath(pp, pp.refFitScale(opt.Epochs), grid, opt.Epochs)
			for gi, theta := range path {
				_, w, delta := refCorrection(theta, p, K, pp.c)
				for _, i := range te {
					s := d.lex[i]
					for j, x := range d.R[i*p : i*p+p] {
						zt[j] = (x - mean[j]) / std[j]
					}
					s += dot(w, zt)
					q := qpos[d.queries[i]]
					conf[(gi+1)*Q+q][d.y[i]*K+refPriorGrade(s, delta, K)]++
				}
			}
		}()
	}
	wg.Wait()
	score := func(g int, wq []int32) (float64, float64) {
		tot := make([]int64, K*K)
		for q := 0; q < Q; q++ {
			m := int64(1)
			if wq != nil {
				m = int64(wq[q])
			}
			if m == 0 {
				continue
			}
			for c, n := range conf[g*Q+q] {
				tot[c] += m * n
			}
		}
		k, _ := benchmark.KappaFromConfusion(tot, K, benchmark.Unweighted)
		qk, _ := benchmark.KappaFromConfusion(tot, K, benchmark.Quadratic)
		return k, qk
	}
	pts := make([]ShrinkPoint, G)
	J := make([]float64, G)
	best := 0
	for g := range pts {
		k, qk := score(g, nil)
		pts[g] = ShrinkPoint{Kappa: k, QuadKappa: qk}
		if g > 0 {
			pts[g].Shrink = grid[g-1]
		}
		J[g] = (k + qk) / 2
		if J[g] > J[best]+1e-12 {
			best = g
		}
	}
	// one-standard-error rule: bootstrap the queries.
	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0x5eed))
	wq := make([]int32, Q)
	diff := make([][]float64, G)
	for range seBootstrap {
		clear(wq)
		for range Q {
			wq[rng.IntN(Q)]++
		}
		kb, qb := score(best, wq)
		jb := (kb + qb) / 2
		for g := range G {
			k, qk := score(g, wq)
			diff[g] = append(diff[g], jb-(k+qk)/2)
		}
	}
	chosen := best
	for g := range G {
		pts[g].SE = stddev(diff[g])
	}
	for g := 0; g < best; g++ { // stronger shrinkage first
		if J[g] >= J[best]-pts[g].SE {
			chosen = g
			break
		}
	}
	if chosen != 0 && !beatsLexical(pts, J, best, chosen) {
		chosen = 0
	}
	return chosen - 1, pts
}

// refTrainPrior fits the lexical-prior method into m (whose scale, options and
// feature names are set).
func refTrainPrior(ex []Example, opt TrainOptions, m *Model, y []int, cw []float64) (int, error) {
	d0 := len(ex[0].X)
	if d0 < features.NumFeatures {
		return 0, fmt.Errorf("student: method %s needs features.Extract or features.ExtractGroup vectors (%d features, want at least %d)",
			MethodLexicalPrior, d0, features.NumFeatures)
	}
	K := opt.MaxGrade - opt.MinGrade + 1
	n := len(ex)
	d := &refPriorData{p: d0 + 2, lex: make([]float64, n), lexG: make([]int, n), y: y, cw: cw, queries: make([]string, n)}
	d.R = make([]float64, 0, n*d.p)
	for i, e := range ex {
		d.R = priorInputs(e.X, opt.MinGrade, opt.MaxGrade, d.R)
		d.lex[i] = d.R[len(d.R)-2]
		d.lexG[i] = int(d.R[len(d.R)-1])
		d.queries[i] = e.Query
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	mean, std := d.refStandardise(all)
	pp := d.refProblem(all, K, mean, std)
	a := pp.refFitScale(opt.Epochs)
	w, delta := make([]float64, d.p), make([]float64, K-1) // lexical itself
	lam, iters := 0.0, 0
	var pts []ShrinkPoint
	if grid := refShrinkGrid(opt); len(uniq(d.queries)) >= minCVQueries && len(grid) > 0 {
		// the shrinkage path on all the training data, beside the folds
		var path [][]float64
		done := make(chan struct{})
		go func() {
			defer close(done)
			path, iters = refFitPath(pp, a, grid, opt.Epochs)
		}()
		var chosen int
		chosen, pts = d.refChooseShrink(opt, K, grid)
		<-done
		for _, theta := range path {
			if !finite(theta) {
				return 0, errors.New("student: training diverged")
			}
		}
		if chosen >= 0 {
			lam = grid[chosen]
			a, w, delta = refCorrection(path[chosen], d.p, K, pp.c)
		}
	}
	m.Mean, m.Std, m.Weights = mean, std, w
	m.LexScale, m.LexShift = a, delta
	m.Thresholds = make([]float64, K-1)
	for k := range m.Thresholds {
		m.Thresholds[k] = a * (pp.c[k] + delta[k])
	}
	m.FeatureNames = append(m.FeatureNames, priorDerived...)
	m.Summary.Shrink = lam
	m.Summary.LexicalFallback = lam == 0
	m.Summary.ShrinkCV = pts
	return iters, nil
}

// refGapTerms are the parts of the likelihood of a middle grade y that depend
// on the thresholds only, computed once per evaluation: with gap = t[y] -
// t[y-1], lg[y] = log(1 - e^-gap) and r[y] = 1/(e^gap - 1).
type refGapTerms struct{ lg, r []float64 }

func (g *refGapTerms) set(t []float64) {
	K := len(t) + 1
	if len(g.lg) != K {
		g.lg, g.r = make([]float64, K), make([]float64, K)
	}
	for y := 1; y < K-1; y++ {
		gap := t[y] - t[y-1]
		g.lg[y] = math.Log(-math.Expm1(-gap))
		g.r[y] = 1 / math.Expm1(gap)
	}
}

// refOrdinalTerm is one example's share of the proportional-odds likelihood:
// the negative log-likelihood of grade y (0-based, of K) at latent score s
// with ordered thresholds t (gt their refGapTerms), and its derivatives in s,
// in t[y-1] (dlo; 0 for y = 0) and in t[y] (dhi; 0 for y = K-1).
func refOrdinalTerm(y, K int, s float64, t []float64, gt *refGapTerms) (nll, ds, dlo, dhi float64) {
	switch {
	case y == 0:
		nll, q := refSoftplusSigmoid(s - t[0])
		return nll, q, 0, -q
	case y == K-1:
		nll, q := refSoftplusSigmoid(t[K-2] - s)
		return nll, -q, q, 0
	}
	b := t[y] - s
	a := t[y-1] - s
	spb, sb := refSoftplusSigmoid(-b)
	spa, sa := refSoftplusSigmoid(a)
	r := gt.r[y]
	return spb + spa - gt.lg[y], sb - sa, sa + r, -(sb + r)
}

// refSoftplusSigmoid returns softplus(x) = log(1+e^x) and sigmoid(x) from one
// exponential, stably.
func refSoftplusSigmoid(x float64) (sp, sg float64) {
	e := math.Exp(-math.Abs(x))
	if x >= 0 {
		return x + math.Log1p(e), 1 / (1 + e)
	}
	return math.Log1p(e), e / (1 + e)
}

// refLbfgsTol is lbfgs stopping when the gradient's largest component is below
// gtol or an iteration improves f by less than ftol (relative).
func refLbfgsTol(f func(x, g []float64) float64, x []float64, maxIter int, gtol, ftol float64) int {
	const mem = 10
	P := len(x)
	g := make([]float64, P)
	fx := f(x, g)
	S := make([][]float64, 0, mem)
	Y := make([][]float64, 0, mem)
	rho := make([]float64, 0, mem)
	alpha := make([]float64, mem)
	dir := make([]float64, P)
	xn := make([]float64, P)
	gn := make([]float64, P)
	it := 0
	for it = 0; it < maxIter; it++ {
		if normInf(g) < gtol {
			break
		}
		// two-loop recursion
		for j := range dir {
			dir[j] = -g[j]
		}
		for k := len(S) - 1; k >= 0; k-- {
			alpha[k] = rho[k] * dot(S[k], dir)
			axpy(-alpha[k], Y[k], dir)
		}
		if k := len(S) - 1; k >= 0 {
			gamma := dot(S[k], Y[k]) / dot(Y[k], Y[k])
			for j := range dir {
				dir[j] *= gamma
			}
		} else {
			sc := 1 / math.Max(1, norm2(g))
			for j := range dir {
				dir[j] *= sc
			}
		}
		for k := range S {
			b := rho[k] * dot(Y[k], dir)
			axpy(alpha[k]-b, S[k], dir)
		}
		slope := dot(g, dir)
		if slope >= 0 { // not a descent direction: restart with steepest descent
			S, Y, rho = S[:0], Y[:0], rho[:0]
			for j := range dir {
				dir[j] = -g[j]
			}
			slope = dot(g, dir)
		}
		// backtracking Armijo line search
		step := 1.0
		var fn float64
		ok := false
		for ls := 0; ls < 40; ls++ {
			for j := range xn {
				xn[j] = x[j] + step*dir[j]
			}
			fn = f(xn, gn)
			if !math.IsNaN(fn) && fn <= fx+1e-4*step*slope {
				ok = true
				break
			}
			step *= 0.5
		}
		if !ok {
			break
		}
		sv := make([]float64, P)
		yv := make([]float64, P)
		for j := range sv {
			sv[j] = xn[j] - x[j]
			yv[j] = gn[j] - g[j]
		}
		sy := dot(sv, yv)
		if sy > 1e-12 {
			if len(S) == mem {
				S, Y, rho = S[1:], Y[1:], rho[1:]
			}
			S = append(S, sv)
			Y = append(Y, yv)
			rho = append(rho, 1/sy)
		}
		copy(x, xn)
		copy(g, gn)
		improve := fx - fn
		fx = fn
		if improve >= 0 && improve < ftol*math.Max(1, math.Abs(fx)) {
			it++
			break
		}
	}
	return it
}
