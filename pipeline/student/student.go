// Package student is the embedded learned grader, trained in pure Go in
// milliseconds to seconds and stored as JSON. Three methods share one model
// type:
//
//   - MethodLexicalPrior (the default, see Tuned): the built-in lexical
//     grader plus a learned correction, shrunk towards zero by an amount
//     chosen by cross-validation by query, so that it grades exactly like
//     lexical until the teacher's grades over enough queries show that a
//     departure agrees better with the teacher on unseen queries;
//   - MethodOrdinal: an ordinal logistic regression (cumulative-link,
//     proportional-odds model) over standardised feature vectors;
//   - MethodGBT: gradient-boosted regression trees on the grade, followed by
//     a one-feature ordinal logistic link on the ensemble score that gives
//     the grade distribution.
//
// All produce a latent score u (higher = more relevant). With Calibrate the
// model also keeps cut points on u chosen so that the training data's
// predicted grades reproduce the training grade distribution (the teacher's
// marginals), and grades by them instead of by the most probable grade.
//
// Feature vectors are either features.Extract's (features.Version) or
// features.ExtractGroup's (features.GroupVersion); the model records which,
// and Model.Extract produces the right ones.
//
// Ordinal model: with s = w·z (z the standardised features) and ordered thresholds
// t_0 < t_1 < ... < t_{K-2} for K grades,
//
//	P(grade <= min+k) = sigmoid(t_k - s),
//
// so P(grade = min+k) is the difference of two neighbouring cumulative
// probabilities. Thresholds are kept ordered by the cumulative-softplus
// parametrisation t_0 = a_0, t_k = t_{k-1} + softplus(a_k). The fit minimises
// the (optionally class-weighted) mean negative log-likelihood plus
// L2/2·|w|² by full-batch L-BFGS with a backtracking line search; it is
// deterministic.
package student

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/qrelbench/qrelbench/benchmark"
	"math"
	"slices"
	"time"

	"github.com/qrelbench/qrelbench/pipeline/features"

	"github.com/qrelbench/qrelbench/store/quote"
)

// Example is one training example: a feature vector and its grade.
type Example struct {
	X     []float64
	Grade int
	// Query identifies the example's query: the lexical-prior method's
	// cross-validation splits by it (examples of one query never fall on
	// both sides). Other methods ignore it.
	Query string
}

// TrainOptions configures Train. Zero values pick defaults.
type TrainOptions struct {
	// MinGrade, MaxGrade give the scale; when both are zero the range of the
	// examples' grades is used.
	MinGrade int `json:"min_grade"`
	MaxGrade int `json:"max_grade"`
	// L2 is the ridge penalty on the weights (not the thresholds) of the
	// mean log-loss; 0 means the default 1e-3, a negative value none.
	L2 float64 `json:"l2"`
	// Epochs bounds the L-BFGS iterations (full passes); default 500.
	Epochs int `json:"epochs"`
	// Seed is recorded for reproducibility. The optimiser is deterministic
	// full-batch L-BFGS from a data-derived start, so it uses no randomness.
	Seed int64 `json:"seed"`
	// Balance counters class imbalance: each example of grade g weighs
	// (N / (G·N_g))^Balance, G being the number of grades present. 0 (the
	// default) is the plain likelihood, 1 full inverse-frequency weighting.
	Balance float64 `json:"balance"`

	// Method is MethodOrdinal (the default when empty) or MethodGBT.
	Method string `json:"method,omitempty"`
	// Trees, Depth, Shrinkage, MinLeaf and Subsample configure MethodGBT:
	// the number of trees (default 200), their depth (default 2), the
	// learning rate (default 0.05), the least examples in a leaf (default
	// 20) and the fraction of examples each tree sees (default 0.8; 1 = all).
	// Subsampling is deterministic from Seed.
	Trees     int     `json:"trees,omitempty"`
	Depth     int     `json:"depth,omitempty"`
	Shrinkage float64 `json:"shrinkage,omitempty"`
	MinLeaf   int     `json:"min_leaf,omitempty"`
	Subsample float64 `json:"subsample,omitempty"`
	// Calibrate grades by cut points on the latent score that make the
	// training predictions reproduce the training grade distribution,
	// instead of by the most probable grade. Not for MethodLexicalPrior.
	Calibrate bool `json:"calibrate,omitempty"`
	// Shrink lists MethodLexicalPrior's candidate shrinkage strengths, one
	// of which (or lexical itself) the inner cross-validation by query
	// picks; nil means DefaultShrink, an empty list lexical itself.
	Shrink []float64 `json:"shrink,omitempty"`
}

