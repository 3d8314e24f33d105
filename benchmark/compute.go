package benchmark

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/qrelbench/qrelbench/benchmark/corr"
	"github.com/qrelbench/qrelbench/benchmark/stat"
)

// Item is one pair graded by both the reference (e.g. humans) and the
// labeler under test.
type Item struct {
	Query string  // query id: ranking metrics and the bootstrap work per query
	Doc   string  // document id
	Ref   int     // reference grade
	Got   int     // labeler's grade
	Score float64 // labeler's ranking score: its expected grade when it has one, else float64(Got)
}

// Options configures Compute.
type Options struct {
	MinGrade, MaxGrade int   // the workspace scale, e.g. 0..3 (0-2 and 0-4 also occur)
	Threshold          int   // binary relevance: grade >= Threshold (0 = default 2, or MaxGrade when MaxGrade < 2)
	Bootstrap          int   // number of bootstrap resamples over queries (0 = no CIs)
	Seed               int64 // bootstrap seed: same seed, same CIs
}

// Result holds every metric of one labeler against the reference. The JSON
// field names are a public contract. Undefined metrics are 0 and listed in
// Undefined; no field is ever NaN or infinite, so a Result always marshals.
//
// What each figure is computed on:
//   - accuracy, within_one_accuracy, mae, the kappas, the alphas, the binary
//     metrics, spearman and kendall_tau_b: Ref vs Got (integer grades);
//   - pearson: Ref vs Score (Score equals Got unless the labeler gives an
//     expected grade, in which case Pearson measures that finer signal);
//   - ndcg_at_10 and the pairwise accuracies: the ranking by Score, per
//     query, judged by Ref.
//
// Spearman and Kendall use the integer grades rather than Score so that they
// can be computed exactly from the pooled k x k contingency table, both on
// the full data and on every bootstrap resample: the point estimate and its
// confidence interval are of the same statistic.
type Result struct {
	N                      int                   `json:"n"`
	Queries                int                   `json:"queries"`
	MinGrade               int                   `json:"min_grade"`
	MaxGrade               int                   `json:"max_grade"`
	Threshold              int                   `json:"threshold"`
	Accuracy               float64               `json:"accuracy"`
	WithinOne              float64               `json:"within_one_accuracy"`
	MAE                    float64               `json:"mae"`
	CohenKappa             float64               `json:"cohen_kappa"`
	LinearKappa            float64               `json:"linear_kappa"`
	QuadraticKappa         float64               `json:"quadratic_kappa"`
	AlphaOrdinal           float64               `json:"krippendorff_alpha_ordinal"`
	AlphaInterval          float64               `json:"krippendorff_alpha_interval"`
	BinaryKappa            float64               `json:"binary_kappa"`
	Precision              float64               `json:"precision"`
	Recall                 float64               `json:"recall"`
	F1                     float64               `json:"f1"`
	Pearson                float64               `json:"pearson"`
	Spearman               float64               `json:"spearman"`
	KendallTauB            float64               `json:"kendall_tau_b"`
	NDCG10                 float64               `json:"ndcg_at_10"`
	PairwiseAccuracy       float64               `json:"pairwise_accuracy"`
	PairwiseAccuracyStrict float64               `json:"pairwise_accuracy_strict"`
	PairwisePairs          int64                 `json:"pairwise_pairs"`
	Confusion              [][]int               `json:"confusion"`
	PerGradeAccuracy       []float64             `json:"per_grade_accuracy"`
	NDCGQueries            int                   `json:"ndcg_queries"`
	Bootstrap              int                   `json:"bootstrap"`
	CI                     map[string][2]float64 `json:"ci"`
	Undefined              []string              `json:"undefined"`
}

// Indices of the scalar metrics, in report order.
const (
	mAccuracy = iota
	mWithinOne
	mMAE
	mCohen
	mLinear
	mQuadratic
	mAlphaOrdinal
	mAlphaInterval
	mBinaryKappa
	mPrecision
	mRecall
	mF1
	mPearson
	mSpearman
	mKendall
	mNDCG
	mPairwise
	mPairwiseStrict
	numMetrics
)

