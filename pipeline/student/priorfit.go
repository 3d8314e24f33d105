package student

import (
	"math"
	"runtime"
	"slices"
	"sync"
)

// Fitting the lexical-prior correction along the shrinkage path, for the
// whole training data and for each inner fold of the cross-validation
// together.
//
// Every fit minimises a smooth problem of about sixty parameters over a
// thousand or so examples, and a plain L-BFGS needs fifty to seventy
// iterations for each (the inputs are strongly correlated). With the
// problem's Hessian (newtonMatrix) as its starting matrix it needs one to
// three. The Hessian is a sum over the examples, so it is computed once
// per shrinkage for all the problems: per fold, at the whole data's fit, in
// the whole data's coordinates; a fold's problem (which standardises its
// inputs by its own training rows) gets the sum of the other folds' parts,
// carried into its coordinates. Each fold's fit starts from the whole
// data's fit at the same shrinkage, carried into its coordinates (the same
// scores on every example), which is where the held-out fold moves it
// least from; it is then minimised to the same tolerance as before, so the
// start and the preconditioner change how fast a fit converges, not where
// it ends.

// curvature is what the likelihood part of correctionLoss adds up over
// some examples at one model, in the whole data's coordinates extended as
// e = (lex, z, 1) (each example's score is a·lex + v·z): its value, its
// first derivatives (in the score, times e, and in the thresholds) and its
// second (e·eᵀ weighted by ∂²ℓ/∂s², e weighted by ∂²ℓ/∂s∂t_k, and the
// thresholds' block), beside the examples' total weight. Curvatures of
// disjoint example sets add.
type curvature struct {
	E, K1 int
	val   float64
	gs    []float64 // E
	gt    []float64 // K-1
	ss    []float64 // E×E
	st    []float64 // (K-1)×E
	tt    []float64 // (K-1)×(K-1)
	w     float64
}

func newCurvature(E, K1 int) *curvature {
	return &curvature{E: E, K1: K1, gs: make([]float64, E), gt: make([]float64, K1),
		ss: make([]float64, E*E), st: make([]float64, K1*E), tt: make([]float64, K1*K1)}
}

func (c *curvature) reset() {
	c.val, c.w = 0, 0
	clear(c.gs)
	clear(c.gt)
	clear(c.ss)
	clear(c.st)
	clear(c.tt)
}

func (c *curvature) addTo(dst *curvature) {
	dst.val += c.val
	axpy(1, c.gs, dst.gs)
	axpy(1, c.gt, dst.gt)
	axpy(1, c.ss, dst.ss)
	axpy(1, c.st, dst.st)
	axpy(1, c.tt, dst.tt)
	dst.w += c.w
}

// ordinalCurv is ordinalTerm's second derivatives for grade y of K, from
// its first (ds, dlo, dhi) and the grade's gap term r: in the score (ss),
// in the score and the lower and upper thresholds (slo, shi), and in the
// thresholds (lolo, lohi, hihi).
func ordinalCurv(y, K int, ds, dlo, dhi, r float64) (ss, slo, shi, lolo, lohi, hihi float64) {
	switch {
	case y == 0:
		h := ds * (1 - ds) // ds = σ(s - t_0)
		return h, 0, -h, 0, 0, h
	case y == K-1:
		h := dlo * (1 - dlo) // dlo = σ(t_{K-2} - s)
		return h, -h, 0, h, 0, 0
	}
	sa, sb := dlo-r, -dhi-r // σ(t_{y-1} - s), σ(s - t_y)
	ha, hb := sa*(1-sa), sb*(1-sb)
	rr := r * (1 + r)
	return ha + hb, -ha, -hb, ha + rr, -rr, hb + rr
}