// Training methods (and MethodLexicalPrior, see prior.go).
const (
	MethodOrdinal = "ordinal"
	MethodGBT     = "gbt"
)

// Summary describes a training run.
type Summary struct {
	N             int           `json:"n"`
	PerGrade      []int         `json:"per_grade"` // examples per grade, index grade-min
	TrainAccuracy float64       `json:"train_accuracy"`
	TrainKappa    float64       `json:"train_kappa"` // unweighted Cohen's kappa on the training data
	Iterations    int           `json:"iterations"`
	LogLoss       float64       `json:"log_loss"` // unweighted mean negative log-likelihood on the training data
	Duration      time.Duration `json:"duration_ns"`
	// MethodLexicalPrior: the shrinkage the inner cross-validation chose
	// (0: none earned, the model grades exactly like lexical, and
	// LexicalFallback is set) and every candidate's held-out agreement.
	Shrink          float64       `json:"shrink,omitempty"`
	LexicalFallback bool          `json:"lexical_fallback,omitempty"`
	ShrinkCV        []ShrinkPoint `json:"shrink_cv,omitempty"`
}

// Model is a trained grader. It is safe for concurrent Predict.
type Model struct {
	// FeatureVersion is features.Version or features.GroupVersion when the
	// model was trained on those vectors, "" for other (e.g. synthetic) data.
	FeatureVersion string   `json:"feature_version"`
	FeatureNames   []string `json:"feature_names"`
	MinGrade       int      `json:"min_grade"`
	MaxGrade       int      `json:"max_grade"`
	// Method is MethodOrdinal, MethodGBT or MethodLexicalPrior ("" in older
	// files: ordinal).
	Method string `json:"method,omitempty"`
	// Ordinal: u = Σ Weights[j]·(x[j]-Mean[j])/Std[j].
	// Lexical prior: u = LexScale·(l + Σ Weights[j]·(r[j]-Mean[j])/Std[j]),
	// l the lexical score and r = (x, l, lexical grade); see
	// MethodLexicalPrior.
	Mean     []float64 `json:"mean,omitempty"`    // standardisation: z = (x-mean)/std
	Std      []float64 `json:"std,omitempty"`     //
	Weights  []float64 `json:"weights,omitempty"` // on standardised features
	LexScale float64   `json:"lex_scale,omitempty"`
	LexShift []float64 `json:"lex_shift,omitempty"` // δ: shifts of lexical's bin edges, in score units
	// GBT: u = Scale·Ensemble(x).
	Ensemble *Ensemble `json:"ensemble,omitempty"`
	Scale    float64   `json:"scale,omitempty"`
	// Thresholds are the K-1 ordered cut points of the ordinal link on u:
	// P(grade <= MinGrade+k) = sigmoid(Thresholds[k] - u).
	Thresholds []float64 `json:"thresholds"`
	// Cuts, when present (TrainOptions.Calibrate), are K-1 non-decreasing
	// cut points on u that decide the grade: MinGrade + #{k: u > Cuts[k]}.
	Cuts    []float64    `json:"cuts,omitempty"`
	Options TrainOptions `json:"options"`
	Summary Summary      `json:"summary"`
}

// Tuned returns the default training options: the lexical-prior method
// (MethodLexicalPrior), lexical plus a correction that the training data
// must earn by cross-validation by query, so that a student trained on few
// or uninformative teacher grades grades like the lexical grader instead of
// below it. The ordinal model it replaced (L2 3, Balance 0.5, calibrated;
// tuned on llmjudge/dev.jsonl by TestTuneSmallOnDev) won some query splits
// of the shared data and lost others by up to 0.2 κ; TestDistillExperiment
// compares the two on every split.
func Tuned(minGrade, maxGrade int) TrainOptions {
	return TrainOptions{MinGrade: minGrade, MaxGrade: maxGrade, Method: MethodLexicalPrior}
}

// Train fits a model to ex. It fails on empty data, vectors of unequal
// length, grades outside the scale, fewer than two distinct grades or an
// unknown method.
func Train(ex []Example, opt TrainOptions) (*Model, error) { return train(ex, opt, false) }

// TrainForGrades is Train for a model that is only asked for grades and
// then thrown away (the folds of a cross-validated estimate): Predict
// gives exactly what Train's model gives, but the lexical-prior method
// skips the fits that cannot change its grades, so the model's
// Summary.Iterations and Summary.ShrinkCV are not Train's.
func TrainForGrades(ex []Example, opt TrainOptions) (*Model, error) { return train(ex, opt, true) }

