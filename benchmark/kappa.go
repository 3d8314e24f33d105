// Package benchmark computes the agreement and ranking metrics that
// `qrelbench eval` reports when a labeler (an LLM judge, a model, another
// assessor) is compared with reference grades (usually human assessors).
//
// The package is pure computation: no database access, no I/O except the PNG
// writers in report.go. Every figure follows the standard definition used in
// the information-retrieval and content-analysis literature; the comments on
// each function say exactly which one, and where a choice had to be made.
package benchmark

import (
	"math"
	"sort"

	"github.com/qrelbench/qrelbench/benchmark/corr"
)

// Weighting selects the disagreement weights of Cohen's kappa.
type Weighting int

const (
	// Unweighted is Cohen's (1960) kappa: every disagreement weighs 1.
	Unweighted Weighting = iota
	// Linear weights a disagreement between grades i and j by |i-j|/(k-1).
	Linear
	// Quadratic weights it by (i-j)^2/(k-1)^2 (Fleiss & Cohen 1973).
	Quadratic
)

// String returns the weighting's name.
func (w Weighting) String() string {
	switch w {
	case Unweighted:
		return "unweighted"
	case Linear:
		return "linear"
	case Quadratic:
		return "quadratic"
	}
	return "unknown"
}

// disagreement returns the disagreement weight of categories i and j up to
// the constant factor 1/(k-1) or 1/(k-1)^2, which cancels in kappa. Keeping
// the weights integral keeps every sum exact for realistic counts.
func (w Weighting) disagreement(i, j int) float64 {
	d := i - j
	if d < 0 {
		d = -d
	}
	switch w {
	case Linear:
		return float64(d)
	case Quadratic:
		return float64(d * d)
	default:
		if d == 0 {
			return 0
		}
		return 1
	}
}

// CohenKappa returns Cohen's kappa of two raters' grades a and b on the
// categories min..max, with the given disagreement weighting:
//
//	kappa = 1 - sum(w*O) / sum(w*E)
//
// where O is the observed joint distribution, E the product of the two
// marginal distributions and w the disagreement weights (0 on the
// diagonal; 1, |i-j|/(k-1) or (i-j)^2/(k-1)^2 off it). Unweighted kappa is
// thereby the familiar (po-pe)/(1-pe).
//
// The bool is false when kappa is undefined: no pairs, slices of different
// length, a grade outside min..max, or an expected disagreement of zero
// (e.g. both raters used one and the same single category).
func CohenKappa(a, b []int, min, max int, weight Weighting) (float64, bool) {
	if len(a) != len(b) || len(a) == 0 || max < min {
		return 0, false
	}
	k := max - min + 1
	conf := make([]int64, k*k)
	for i := range a {
		x, y := a[i]-min, b[i]-min
		if x < 0 || x >= k || y < 0 || y >= k {
			return 0, false
		}
		conf[x*k+y]++
	}
	return kappaFromConfusion(conf, k, weight)
}

// KappaFromConfusion is Cohen's kappa (see CohenKappa) from a k x k table
// of counts, row-major (rows: rater A, columns: rater B); false where it is
// undefined. It lets a caller that pools tables (per query, resampled) skip
// rebuilding the grade slices.
func KappaFromConfusion(conf []int64, k int, weight Weighting) (float64, bool) {
	if k <= 0 || len(conf) != k*k {
		return 0, false
	}
	return kappaFromConfusion(conf, k, weight)
}

// kappaFromConfusion computes weighted kappa from a k x k table of counts
// (rows: rater A, columns: rater B). With N the total,
//
//	kappa = 1 - N*sum(w_ij*O_ij) / sum(w_ij*r_i*c_j)
//
// which is the definition above multiplied through by N^2; with integral
// weights both sums are exact integers in float64 for any realistic N.
func kappaFromConfusion(conf []int64, k int, weight Weighting) (float64, bool) {
	rows, cols, n := corr.Marginals(conf, k)
	if n == 0 {
		return 0, false
	}
	var obs, exp float64
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			if i == j {
				continue
			}
			w := weight.disagreement(i, j)
			obs += w * float64(conf[i*k+j])
			exp += w * rows[i] * cols[j]
		}
	}
	if exp == 0 {
		return 0, false
	}
	obs *= n
	return (exp - obs) / exp, true
}

// AgreementMatrix returns pairwise unweighted Cohen's kappa between labelers.
// grades maps labeler name -> pair key -> grade; each pair of labelers is
// compared over the pair keys both graded. names is sorted; kappa[i][j] and
// n[i][j] (the overlap) are symmetric. kappa is NaN where it is undefined or
// the overlap is empty (callers that marshal it to JSON must map NaN). The
// diagonal compares a labeler with itself (1, or NaN for a single class).
func AgreementMatrix(grades map[string]map[string]int, min, max int) (names []string, kappa [][]float64, n [][]int) {
	for name := range grades {
		names = append(names, name)
	}
	sort.Strings(names)
	m := len(names)
	kappa = make([][]float64, m)
	n = make([][]int, m)
	for i := range names {
		kappa[i] = make([]float64, m)
		n[i] = make([]int, m)
	}
	var a, b []int
	for i := 0; i < m; i++ {
		for j := i; j < m; j++ {
			gi, gj := grades[names[i]], grades[names[j]]
			small, large, swapped := gi, gj, false
			if len(gj) < len(gi) {
				small, large, swapped = gj, gi, true
			}
			a, b = a[:0], b[:0]
			for key, x := range small {
				y, ok := large[key]
				if !ok {
					continue
				}
				if swapped {
					x, y = y, x
				}
				a = append(a, x)
				b = append(b, y)
			}
			v, ok := CohenKappa(a, b, min, max, Unweighted)
			if !ok {
				v = math.NaN()
			}
			kappa[i][j], kappa[j][i] = v, v
			n[i][j], n[j][i] = len(a), len(a)
		}
	}
	return names, kappa, n
}