// accumulate sets c to the likelihood terms of the rows of pp at x (pp's
// coordinates, which are the whole data's).
func (c *curvature) accumulate(pp *priorProblem, rows []int, x []float64) {
	c.reset()
	p, K, E, K1 := pp.p, pp.K, c.E, c.K1
	a := x[0]
	v := x[1 : 1+p]
	t := x[1+p:]
	var gaps gapTerms
	gaps.set(t)
	// eight rows at a time: each pass over the E×E sums then does eight
	// products per load and store
	const block = 8
	var eb [block][]float64
	for r := range eb {
		eb[r] = make([]float64, E)
	}
	var cb [block]float64
	nb := 0
	flush := func() {
		for r := nb; r < block; r++ {
			cb[r] = 0
		}
		for j := 0; j < E; j++ {
			row := c.ss[j*E+j : j*E+E]
			n := len(row)
			d0, d1, d2, d3 := cb[0]*eb[0][j], cb[1]*eb[1][j], cb[2]*eb[2][j], cb[3]*eb[3][j]
			d4, d5, d6, d7 := cb[4]*eb[4][j], cb[5]*eb[5][j], cb[6]*eb[6][j], cb[7]*eb[7][j]
			f0, f1, f2, f3 := eb[0][j:][:n], eb[1][j:][:n], eb[2][j:][:n], eb[3][j:][:n]
			f4, f5, f6, f7 := eb[4][j:][:n], eb[5][j:][:n], eb[6][j:][:n], eb[7][j:][:n]
			for k := range row {
				row[k] += (d0*f0[k] + d1*f1[k] + d2*f2[k] + d3*f3[k]) + (d4*f4[k] + d5*f5[k] + d6*f6[k] + d7*f7[k])
			}
		}
		nb = 0
	}
	for _, i := range rows {
		w := pp.wt[i]
		if w == 0 {
			continue
		}
		z := pp.Z[i*p : i*p+p]
		yi := pp.y[i]
		nll, ds, dlo, dhi := ordinalTerm(yi, K, a*pp.lex[i]+dot(v, z), t, &gaps)
		e := eb[nb]
		e[0] = pp.lex[i]
		copy(e[1:1+p], z)
		e[E-1] = 1
		c.val += w * nll
		axpy(w*ds, e, c.gs)
		c.w += w
		if yi > 0 {
			c.gt[yi-1] += w * dlo
		}
		if yi < K-1 {
			c.gt[yi] += w * dhi
		}
		ss, slo, shi, lolo, lohi, hihi := ordinalCurv(yi, K, ds, dlo, dhi, gaps.r[yi])
		cb[nb] = w * ss
		nb++
		if yi > 0 {
			axpy(w*slo, e, c.st[(yi-1)*E:yi*E])
			c.tt[(yi-1)*K1+yi-1] += w * lolo
		}
		if yi < K-1 {
			axpy(w*shi, e, c.st[yi*E:(yi+1)*E])
			c.tt[yi*K1+yi] += w * hihi
		}
		if yi > 0 && yi < K-1 {
			c.tt[(yi-1)*K1+yi] += w * lohi
			c.tt[yi*K1+yi-1] += w * lohi
		}
		if nb == block {
			flush()
		}
	}
	if nb > 0 {
		flush()
	}
	c.symmetrise()
}

// symmetrise copies ss's upper triangle (the part accumulate fills) into
// its lower one.
func (c *curvature) symmetrise() {
	E := c.E
	for j := 0; j < E; j++ {
		for k := j + 1; k < E; k++ {
			c.ss[k*E+j] = c.ss[j*E+k]
		}
	}
}

// coordMap carries the whole data's standardised inputs z into a fold's,
// z' = D·z + b (elementwise): D = std/std', b = (mean - mean')/std'. A nil
// map is the identity.
type coordMap struct{ D, b []float64 }

func newCoordMap(mean, std, fmean, fstd []float64) *coordMap {
	m := &coordMap{D: make([]float64, len(mean)), b: make([]float64, len(mean))}
	for j := range mean {
		m.D[j] = std[j] / fstd[j]
		m.b[j] = (mean[j] - fmean[j]) / fstd[j]
	}
	return m
}

// carry writes into dst the point in the fold's coordinates that gives
// every example the score and grades x gives it in the whole data's:
// weights v' = v/D, and the intercept -Σ v'·b this leaves moved into the
// thresholds.
func (m *coordMap) carry(x []float64, p int, dst []float64) {
	copy(dst, x)
	if m == nil {
		return
	}
	c0 := 0.0
	for j := 0; j < p; j++ {
		vj := x[1+j] / m.D[j]
		dst[1+j] = vj
		c0 += vj * m.b[j]
	}
	for k := range dst[1+p:] {
		dst[1+p+k] += c0
	}
}

// apply writes T·u into dst (1+p entries) for the extended vector u (E
// entries, a column of one of the curvature's blocks): T maps e = (lex,
// z, 1) to the problem's (lex, z').
func (m *coordMap) apply(u, dst []float64) {
	E := len(u)
	dst[0] = u[0]
	if m == nil {
		copy(dst[1:], u[1:E-1])
		return
	}
	last := u[E-1]
	for j, d := range m.D {
		dst[1+j] = d*u[1+j] + m.b[j]*last
	}
}