func train(ex []Example, opt TrainOptions, gradesOnly bool) (*Model, error) {
	start := time.Now()
	if len(ex) == 0 {
		return nil, errors.New("student: no training examples")
	}
	d := len(ex[0].X)
	lo, hi := ex[0].Grade, ex[0].Grade
	for i, e := range ex {
		if len(e.X) != d {
			return nil, fmt.Errorf("student: example %d has %d features, want %d", i, len(e.X), d)
		}
		for _, v := range e.X {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("student: example %d has a non-finite feature", i)
			}
		}
		lo, hi = min(lo, e.Grade), max(hi, e.Grade)
	}
	if d == 0 {
		return nil, errors.New("student: examples have no features")
	}
	if opt.MinGrade == 0 && opt.MaxGrade == 0 {
		opt.MinGrade, opt.MaxGrade = lo, hi
	}
	if opt.MaxGrade <= opt.MinGrade {
		return nil, fmt.Errorf("student: scale %d-%d has fewer than two grades", opt.MinGrade, opt.MaxGrade)
	}
	if lo < opt.MinGrade || hi > opt.MaxGrade {
		return nil, fmt.Errorf("student: grades %d-%d outside the scale %d-%d", lo, hi, opt.MinGrade, opt.MaxGrade)
	}
	if opt.Epochs <= 0 {
		opt.Epochs = 500
	}
	switch opt.Method {
	case "":
		opt.Method = MethodOrdinal
	case MethodOrdinal, MethodGBT:
	case MethodLexicalPrior:
		if opt.Calibrate {
			return nil, fmt.Errorf("student: method %s grades by lexical's bin edges: it cannot be calibrated", opt.Method)
		}
	default:
		return nil, fmt.Errorf("student: unknown method %s (want %q, %q or %q)", quote.Input(opt.Method), MethodLexicalPrior, MethodOrdinal, MethodGBT)
	}
	// One grade teaches nothing about ordering: the lexical prior then
	// stays lexical, the other methods cannot be fitted.
	if lo == hi && opt.Method != MethodLexicalPrior {
		return nil, fmt.Errorf("student: all examples have grade %d; need at least two grades", lo)
	}
	if opt.Method == MethodGBT {
		if opt.Trees <= 0 {
			opt.Trees = 200
		}
		if opt.Depth <= 0 {
			opt.Depth = 2
		}
		if opt.Shrinkage <= 0 {
			opt.Shrinkage = 0.05
		}
		if opt.MinLeaf <= 0 {
			opt.MinLeaf = 20
		}
		if opt.Subsample <= 0 || opt.Subsample > 1 {
			opt.Subsample = 0.8
		}
	}
	K := opt.MaxGrade - opt.MinGrade + 1
	n := len(ex)

	m := &Model{MinGrade: opt.MinGrade, MaxGrade: opt.MaxGrade, Method: opt.Method, Options: opt}
	switch d {
	case features.NumGroupFeatures:
		m.FeatureVersion = features.GroupVersion
		m.FeatureNames = features.GroupNames()
	case features.NumFeatures:
		m.FeatureVersion = features.Version
		m.FeatureNames = features.Names()
	default:
		m.FeatureNames = make([]string, d)
		for j := range m.FeatureNames {
			m.FeatureNames[j] = fmt.Sprintf("x%d", j)
		}
	}

	y := make([]int, n)
	per := make([]int, K)
	for i, e := range ex {
		y[i] = e.Grade - opt.MinGrade
		per[y[i]]++
	}
	cw := classWeights(per, n, opt.Balance)

	var iters int
	switch opt.Method {
	case MethodLexicalPrior:
		var err error
		if iters, err = trainPrior(ex, opt, m, y, cw, gradesOnly); err != nil {
			return nil, err
		}
	case MethodOrdinal:
		X := make([][]float64, n)
		for i, e := range ex {
			X[i] = e.X
		}
		fit, err := fitOrdinal(X, y, K, cw, opt.L2, opt.Epochs)
		if err != nil {
			return nil, err
		}
		m.Mean, m.Std, m.Weights, m.Thresholds, iters = fit.mean, fit.std, fit.w, fit.t, fit.iters
	case MethodGBT:
		X := make([][]float64, n)
		yf := make([]float64, n)
		w := make([]float64, n)
		for i, e := range ex {
			X[i], yf[i], w[i] = e.X, float64(y[i]), cw[y[i]]
		}
		m.Ensemble = fitGBT(X, yf, w, gbtParams{
			trees: opt.Trees, depth: opt.Depth, shrink: opt.Shrinkage, minLeaf: opt.MinLeaf,
			subsample: opt.Subsample, seed: opt.Seed, bins: 32, lambda: 1,
		})
		// the ordinal link on the ensemble score
		S := make([][]float64, n)
		for i, x := range X {
			S[i] = []float64{m.Ensemble.Score(x)}
		}
		fit, err := fitOrdinal(S, y, K, cw, 1e-4, opt.Epochs)
		if err != nil {
			return nil, err
		}
		// u = w·(s-mean)/std = Scale·s - w·mean/std: fold the offset into
		// the thresholds.
		m.Scale = fit.w[0] / fit.std[0]
		off := fit.w[0] * fit.mean[0] / fit.std[0]
		m.Thresholds = fit.t
		for k := range m.Thresholds {
			m.Thresholds[k] += off
		}
		iters = fit.iters
	}
	if !finite(m.Weights, m.Thresholds, m.LexShift, []float64{m.Scale, m.LexScale}) {
		return nil, errors.New("student: training diverged")
	}
	if opt.Calibrate {
		u := make([]float64, n)
		for i, e := range ex {
			u[i] = m.Latent(e.X)
		}
		m.Cuts = quantileCuts(u, per)
	}

	// summary
	sum := m.Summary // the method's own fields (the lexical prior's shrinkage)
	sum.N, sum.PerGrade, sum.Iterations = n, per, iters
	pred := make([]int, n)
	probs := make([]float64, K)
	correct := 0
	ll := 0.0
	for i, e := range ex {
		g, _, pr := m.Predict(e.X, probs)
		probs = pr
		pred[i] = g - opt.MinGrade
		if pred[i] == y[i] {
			correct++
		}
		ll -= math.Log(math.Max(pr[y[i]], 1e-300))
	}
	sum.TrainAccuracy = float64(correct) / float64(n)
	sum.TrainKappa = Kappa(y, pred, K)
	sum.LogLoss = ll / float64(n)
	sum.Duration = time.Since(start)
	m.Summary = sum
	return m, nil
}

