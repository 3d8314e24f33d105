package benchmark

import (
	"math"
	"sort"
)

// AlphaMetric selects the difference function of Krippendorff's alpha.
type AlphaMetric int

const (
	// Nominal: delta = 0 for equal values, 1 otherwise.
	Nominal AlphaMetric = iota
	// Ordinal: rank-based delta over the marginal frequencies of the values.
	Ordinal
	// Interval: delta = (c-k)^2.
	Interval
)

// String returns the metric's name.
func (m AlphaMetric) String() string {
	switch m {
	case Nominal:
		return "nominal"
	case Ordinal:
		return "ordinal"
	case Interval:
		return "interval"
	}
	return "unknown"
}

// KrippendorffAlpha returns Krippendorff's alpha of reliability data given as
// units x coders (data[u][c] is coder c's value for unit u; NaN = missing;
// rows may have different lengths). It follows the coincidence-matrix
// formulation of Krippendorff (2011), "Computing Krippendorff's
// Alpha-Reliability":
//
//   - units with fewer than 2 pairable (non-missing) values are dropped;
//   - every unit u with m_u values adds 1/(m_u-1) to o_ck for each ordered
//     pair of values (c, k) from different coders;
//   - n_c = sum_k o_ck, n = sum_c n_c;
//   - alpha = 1 - (n-1) * sum o_ck delta_ck / sum n_c n_k delta_ck.
//
// Ordinal delta_ck = (sum_{g=c}^{k} n_g - (n_c+n_k)/2)^2 over the values
// in sorted order; interval delta_ck = (c-k)^2; nominal delta = [c != k].
//
// The bool is false when alpha is undefined: fewer than 2 pairable values in
// all, no variation among the values (expected disagreement zero), or an
// infinite value. The distinct values form the categories, so the cost is
// O(K^2) in the number K of distinct values.
func KrippendorffAlpha(data [][]float64, metric AlphaMetric) (float64, bool) {
	var values []float64
	for _, unit := range data {
		for _, v := range unit {
			if math.IsNaN(v) {
				continue
			}
			if math.IsInf(v, 0) {
				return 0, false
			}
			values = append(values, v)
		}
	}
	sort.Float64s(values)
	uniq := values[:0]
	for i, v := range values {
		if i == 0 || v != uniq[len(uniq)-1] {
			uniq = append(uniq, v)
		}
	}
	values = uniq
	K := len(values)
	if K == 0 {
		return 0, false
	}
	index := make(map[float64]int, K)
	for i, v := range values {
		index[v] = i
	}
	o := make([]float64, K*K)
	var cats []int
	type run struct{ cat, cnt int }
	var runs []run
	for _, unit := range data {
		cats = cats[:0]
		for _, v := range unit {
			if !math.IsNaN(v) {
				cats = append(cats, index[v])
			}
		}
		m := len(cats)
		if m < 2 {
			continue
		}
		sort.Ints(cats)
		runs = runs[:0]
		for i, c := range cats {
			if i > 0 && c == cats[i-1] {
				runs[len(runs)-1].cnt++
			} else {
				runs = append(runs, run{c, 1})
			}
		}
		inv := 1 / float64(m-1)
		for _, r := range runs {
			for _, s := range runs {
				pairs := float64(r.cnt * s.cnt)
				if r.cat == s.cat {
					pairs = float64(r.cnt * (r.cnt - 1))
				}
				o[r.cat*K+s.cat] += pairs * inv
			}
		}
	}
	return alphaFromCoincidence(o, values, metric)
}

// alphaFromCoincidence computes alpha from a K x K coincidence matrix o over
// the sorted category values.
func alphaFromCoincidence(o []float64, values []float64, metric AlphaMetric) (float64, bool) {
	K := len(values)
	nc := make([]float64, K)
	var n float64
	for c := 0; c < K; c++ {
		for k := 0; k < K; k++ {
			nc[c] += o[c*K+k]
		}
		n += nc[c]
	}
	if n <= 1 {
		return 0, false
	}
	// cum[i] = sum of n_g for g < i, for the ordinal metric.
	cum := make([]float64, K+1)
	for c := 0; c < K; c++ {
		cum[c+1] = cum[c] + nc[c]
	}
	var obs, exp float64
	for c := 0; c < K; c++ {
		for k := c + 1; k < K; k++ {
			var d float64
			switch metric {
			case Nominal:
				d = 1
			case Ordinal:
				s := cum[k+1] - cum[c] - (nc[c]+nc[k])/2
				d = s * s
			case Interval:
				s := values[k] - values[c]
				d = s * s
			default:
				return 0, false
			}
			// delta is symmetric: count (c,k) and (k,c) together.
			obs += d * (o[c*K+k] + o[k*K+c])
			exp += 2 * d * nc[c] * nc[k]
		}
	}
	if exp == 0 {
		return 0, false
	}
	return 1 - (n-1)*obs/exp, true
}