var metricNames = [numMetrics]string{
	"accuracy", "within_one_accuracy", "mae",
	"cohen_kappa", "linear_kappa", "quadratic_kappa",
	"krippendorff_alpha_ordinal", "krippendorff_alpha_interval",
	"binary_kappa", "precision", "recall", "f1",
	"pearson", "spearman", "kendall_tau_b",
	"ndcg_at_10", "pairwise_accuracy", "pairwise_accuracy_strict",
}

// MetricNames returns the JSON names of the scalar metrics (the possible
// keys of Result.CI), in report order.
func MetricNames() []string { return slices.Clone(metricNames[:]) }

// Metric returns the scalar metric with the given JSON name; false when the
// name is unknown or the metric is undefined on this data.
func (r *Result) Metric(name string) (float64, bool) {
	i := slices.Index(metricNames[:], name)
	if i < 0 || slices.Contains(r.Undefined, name) {
		return 0, false
	}
	return r.fields()[i], true
}

func (r *Result) fields() [numMetrics]float64 {
	return [numMetrics]float64{
		r.Accuracy, r.WithinOne, r.MAE,
		r.CohenKappa, r.LinearKappa, r.QuadraticKappa,
		r.AlphaOrdinal, r.AlphaInterval,
		r.BinaryKappa, r.Precision, r.Recall, r.F1,
		r.Pearson, r.Spearman, r.KendallTauB,
		r.NDCG10, r.PairwiseAccuracy, r.PairwiseAccuracyStrict,
	}
}

func (r *Result) setFields(v *metricVec) {
	f := func(i int) float64 { return v.v[i] }
	r.Accuracy, r.WithinOne, r.MAE = f(mAccuracy), f(mWithinOne), f(mMAE)
	r.CohenKappa, r.LinearKappa, r.QuadraticKappa = f(mCohen), f(mLinear), f(mQuadratic)
	r.AlphaOrdinal, r.AlphaInterval = f(mAlphaOrdinal), f(mAlphaInterval)
	r.BinaryKappa, r.Precision, r.Recall, r.F1 = f(mBinaryKappa), f(mPrecision), f(mRecall), f(mF1)
	r.Pearson, r.Spearman, r.KendallTauB = f(mPearson), f(mSpearman), f(mKendall)
	r.NDCG10, r.PairwiseAccuracy, r.PairwiseAccuracyStrict = f(mNDCG), f(mPairwise), f(mPairwiseStrict)
}

// metricVec holds one evaluation of every scalar metric.
type metricVec struct {
	v  [numMetrics]float64
	ok [numMetrics]bool
}

func (m *metricVec) at(i int) func(v float64, ok bool) {
	return func(v float64, ok bool) { m.set(i, v, ok) }
}

func (m *metricVec) set(i int, v float64, ok bool) {
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		v, ok = 0, false
	}
	m.v[i], m.ok[i] = v, ok
}

// maxLevels bounds the number of grades of a scale (k x k tables are
// combined once per bootstrap resample).
const maxLevels = 101

// ndcgCutoff is the k of ndcg_at_10.
const ndcgCutoff = 10

// cell is one non-zero entry of a query's confusion matrix.
type cell struct {
	idx int32 // row*k + col
	cnt int64
}

// queryStats are the sufficient statistics of one query: everything the
// metrics need, so that a bootstrap resample of queries is combined without
// touching the items again. The struct holds no pointers and the queries
// lie in one slice, so a resample streams through memory sequentially.
//
// Pearson moments are kept relative to the global means (Mx, My) of the
// full data: with d = mean_q - M, bx = n*dx, axx = Sxx_q + n*dx^2 (Sxx_q
// centred within the query), and likewise for y and xy. A multiset of
// queries then has Sxx = sum(axx) - sum(bx)^2/N, one pass and without the
// cancellation of raw sums. (While the statistics are being built, bx and
// by hold plain sums and the a-fields the within-query centred sums.)
type queryStats struct {
	n                      float64 // items
	bx, by                 float64
	axx, ayy, axy          float64
	minX, maxX, minY, maxY float64
	ndcg                   float64
	pwConc, pwTies, pwAll  int64
	cellLo, cellHi         int32 // this query's cells in the shared slice
	ndcgOK                 bool
}