// startValue returns the objective of o and its gradient (into g) at x,
// in the problem's coordinates, from cv: the curvature of the problem's
// examples at the same scores, with m the map into the problem's
// coordinates. It is what o.value and o.gradient would give, but for
// rounding, without a pass over the examples.
func startValue(cv *curvature, m *coordMap, o *correctionLoss, x, g []float64) float64 {
	p := o.pp.p
	inv := 1 / cv.w
	m.apply(cv.gs, g[:1+p])
	for j := range g[:1+p] {
		g[j] *= inv
	}
	for k, v := range cv.gt {
		g[1+p+k] = v * inv
	}
	pen := o.pen()
	f := cv.val*inv + o.penalty(x, g[1+p:])
	for j, v := range x[1 : 1+p] {
		g[1+j] += pen * v
	}
	g[0] = o.gradA(x, g[0])
	return f
}

// newtonWork holds a problem's buffers for newtonMatrix and its factor.
type newtonWork struct {
	cv      *curvature // the problem's curvature, a sum of folds'
	H, A    []float64
	col, tu []float64
}

func newNewtonWork(p, K int) *newtonWork {
	E, U, N := p+2, 1+p, p+K
	return &newtonWork{cv: newCurvature(E, K-1), H: make([]float64, N*N), A: make([]float64, U*E),
		col: make([]float64, E), tu: make([]float64, U)}
}

// newtonMatrix is the Hessian of o at x (the problem's coordinates), from
// cv, the curvature of the problem's examples at the same scores (or
// nearby ones: it is then an approximation), and the map m into the
// problem's coordinates: N×N with N = 1+p+K-1, in x's order, in w.H.
func newtonMatrix(cv *curvature, m *coordMap, o *correctionLoss, x []float64, w *newtonWork) []float64 {
	p, c := o.pp.p, o.pp.c
	E, K1 := cv.E, cv.K1
	N := 1 + p + K1
	U := 1 + p // (a, v)
	inv := 1 / cv.w
	// A = T·S (U×E; S is symmetric, so its rows are its columns), then
	// Huu = T·Aᵀ, column by column
	A, col, tu, H := w.A, w.col, w.tu, w.H
	for mu := 0; mu < E; mu++ {
		m.apply(cv.ss[mu*E:mu*E+E], tu)
		for alpha, v := range tu {
			A[alpha*E+mu] = v
		}
	}
	for alpha := 0; alpha < U; alpha++ {
		copy(col, A[alpha*E:alpha*E+E])
		m.apply(col, tu)
		for beta, v := range tu {
			H[alpha*N+beta] = v * inv
		}
	}
	for k := 0; k < K1; k++ {
		m.apply(cv.st[k*E:k*E+E], tu)
		for alpha, v := range tu {
			H[alpha*N+U+k], H[(U+k)*N+alpha] = v*inv, v*inv
		}
		for l := 0; l < K1; l++ {
			H[(U+k)*N+U+l] = cv.tt[k*K1+l] * inv
		}
	}
	// the penalty λ/2·(|v|² + |t - a·c|²)/a0² and the prior on log a
	pen := o.pen()
	for j := 1; j < U; j++ {
		H[j*N+j] += pen
	}
	for k, ck := range c {
		H[(U+k)*N+U+k] += pen
		H[0] += pen * ck * ck
		H[U+k] -= pen * ck
		H[(U+k)*N] -= pen * ck
	}
	a := x[0]
	H[0] += priorScaleReg * (1 - priorDist(a)) / (a * a)
	return H
}

// cholesky factors the symmetric N×N matrix H in place into its lower
// triangle L (H = L·Lᵀ) and reports whether it is positive definite.
func cholesky(H []float64, N int) bool {
	for j := 0; j < N; j++ {
		rj := H[j*N : j*N+j]
		d := H[j*N+j] - dot(rj, rj)
		if !(d > 0) || math.IsInf(d, 0) {
			return false
		}
		d = math.Sqrt(d)
		H[j*N+j] = d
		for i := j + 1; i < N; i++ {
			H[i*N+j] = (H[i*N+j] - dot(H[i*N:i*N+j], rj)) / d
		}
	}
	return true
}

// choleskySolve overwrites x with H⁻¹·x, L being cholesky's factor of H.
func choleskySolve(L []float64, N int, x []float64) {
	for i := 0; i < N; i++ {
		s := x[i]
		for k := 0; k < i; k++ {
			s -= L[i*N+k] * x[k]
		}
		x[i] = s / L[i*N+i]
	}
	for i := N - 1; i >= 0; i-- {
		s := x[i]
		for k := i + 1; k < N; k++ {
			s -= L[k*N+i] * x[k]
		}
		x[i] = s / L[i*N+i]
	}
}