// classWeights returns the weight of each grade: (N / (G·N_g))^balance, G
// being the number of grades present.
func classWeights(per []int, n int, balance float64) []float64 {
	present := 0
	for _, c := range per {
		if c > 0 {
			present++
		}
	}
	cw := make([]float64, len(per))
	for k, c := range per {
		if c > 0 {
			cw[k] = math.Pow(float64(n)/(float64(present)*float64(c)), balance)
		}
	}
	return cw
}

// quantileCuts returns K-1 cut points on the scores u such that grading by
// them reproduces per (the count of each grade) as closely as the scores'
// ties allow.
func quantileCuts(u []float64, per []int) []float64 {
	s := slices.Clone(u)
	slices.Sort(s)
	n := len(s)
	cuts := make([]float64, len(per)-1)
	cum := 0
	for k := range cuts {
		cum += per[k]
		switch {
		case cum <= 0:
			cuts[k] = s[0] - 1
		case cum >= n:
			cuts[k] = s[n-1] + 1
		default:
			cuts[k] = (s[cum-1] + s[cum]) / 2
		}
		if k > 0 && cuts[k] < cuts[k-1] {
			cuts[k] = cuts[k-1]
		}
	}
	return cuts
}

type ordinalFit struct {
	mean, std, w, t []float64
	iters           int
}

// fitOrdinal fits the proportional-odds model to the rows X with grades y
// in [0,K) and class weights cw.
func fitOrdinal(X [][]float64, y []int, K int, cw []float64, l2 float64, epochs int) (ordinalFit, error) {
	switch {
	case l2 == 0:
		l2 = 1e-3
	case l2 < 0:
		l2 = 0
	}
	n, d := len(X), len(X[0])
	f := ordinalFit{mean: make([]float64, d), std: make([]float64, d)}
	// standardise
	for _, x := range X {
		for j, v := range x {
			f.mean[j] += v
		}
	}
	for j := range f.mean {
		f.mean[j] /= float64(n)
	}
	for _, x := range X {
		for j, v := range x {
			dv := v - f.mean[j]
			f.std[j] += dv * dv
		}
	}
	for j := range f.std {
		f.std[j] = math.Sqrt(f.std[j] / float64(n))
		if f.std[j] < 1e-12 {
			f.std[j] = 1
		}
	}
	Z := make([]float64, n*d)
	for i, x := range X {
		for j, v := range x {
			Z[i*d+j] = (v - f.mean[j]) / f.std[j]
		}
	}
	per := make([]int, K)
	for _, g := range y {
		per[g]++
	}
	wsum := 0.0
	for _, g := range y {
		wsum += cw[g]
	}

	// initial point: w = 0, thresholds at the logits of the (weighted)
	// cumulative grade frequencies.
	theta := make([]float64, d+K-1)
	cum := 0.0
	prevT := 0.0
	for k := 0; k < K-1; k++ {
		cum += cw[k] * float64(per[k]) / wsum
		c := math.Min(math.Max(cum, 1e-4), 1-1e-4)
		t := math.Log(c / (1 - c))
		if k == 0 {
			theta[d] = t
		} else {
			theta[d+k] = invSoftplus(math.Max(t-prevT, 1e-2))
			t = prevT + softplus(theta[d+k])
		}
		prevT = t
	}

	obj := &objective{Z: Z, y: y, d: d, K: K, cw: cw, wsum: wsum, l2: l2,
		t: make([]float64, K-1), gt: make([]float64, K-1)}
	f.iters = lbfgs(obj.eval, theta, epochs)
	if !finite(theta) {
		return f, errors.New("student: training diverged")
	}
	f.w = append([]float64(nil), theta[:d]...)
	f.t = thresholds(theta[d:], nil)
	return f, nil
}