// Compute returns every metric of the labeler's grades against the
// reference grades. It fails on empty input, an invalid scale or threshold,
// a grade outside the scale, a non-finite Score, or a (Query, Doc) pair that
// occurs twice.
//
// Aggregation: accuracy and all agreement metrics pool the items (micro);
// ndcg_at_10 is the mean over queries that have a relevant document
// (macro, as trec_eval); the pairwise accuracies pool all pairs of all
// queries (micro: sum of correct pairs / sum of pairs), so a query weighs
// in proportion to its number of pairs with different reference grades.
//
// With Options.Bootstrap = B > 0, the queries are resampled with
// replacement B times (each resample from its own PCG stream derived from
// Seed and the resample number, so the result does not depend on the
// scheduling), every scalar metric is recomputed on the resample, and CI
// holds the 2.5 and 97.5 percentiles (linear interpolation between order
// statistics) of the resamples on which the metric is defined. A metric
// undefined on the full data gets no CI.
func Compute(items []Item, opt Options) (Result, error) {
	if len(items) == 0 {
		return Result{}, errors.New("benchmark: no pairs graded by both the reference and the labeler")
	}
	if len(items) > math.MaxInt32 {
		return Result{}, fmt.Errorf("benchmark: %d pairs; at most %d are supported", len(items), math.MaxInt32)
	}
	thr, err := checkOptions(opt)
	if err != nil {
		return Result{}, err
	}
	for i, it := range items {
		if err := checkItem(i, it.Query, it.Doc, it.Ref, it.Got, it.Score, opt); err != nil {
			return Result{}, err
		}
	}

	// Group the items by query, queries sorted by id so that the bootstrap
	// draws (and so the CIs) do not depend on the order of the input.
	qid := make(map[string]int32)
	qOf := make([]int32, len(items))
	var qnames []string
	for i := range items {
		id, ok := qid[items[i].Query]
		if !ok {
			id = int32(len(qnames))
			qid[items[i].Query] = id
			qnames = append(qnames, items[i].Query)
		}
		qOf[i] = id
	}
	Q := len(qnames)
	byName := make([]int32, Q)
	for q := range byName {
		byName[q] = int32(q)
	}
	slices.SortFunc(byName, func(a, b int32) int { return strings.Compare(qnames[a], qnames[b]) })
	rank := make([]int32, Q)
	for r, q := range byName {
		rank[q] = int32(r)
	}
	counts := make([]int32, Q)
	for i, q := range qOf {
		qOf[i] = rank[q]
		counts[rank[q]]++
	}
	start := make([]int32, Q+1)
	for q, c := range counts {
		start[q+1] = start[q] + c
	}
	pos := slices.Clone(start[:Q])
	order := make([]int32, len(items))
	for i, q := range qOf {
		order[pos[q]] = int32(i)
		pos[q]++
	}
	// Canonical order within a query (by doc id): the sums, and so the
	// result, do not depend on the order of the input. Sorting a local copy
	// of the keys is much faster than comparing through the items.
	err = parallelFor(Q, func() *[]docKey { return new([]docKey) }, func(keysBuf *[]docKey, q int) error {
		ids := order[start[q]:start[q+1]]
		keys := (*keysBuf)[:0]
		for _, i := range ids {
			keys = append(keys, docKey{items[i].Doc, i})
		}
		slices.SortFunc(keys, func(a, b docKey) int { return strings.Compare(a.doc, b.doc) })
		for j, key := range keys {
			if j > 0 && key.doc == keys[j-1].doc {
				return fmt.Errorf("benchmark: pair (query %q, doc %q) occurs more than once", items[key.id].Query, key.doc)
			}
			ids[j] = key.id
		}
		*keysBuf = keys
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	g := grouped{start: start, ref: make([]uint8, len(items)), got: make([]uint8, len(items)), score: make([]float64, len(items))}
	for j, i := range order {
		g.ref[j], g.got[j], g.score[j] = uint8(items[i].Ref-opt.MinGrade), uint8(items[i].Got-opt.MinGrade), items[i].Score
	}
	return computeGrouped(g, opt, thr)
}

// checkOptions fails on an invalid scale, threshold or bootstrap count,
// and returns the threshold.
func checkOptions(opt Options) (int, error) {
	if opt.MaxGrade <= opt.MinGrade {
		return 0, fmt.Errorf("benchmark: invalid grade scale %d..%d (need MinGrade < MaxGrade)", opt.MinGrade, opt.MaxGrade)
	}
	k := opt.MaxGrade - opt.MinGrade + 1
	if k > maxLevels {
		return 0, fmt.Errorf("benchmark: grade scale %d..%d has %d levels; at most %d are supported", opt.MinGrade, opt.MaxGrade, k, maxLevels)
	}
	thr := opt.Threshold
	if thr == 0 {
		thr = min(2, opt.MaxGrade)
	}
	if thr <= opt.MinGrade || thr > opt.MaxGrade {
		return 0, fmt.Errorf("benchmark: binary threshold %d outside the scale %d..%d (need MinGrade < Threshold <= MaxGrade)", thr, opt.MinGrade, opt.MaxGrade)
	}
	if opt.Bootstrap < 0 {
		return 0, fmt.Errorf("benchmark: negative bootstrap count %d", opt.Bootstrap)
	}
	return thr, nil
}

// checkItem fails on a grade outside the scale or a non-finite score.
func checkItem(i int, query, doc string, ref, got int, score float64, opt Options) error {
	switch {
	case ref < opt.MinGrade || ref > opt.MaxGrade:
		return fmt.Errorf("benchmark: item %d (query %q, doc %q): reference grade %d outside the scale %d..%d", i, query, doc, ref, opt.MinGrade, opt.MaxGrade)
	case got < opt.MinGrade || got > opt.MaxGrade:
		return fmt.Errorf("benchmark: item %d (query %q, doc %q): labeler grade %d outside the scale %d..%d", i, query, doc, got, opt.MinGrade, opt.MaxGrade)
	case math.IsNaN(score) || math.IsInf(score, 0):
		return fmt.Errorf("benchmark: item %d (query %q, doc %q): score %v is not finite", i, query, doc, score)
	}
	return nil
}

// grouped is what the metrics are computed from: the items of each query
// together, queries in id order, each query's items in document id order.
// Grades are levels, grade - MinGrade.
type grouped struct {
	start    []int32 // query q's items are [start[q], start[q+1])
	ref, got []uint8
	score    []float64
}

// computeGrouped is Compute on items already checked and grouped.
func computeGrouped(g grouped, opt Options, thr int) (Result, error) {
	k := opt.MaxGrade - opt.MinGrade + 1
	Q := len(g.start) - 1
	qs := make([]queryStats, Q)
	qcells := make([][]cell, Q)
	err := parallelFor(Q, func() *queryScratch { return &queryScratch{conf: make([]int64, k*k)} }, func(sc *queryScratch, q int) error {
		oneQuery(g, q, &qs[q], &qcells[q], sc, opt.MinGrade, k)
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	cells := finishQueryStats(qs, qcells)

	agg := newAggregator(k, opt.MinGrade, thr)
	var point metricVec
	agg.compute(qs, cells, nil, &point)

	res := Result{
		N:         len(g.ref),
		Queries:   Q,
		MinGrade:  opt.MinGrade,
		MaxGrade:  opt.MaxGrade,
		Threshold: thr,
		Bootstrap: opt.Bootstrap,
		CI:        map[string][2]float64{},
		Undefined: []string{},
	}
	res.setFields(&point)
	for i := range numMetrics {
		if !point.ok[i] {
			res.Undefined = append(res.Undefined, metricNames[i])
		}
	}
	res.Confusion = make([][]int, k)
	res.PerGradeAccuracy = make([]float64, k)
	for i := 0; i < k; i++ {
		res.Confusion[i] = make([]int, k)
		var row int64
		for j := 0; j < k; j++ {
			res.Confusion[i][j] = int(agg.conf[i*k+j])
			row += agg.conf[i*k+j]
		}
		if row > 0 {
			res.PerGradeAccuracy[i] = float64(agg.conf[i*k+i]) / float64(row)
		} else {
			res.Undefined = append(res.Undefined, "per_grade_accuracy["+strconv.Itoa(opt.MinGrade+i)+"]")
		}
	}
	for _, s := range qs {
		if s.ndcgOK {
			res.NDCGQueries++
		}
		res.PairwisePairs += s.pwAll
	}

	if opt.Bootstrap > 0 {
		res.CI = bootstrapCI(qs, cells, k, opt.MinGrade, thr, opt.Bootstrap, opt.Seed, &point)
	}
	return res, nil
}

// parallelFor calls fn(scratch, i) for every i < n on up to GOMAXPROCS
// goroutines, each with its own scratch, and returns the error of the
// lowest i that failed.
func parallelFor[S any](n int, scratch func() S, fn func(S, int) error) error {
	var next atomic.Int64
	var mu sync.Mutex
	errAt, firstErr := n, error(nil)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := scratch()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(sc, i); err != nil {
					mu.Lock()
					if i < errAt {
						errAt, firstErr = i, err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// docKey is a document id and the index of its item.
type docKey struct {
	doc string
	id  int32
}

// queryScratch is one goroutine's scratch space for oneQuery.
type queryScratch struct {
	conf []int64
	docs []rankedDoc
}

func oneQuery(g grouped, q int, s *queryStats, cells *[]cell, sc *queryScratch, minGrade, k int) {
	lo, hi := g.start[q], g.start[q+1]
	ref, got, score := g.ref[lo:hi], g.got[lo:hi], g.score[lo:hi]
	conf := sc.conf
	for j := range ref {
		conf[int(ref[j])*k+int(got[j])]++
	}
	for c, v := range conf {
		if v != 0 {
			*cells = append(*cells, cell{int32(c), v})
			conf[c] = 0
		}
	}

	// Pearson moments of Ref (x) and Score (y), two-pass.
	s.n = float64(len(ref))
	s.minX, s.maxX = math.Inf(1), math.Inf(-1)
	s.minY, s.maxY = math.Inf(1), math.Inf(-1)
	for j := range ref {
		x, y := float64(int(ref[j])+minGrade), score[j]
		s.bx += x
		s.by += y
		s.minX, s.maxX = math.Min(s.minX, x), math.Max(s.maxX, x)
		s.minY, s.maxY = math.Min(s.minY, y), math.Max(s.maxY, y)
	}
	mx, my := s.bx/s.n, s.by/s.n
	for j := range ref {
		dx, dy := float64(int(ref[j])+minGrade)-mx, score[j]-my
		s.axx += dx * dx
		s.ayy += dy * dy
		s.axy += dx * dy
	}

	docs := sc.docs[:0]
	for j := range ref {
		g := 0.0
		if r := int(ref[j]) + minGrade; r >= 1 {
			g = float64(r) // linear gain = reference grade
		}
		docs = append(docs, rankedDoc{score: score[j], gain: g, rank: int32(ref[j])})
	}
	sortRanked(docs)
	s.ndcg, s.ndcgOK = ndcgSorted(ndcgCutoff, docs)
	s.pwConc, s.pwTies, s.pwAll = pairwiseSorted(docs, k)
	sc.docs = docs
}

// finishQueryStats shifts the Pearson moments to the global means (see
// queryStats) and gathers the queries' cells into one slice.
func finishQueryStats(qs []queryStats, qcells [][]cell) []cell {
	var n, sx, sy float64
	total := 0
	for q := range qs {
		n += qs[q].n
		sx += qs[q].bx
		sy += qs[q].by
		total += len(qcells[q])
	}
	Mx, My := sx/n, sy/n
	cells := make([]cell, 0, total)
	for q := range qs {
		s := &qs[q]
		dx, dy := s.bx/s.n-Mx, s.by/s.n-My
		s.bx, s.by = s.n*dx, s.n*dy
		s.axx += s.n * dx * dx
		s.ayy += s.n * dy * dy
		s.axy += s.n * dx * dy
		s.cellLo = int32(len(cells))
		cells = append(cells, qcells[q]...)
		s.cellHi = int32(len(cells))
		qcells[q] = nil
	}
	return cells
}

// aggregator combines query statistics into the metrics; it owns scratch
// space, so each goroutine needs its own.
type aggregator struct {
	k, minGrade, thr int
	conf             []int64
	bin              []int64
	coinc            []float64
	values           []float64
}

func newAggregator(k, minGrade, thr int) *aggregator {
	a := &aggregator{
		k: k, minGrade: minGrade, thr: thr,
		conf:   make([]int64, k*k),
		bin:    make([]int64, 4),
		coinc:  make([]float64, k*k),
		values: make([]float64, k),
	}
	for i := range a.values {
		a.values[i] = float64(minGrade + i)
	}
	return a
}

// compute evaluates every metric on a multiset of queries: query q taken
// w[q] times, or every query once when w is nil.
func (a *aggregator) compute(qs []queryStats, cells []cell, w []int32, out *metricVec) {
	k := a.k
	clear(a.conf)
	var n, bx, by, axx, ayy, axy float64
	minX, maxX := math.Inf(1), math.Inf(-1)
	minY, maxY := math.Inf(1), math.Inf(-1)
	var ndcgSum, ndcgN float64
	var pwConc, pwTies, pwAll int64
	for q := range qs {
		m := int64(1)
		if w != nil {
			if w[q] == 0 {
				continue
			}
			m = int64(w[q])
		}
		s := &qs[q]
		for _, c := range cells[s.cellLo:s.cellHi] {
			a.conf[c.idx] += m * c.cnt
		}
		f := float64(m)
		n += f * s.n
		bx += f * s.bx
		by += f * s.by
		axx += f * s.axx
		ayy += f * s.ayy
		axy += f * s.axy
		// Plain comparisons, not math.Min/Max (a call each, a fifth of a
		// resample): no value is NaN, and a signed zero changes neither
		// minX < maxX nor minY < maxY, all these bounds are used for.
		if s.minX < minX {
			minX = s.minX
		}
		if s.maxX > maxX {
			maxX = s.maxX
		}
		if s.minY < minY {
			minY = s.minY
		}
		if s.maxY > maxY {
			maxY = s.maxY
		}
		if s.ndcgOK {
			ndcgSum += f * s.ndcg
			ndcgN += f
		}
		pwConc += m * s.pwConc
		pwTies += m * s.pwTies
		pwAll += m * s.pwAll
	}

	// Pearson (Ref vs Score) from the shifted per-query moments.
	if n >= 2 && minX < maxX && minY < maxY {
		sxx := axx - bx*bx/n
		syy := ayy - by*by/n
		sxy := axy - bx*by/n
		out.at(mPearson)(corr.FromMoments(sxx, syy, sxy))
	} else {
		out.at(mPearson)(0, false)
	}

	if ndcgN > 0 {
		out.at(mNDCG)(ndcgSum/ndcgN, true)
	} else {
		out.at(mNDCG)(0, false)
	}
	if pwAll > 0 {
		out.at(mPairwise)((float64(pwConc)+float64(pwTies)/2)/float64(pwAll), true)
		out.at(mPairwiseStrict)(float64(pwConc)/float64(pwAll), true)
	} else {
		out.at(mPairwise)(0, false)
		out.at(mPairwiseStrict)(0, false)
	}

	// Everything computed from the pooled confusion matrix.
	var total, agree, within, absErr int64
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			c := a.conf[i*k+j]
			total += c
			d := i - j
			if d < 0 {
				d = -d
			}
			if d == 0 {
				agree += c
			}
			if d <= 1 {
				within += c
			}
			absErr += c * int64(d)
		}
	}
	if total == 0 {
		for _, m := range []int{mAccuracy, mWithinOne, mMAE, mCohen, mLinear, mQuadratic, mAlphaOrdinal, mAlphaInterval,
			mBinaryKappa, mPrecision, mRecall, mF1, mSpearman, mKendall} {
			out.set(m, 0, false)
		}
		return
	}
	t := float64(total)
	out.at(mAccuracy)(float64(agree)/t, true)
	out.at(mWithinOne)(float64(within)/t, true)
	out.at(mMAE)(float64(absErr)/t, true)
	out.at(mCohen)(kappaFromConfusion(a.conf, k, Unweighted))
	out.at(mLinear)(kappaFromConfusion(a.conf, k, Linear))
	out.at(mQuadratic)(kappaFromConfusion(a.conf, k, Quadratic))

	// Krippendorff's alpha, two coders per unit: o_ck = O_ck + O_kc.
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			a.coinc[i*k+j] = float64(a.conf[i*k+j] + a.conf[j*k+i])
		}
	}
	out.at(mAlphaOrdinal)(alphaFromCoincidence(a.coinc, a.values, Ordinal))
	out.at(mAlphaInterval)(alphaFromCoincidence(a.coinc, a.values, Interval))

	// Binary relevance: grade >= thr. Rows: reference, columns: labeler.
	clear(a.bin)
	cut := a.thr - a.minGrade
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			bi, bj := 0, 0
			if i >= cut {
				bi = 1
			}
			if j >= cut {
				bj = 1
			}
			a.bin[bi*2+bj] += a.conf[i*k+j]
		}
	}
	out.at(mBinaryKappa)(kappaFromConfusion(a.bin, 2, Unweighted))
	tp, fn, fp := float64(a.bin[3]), float64(a.bin[2]), float64(a.bin[1])
	out.at(mPrecision)(tp/(tp+fp), tp+fp > 0)
	out.at(mRecall)(tp/(tp+fn), tp+fn > 0)
	// F1 = 2TP/(2TP+FP+FN): 0 when there are positives but no hit,
	// undefined only when neither side has a positive.
	out.at(mF1)(2*tp/(2*tp+fp+fn), 2*tp+fp+fn > 0)

	out.at(mSpearman)(corr.SpearmanFromConfusion(a.conf, k))
	out.at(mKendall)(corr.KendallFromConfusion(a.conf, k))
}

// bootstrapCI resamples the queries and returns the 95% percentile
// intervals of the metrics defined on the full data.
func bootstrapCI(qs []queryStats, cells []cell, k, minGrade, thr, B int, seed int64, point *metricVec) map[string][2]float64 {
	Q := len(qs)
	vals := make([]metricVec, B)
	workers := min(runtime.GOMAXPROCS(0), B)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			agg := newAggregator(k, minGrade, thr)
			w := make([]int32, Q)
			for {
				b := int(next.Add(1) - 1)
				if b >= B {
					return
				}
				s1 := splitmix64(uint64(seed))
				s2 := splitmix64(s1 ^ splitmix64(uint64(b)+1))
				rng := rand.New(rand.NewPCG(s1, s2))
				clear(w)
				for range Q {
					w[rng.IntN(Q)]++
				}
				agg.compute(qs, cells, w, &vals[b])
			}
		}()
	}
	wg.Wait()

	ci := map[string][2]float64{}
	sample := make([]float64, 0, B)
	for m := range numMetrics {
		if !point.ok[m] {
			continue
		}
		sample = sample[:0]
		for b := range vals {
			if vals[b].ok[m] {
				sample = append(sample, vals[b].v[m])
			}
		}
		if len(sample) == 0 {
			continue
		}
		slices.Sort(sample)
		ci[metricNames[m]] = [2]float64{stat.Percentile(sample, 0.025), stat.Percentile(sample, 0.975)}
	}
	return ci
}

func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