// preconditioner returns the inverse of newtonMatrix as minimise's
// starting inverse Hessian, or nil (plain L-BFGS) when the matrix is not
// numerically positive definite.
func preconditioner(cv *curvature, m *coordMap, o *correctionLoss, x []float64, w *newtonWork) func([]float64) {
	N := len(x)
	H := newtonMatrix(cv, m, o, x, w)
	if !cholesky(H, N) {
		return nil
	}
	return func(x []float64) { choleskySolve(H, N, x) }
}

// innerFold is one fold of the inner cross-validation: its training rows'
// problem, standardised by those rows, and the map into its coordinates.
type innerFold struct {
	tr, te    []int // rows of priorData
	mean, std []float64
	pp        *priorProblem
	cmap      *coordMap
}

// fitPaths fits the correction at every shrinkage of grid (strongest first)
// on the whole data (pp, standardised by mean and std, its rows being
// priorData's rows with a class weight; byFold[f] the indices of its
// examples in fold f) and on each fold's training rows.
// It returns the whole data's path, each fold's path (in the fold's
// coordinates) and the whole data's iterations.
func (d *priorData) fitPaths(pp *priorProblem, a float64, folds []*innerFold, byFold [][]int, grid []float64, epochs int) (path [][]float64, foldPaths [][][]float64, iters int) {
	p, K := pp.p, pp.K
	nf := len(folds)
	E, K1 := p+2, K-1
	// curv[0][f]: fold f's curvature at the lexical start; curv[g+1][f]:
	// at the whole data's fit at grid[g]
	curv := make([][]*curvature, len(grid)+1)
	measure := func(g int, x []float64) {
		curv[g] = make([]*curvature, nf)
		// the whole data's path waits for it (and the folds for that):
		// spread over the processors
		parallel(nf, func(f int) {
			curv[g][f] = newCurvature(E, K1)
			curv[g][f].accumulate(pp, byFold[f], x)
		})
	}
	// the sum of curv[g]'s but skip's (-1: all) into dst
	sum := func(g, skip int, dst *curvature) *curvature {
		dst.reset()
		for f, c := range curv[g] {
			if f != skip {
				c.addTo(dst)
			}
		}
		return dst
	}
	path = make([][]float64, len(grid))
	foldPaths = make([][][]float64, nf)
	// Each fold's path runs in its own goroutine, a shrinkage as soon as
	// the whole data's fit at it and its curvature are ready (ready[g]
	// closed), while the whole data's path goes on to the next one.
	ready := make([]chan struct{}, len(grid))
	for g := range ready {
		ready[g] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for fi, fo := range folds {
		foldPaths[fi] = make([][]float64, len(grid))
		if fo.pp == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := newNewtonWork(p, K)
			gf := make([]float64, 1+p+K1)
			for gi, lam := range grid {
				<-ready[gi]
				xf := make([]float64, 1+p+K1)
				fo.cmap.carry(path[gi], p, xf)
				of := &correctionLoss{pp: fo.pp, lambda: lam}
				cv := sum(gi+1, fi, w.cv)
				ff := startValue(cv, fo.cmap, of, xf, gf)
				descend(of, xf, ff, gf, epochs, priorGTol, priorFTol, preconditioner(cv, fo.cmap, of, xf, w))
				foldPaths[fi][gi] = xf
			}
		}()
	}
	w := newNewtonWork(p, K)
	x := make([]float64, 1+p+K1)
	(&correctionLoss{pp: pp}).start(x, a)
	measure(0, x)
	g := make([]float64, len(x))
	for gi, lam := range grid {
		o := &correctionLoss{pp: pp, lambda: lam}
		cv := sum(gi, -1, w.cv)
		f := startValue(cv, nil, o, x, g)
		iters += descend(o, x, f, g, epochs, priorGTol, priorFTol, preconditioner(cv, nil, o, x, w))
		path[gi] = slices.Clone(x)
		measure(gi+1, x)
		close(ready[gi])
	}
	wg.Wait()
	return path, foldPaths, iters
}

// parallel runs do(0..n-1) on up to GOMAXPROCS goroutines.
func parallel(n int, do func(i int)) {
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers <= 1 {
		for i := range n {
			do(i)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