func finite(vs ...[]float64) bool {
	for _, v := range vs {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
	}
	return true
}

// Latent returns the model's score u for the raw feature vector x (higher =
// better grade). For the ordinal method missing trailing features count as
// their training mean and extra ones are ignored; for the tree method a
// missing feature takes the lower branch.
func (m *Model) Latent(x []float64) float64 {
	if m.Ensemble != nil {
		return m.Scale * m.Ensemble.Score(x)
	}
	if m.Method == MethodLexicalPrior {
		return m.LexScale * m.priorScore(x)
	}
	s := 0.0
	for j, w := range m.Weights {
		if j < len(x) {
			s += w * (x[j] - m.Mean[j]) / m.Std[j]
		}
	}
	return s
}

// Predict returns the grade distribution for the raw feature vector x:
// outProbs[k] is P(grade = MinGrade+k) (it reuses probs' storage when large
// enough; the values sum to 1), expected is Σ g·P(g), and grade is the
// calibrated grade when the model has Cuts, else the most probable grade
// (the lower on ties). See Latent for short or long vectors.
func (m *Model) Predict(x []float64, probs []float64) (grade int, expected float64, outProbs []float64) {
	var s, ps float64
	if m.Method == MethodLexicalPrior {
		ps = m.priorScore(x) // grades compare it exactly as lexical does
		s = m.LexScale * ps
	} else {
		s = m.Latent(x)
	}
	K := len(m.Thresholds) + 1
	if cap(probs) < K {
		probs = make([]float64, K)
	}
	probs = probs[:K]
	prev := 0.0
	best, bestP := 0, -1.0
	total := 0.0
	for k := 0; k < K; k++ {
		c := 1.0
		if k < K-1 {
			c = sigmoid(m.Thresholds[k] - s)
		}
		p := c - prev
		if p < 0 {
			p = 0
		}
		prev = c
		probs[k] = p
		total += p
	}
	for k := range probs {
		probs[k] /= total
		if probs[k] > bestP {
			best, bestP = k, probs[k]
		}
		expected += float64(m.MinGrade+k) * probs[k]
	}
	switch {
	case m.Method == MethodLexicalPrior:
		best = priorGrade(ps, m.LexShift, K)
	case len(m.Cuts) == K-1:
		best = 0
		for _, c := range m.Cuts {
			if s > c {
				best++
			}
		}
	}
	return m.MinGrade + best, expected, probs
}

// Extract computes the feature vectors the model was trained on for a
// query's candidate pairs (features.ExtractGroup for features.GroupVersion,
// features.Extract per pair for features.Version), reusing dst's rows. For a
// group model pass the query's whole candidate set, as in training.
func (m *Model) Extract(ps []features.Pair, dst [][]float64) ([][]float64, error) {
	switch m.FeatureVersion {
	case features.GroupVersion:
		return features.ExtractGroup(ps, dst), nil
	case features.Version:
		if cap(dst) < len(ps) {
			dst = append(dst[:cap(dst)], make([][]float64, len(ps)-cap(dst))...)
		}
		dst = dst[:len(ps)]
		for i, p := range ps {
			dst[i] = features.Extract(p, dst[i][:0])
		}
		return dst, nil
	}
	return nil, m.CheckFeatures()
}

// PredictGroup grades a query's candidate pairs: Extract, then Predict for
// each. probs[i] is pair i's grade distribution.
func (m *Model) PredictGroup(ps []features.Pair) (grades []int, expected []float64, probs [][]float64, err error) {
	xs, err := m.Extract(ps, nil)
	if err != nil {
		return nil, nil, nil, err
	}
	grades, expected, probs = make([]int, len(ps)), make([]float64, len(ps)), make([][]float64, len(ps))
	for i, x := range xs {
		grades[i], expected[i], probs[i] = m.Predict(x, nil)
	}
	return grades, expected, probs, nil
}

// MarshalJSON encodes the model (all fields, stable names).
func (m *Model) MarshalJSON() ([]byte, error) {
	type plain Model
	if !finite(m.Mean, m.Std, m.Weights, m.Thresholds, m.Cuts, m.LexShift, []float64{m.Scale, m.LexScale}) || !m.Ensemble.finite() {
		return nil, errors.New("student: model has non-finite parameters")
	}
	return json.Marshal((*plain)(m))
}

// NumInputs is the length of the feature vectors the model was trained on.
func (m *Model) NumInputs() int {
	switch {
	case m.Ensemble != nil:
		return len(m.FeatureNames)
	case m.Method == MethodLexicalPrior:
		return len(m.Weights) - len(priorDerived) // the lexical score and grade are derived
	}
	return len(m.Weights)
}

// Load decodes and validates a model written by MarshalJSON. It rejects a
// model whose recorded feature set (version, count or names) is not one this
// build extracts.
func Load(data []byte) (*Model, error) {
	type plain Model
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("student: %w", err)
	}
	m := (*Model)(&p)
	if m.MaxGrade <= m.MinGrade || len(m.Thresholds) != m.MaxGrade-m.MinGrade {
		return nil, fmt.Errorf("student: %d thresholds for scale %d-%d", len(m.Thresholds), m.MinGrade, m.MaxGrade)
	}
	switch m.Method {
	case "", MethodOrdinal:
		d := len(m.Weights)
		switch {
		case d == 0:
			return nil, errors.New("student: model has no weights")
		case m.Ensemble != nil:
			return nil, errors.New("student: ordinal model has trees")
		case len(m.Mean) != d || len(m.Std) != d:
			return nil, errors.New("student: standardisation does not match the weights")
		case len(m.FeatureNames) != 0 && len(m.FeatureNames) != d:
			return nil, errors.New("student: feature names do not match the weights")
		}
		for j, s := range m.Std {
			if !(s > 0) {
				return nil, fmt.Errorf("student: std of feature %d is %v", j, s)
			}
		}
	case MethodLexicalPrior:
		d := len(m.Weights)
		switch {
		case d <= len(priorDerived):
			return nil, errors.New("student: lexical-prior model has no weights")
		case m.Ensemble != nil:
			return nil, errors.New("student: lexical-prior model has trees")
		case len(m.Mean) != d || len(m.Std) != d:
			return nil, errors.New("student: standardisation does not match the weights")
		case len(m.FeatureNames) != d || !slices.Equal(m.FeatureNames[d-len(priorDerived):], priorDerived):
			return nil, errors.New("student: lexical-prior model's input names do not match its weights")
		case !(m.LexScale > 0):
			return nil, fmt.Errorf("student: lexical-prior model has scale %v", m.LexScale)
		case len(m.LexShift) != len(m.Thresholds):
			return nil, fmt.Errorf("student: %d bin edge shifts for scale %d-%d", len(m.LexShift), m.MinGrade, m.MaxGrade)
		case m.NumInputs() < features.NumFeatures:
			return nil, fmt.Errorf("student: lexical-prior model has %d features, fewer than the lexical grader reads", m.NumInputs())
		}
		for j, s := range m.Std {
			if !(s > 0) {
				return nil, fmt.Errorf("student: std of input %d is %v", j, s)
			}
		}
	case MethodGBT:
		switch {
		case m.Ensemble == nil:
			return nil, errors.New("student: tree model has no ensemble")
		case len(m.Weights) != 0 || len(m.Mean) != 0 || len(m.Std) != 0:
			return nil, errors.New("student: tree model has linear weights")
		case len(m.FeatureNames) == 0:
			return nil, errors.New("student: tree model has no feature names")
		case m.Scale == 0:
			return nil, errors.New("student: tree model has no score scale")
		}
		if err := m.Ensemble.validate(len(m.FeatureNames)); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("student: unknown method %q", m.Method)
	}
	if !finite(m.Mean, m.Weights, m.Thresholds, m.Cuts, m.LexShift, []float64{m.Scale, m.LexScale}) {
		return nil, errors.New("student: model has non-finite parameters")
	}
	for k := 1; k < len(m.Thresholds); k++ {
		// The lexical prior's edges may coincide: a grade the teacher never
		// gave can end up with no room.
		if !(m.Thresholds[k] > m.Thresholds[k-1]) && !(m.Method == MethodLexicalPrior && m.Thresholds[k] == m.Thresholds[k-1]) {
			return nil, errors.New("student: thresholds are not increasing")
		}
	}
	if len(m.Cuts) != 0 {
		if len(m.Cuts) != len(m.Thresholds) {
			return nil, fmt.Errorf("student: %d cuts for scale %d-%d", len(m.Cuts), m.MinGrade, m.MaxGrade)
		}
		for k := 1; k < len(m.Cuts); k++ {
			if m.Cuts[k] < m.Cuts[k-1] {
				return nil, errors.New("student: cuts are not increasing")
			}
		}
	}
	if m.FeatureVersion != "" {
		if err := m.CheckFeatures(); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// CheckFeatures reports an error unless the model was trained on a feature
// set this build extracts: features.Version (features.Extract) or
// features.GroupVersion (features.ExtractGroup), with the same count and
// names.
func (m *Model) CheckFeatures() error {
	var want []string
	switch m.FeatureVersion {
	case features.Version:
		want = features.Names()
	case features.GroupVersion:
		want = features.GroupNames()
	default:
		return fmt.Errorf("student: model was trained on feature set %q, this build extracts %q and %q: retrain the model",
			m.FeatureVersion, features.Version, features.GroupVersion)
	}
	if got := m.NumInputs(); got != len(want) {
		return fmt.Errorf("student: model has %d features, feature set %q has %d: retrain the model", got, m.FeatureVersion, len(want))
	}
	if len(m.FeatureNames) != 0 && !slices.Equal(m.FeatureNames[:min(len(m.FeatureNames), m.NumInputs())], want) {
		return fmt.Errorf("student: model's feature names differ from feature set %q: retrain the model", m.FeatureVersion)
	}
	return nil
}

// Kappa is unweighted Cohen's kappa between two label slices with values in
// [0,K), computed by the benchmark package; 0 where it is undefined (a
// single class on both sides).
func Kappa(a, b []int, K int) float64 {
	if len(a) == 0 || len(b) != len(a) {
		return 0
	}
	k, _ := benchmark.CohenKappa(a, b, 0, K-1, benchmark.Unweighted)
	return k
}

// ---- optimisation ----

type objective struct {
	Z    []float64
	y    []int
	d, K int
	cw   []float64
	wsum float64
	l2   float64
	t    []float64
	gt   []float64
	gaps gapTerms
}

// eval returns the loss at theta and writes its gradient into g.
func (o *objective) eval(theta, g []float64) float64 {
	d, K := o.d, o.K
	w := theta[:d]
	t := thresholds(theta[d:], o.t)
	o.gaps.set(t)
	for j := range g {
		g[j] = 0
	}
	gt := o.gt
	for k := range gt {
		gt[k] = 0
	}
	loss := 0.0
	for i, yi := range o.y {
		z := o.Z[i*d : i*d+d]
		s := 0.0
		for j, v := range z {
			s += w[j] * v
		}
		c := o.cw[yi] / o.wsum
		if c == 0 {
			continue
		}
		nll, ds, dlo, dhi := ordinalTerm(yi, K, s, t, &o.gaps)
		if yi > 0 {
			gt[yi-1] += c * dlo
		}
		if yi < K-1 {
			gt[yi] += c * dhi
		}
		loss += c * nll
		ds *= c
		for j, v := range z {
			g[j] += ds * v
		}
	}
	for j := 0; j < d; j++ {
		loss += 0.5 * o.l2 * w[j] * w[j]
		g[j] += o.l2 * w[j]
	}
	// chain rule through t_k = a_0 + Σ_{1..k} softplus(a_j)
	a := theta[d:]
	tail := 0.0
	for k := K - 2; k >= 0; k-- {
		tail += gt[k]
		if k == 0 {
			g[d] = tail
		} else {
			g[d+k] = tail * sigmoid(a[k])
		}
	}
	return loss
}

// gapTerms are the parts of the likelihood of a middle grade y that depend
// on the thresholds only, computed once per evaluation: with gap = t[y] -
// t[y-1], lg[y] = log(1 - e^-gap) and r[y] = 1/(e^gap - 1).
type gapTerms struct{ lg, r []float64 }

func (g *gapTerms) set(t []float64) {
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

// ordinalTerm is one example's share of the proportional-odds likelihood:
// the negative log-likelihood of grade y (0-based, of K) at latent score s
// with ordered thresholds t (gt their gapTerms), and its derivatives in s,
// in t[y-1] (dlo; 0 for y = 0) and in t[y] (dhi; 0 for y = K-1).
func ordinalTerm(y, K int, s float64, t []float64, gt *gapTerms) (nll, ds, dlo, dhi float64) {
	switch {
	case y == 0:
		nll, q := softplusSigmoid(s - t[0])
		return nll, q, 0, -q
	case y == K-1:
		nll, q := softplusSigmoid(t[K-2] - s)
		return nll, -q, q, 0
	}
	// softplus(s - t[y]) + softplus(t[y-1] - s) - lg[y], from two
	// exponentials and one logarithm: softplus(x) = max(x, 0) + log(1 +
	// e^-|x|), and the two logarithms are one of the product.
	xb, xa := s-t[y], t[y-1]-s
	eb, ea := math.Exp(-math.Abs(xb)), math.Exp(-math.Abs(xa))
	sb, sa := 1/(1+eb), 1/(1+ea)
	if xb < 0 {
		sb = eb * sb
	}
	if xa < 0 {
		sa = ea * sa
	}
	nll = max(xb, 0) + max(xa, 0) + math.Log((1+eb)*(1+ea)) - gt.lg[y]
	r := gt.r[y]
	return nll, sb - sa, sa + r, -(sb + r)
}

// softplusSigmoid returns softplus(x) = log(1+e^x) and sigmoid(x) from one
// exponential, stably.
func softplusSigmoid(x float64) (sp, sg float64) {
	e := math.Exp(-math.Abs(x))
	if x >= 0 {
		return x + math.Log1p(e), 1 / (1 + e)
	}
	return math.Log1p(e), e / (1 + e)
}

func thresholds(a, dst []float64) []float64 {
	if cap(dst) < len(a) {
		dst = make([]float64, len(a))
	}
	dst = dst[:len(a)]
	for k, v := range a {
		if k == 0 {
			dst[0] = v
		} else {
			dst[k] = dst[k-1] + softplus(v)
		}
	}
	return dst
}

// lbfgs minimises f from x (updated in place) for at most maxIter
// iterations and returns the iterations done.
func lbfgs(f func(x, g []float64) float64, x []float64, maxIter int) int {
	return lbfgsTol(f, x, maxIter, 1e-7, 1e-12)
}

// lbfgsTol is lbfgs stopping when the gradient's largest component is below
// gtol or an iteration improves f by less than ftol (relative).
func lbfgsTol(f func(x, g []float64) float64, x []float64, maxIter int, gtol, ftol float64) int {
	return minimise(&plainObjective{f: f, g: make([]float64, len(x))}, x, maxIter, gtol, ftol)
}

// splitObjective is a function to minimise whose gradient can be asked
// for after its value, at the same point, and only where it is needed.
type splitObjective interface {
	// value returns the function at x (which it may keep until the next
	// call).
	value(x []float64) float64
	// gradient writes the gradient at the last value's point into g.
	gradient(g []float64)
}

// plainObjective is a splitObjective of a function that computes its value
// and gradient together.
type plainObjective struct {
	f func(x, g []float64) float64
	g []float64
}

func (o *plainObjective) value(x []float64) float64 { return o.f(x, o.g) }
func (o *plainObjective) gradient(g []float64)      { copy(g, o.g) }

// minimise is lbfgsTol on a splitObjective: full-batch L-BFGS with a
// backtracking Armijo line search, the gradient taken only at the points
// the line search accepts.
func minimise(o splitObjective, x []float64, maxIter int, gtol, ftol float64) int {
	g := make([]float64, len(x))
	fx := o.value(x)
	o.gradient(g)
	return descend(o, x, fx, g, maxIter, gtol, ftol, nil)
}

// descend is minimise from x given the function's value fx and gradient g
// there (g is overwritten). pre, when not nil, applies an approximation of
// the inverse Hessian in place: it is then the L-BFGS starting matrix (and
// its first step a Newton step with that approximation) instead of a
// scaled identity.
func descend(o splitObjective, x []float64, fx float64, g []float64, maxIter int, gtol, ftol float64, pre func([]float64)) int {
	const mem = 10
	P := len(x)
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
		if pre != nil {
			pre(dir)
		} else if k := len(S) - 1; k >= 0 {
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
			fn = o.value(xn)
			if !math.IsNaN(fn) && fn <= fx+1e-4*step*slope {
				ok = true
				break
			}
			step *= 0.5
		}
		if !ok {
			break
		}
		o.gradient(gn)
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

// dot is the inner product of a and b (len(b) >= len(a)), summed in four
// interleaved parts so that four additions are in flight, not one chain.
func dot(a, b []float64) float64 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

func axpy(a float64, x, y []float64) {
	for i := range x {
		y[i] += a * x[i]
	}
}

func norm2(a []float64) float64 { return math.Sqrt(dot(a, a)) }

func normInf(a []float64) float64 {
	m := 0.0
	for _, v := range a {
		m = math.Max(m, math.Abs(v))
	}
	return m
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1+e^x), computed stably.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}

func invSoftplus(y float64) float64 {
	if y > 30 {
		return y
	}
	return math.Log(math.Expm1(y))
}
