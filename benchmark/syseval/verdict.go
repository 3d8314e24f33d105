package syseval

import (
	"fmt"
	"math"
	"slices"

	"github.com/qrelbench/qrelbench/benchmark/corr"
)

// VerdictAlpha is the significance level of Verdict's pair counts.
const VerdictAlpha = 0.05

// Verdict says whether two sets of qrels (a reference, usually human, and
// another, usually a model's) rank the same systems the same way on one
// measure. Correlations are NaN when undefined (a constant ranking).
type Verdict struct {
	Measure string
	Systems []string // systems in both sets, in the reference's input order
	// KendallTau is Kendall's tau-b between the systems' means under the
	// two sets; Spearman is Spearman's rho (ties averaged).
	KendallTau float64
	Spearman   float64
	// TauAP is Yilmaz, Aslam & Robertson's (SIGIR 2008) AP rank
	// correlation, which weighs errors near the top more: the other set's
	// ranking is the one walked from the top and judged against the
	// reference's, τ_AP = 2/(N−1) Σ_{i=2..N} C(i)/(i−1) − 1 with C(i) the
	// systems above rank i that the reference also puts above it. Ties,
	// which the original leaves undefined, count half; systems tied under
	// the other set are walked in name order.
	TauAP float64
	// SystemPairs is N(N−1)/2; FlippedPairs those the two sets order
	// oppositely (a tie on either side is no flip), listed in Flipped.
	SystemPairs  int
	FlippedPairs int
	Flipped      [][2]string
	// SignificanceDisagreements counts the pairs that the paired t-test
	// finds different at VerdictAlpha under one set and not the other,
	// listed in Disagreements; OppositeSignificant those significant under
	// both but in opposite directions. The t-test is used, not the
	// randomisation test, because it is deterministic and cheap and agrees
	// with it closely on IR measures (Smucker et al. 2007).
	SignificanceDisagreements int
	Disagreements             []PairDisagreement
	OppositeSignificant       int
}

// PairDisagreement is a pair of systems that is significant under one set
// of qrels and not the other, with the two t-test p-values.
type PairDisagreement struct {
	A, B         string
	RefP, OtherP float64
}

// CompareVerdicts compares the rankings of the systems in both ref and
// other (matched by name) on measure. The caller restricts both to the
// same queries (those graded under both sets) before evaluating; each pair
// test pairs the queries both systems were scored on.
func CompareVerdicts(ref, other []SystemResult, measure string) (Verdict, error) {
	if err := checkMeasure(ref, measure); err != nil {
		return Verdict{}, err
	}
	if err := checkMeasure(other, measure); err != nil {
		return Verdict{}, err
	}
	byName := make(map[string]*SystemResult, len(other))
	for i := range other {
		byName[other[i].System] = &other[i]
	}
	var rs, os []*SystemResult
	v := Verdict{Measure: measure}
	for i := range ref {
		if o, ok := byName[ref[i].System]; ok && ref[i].Queries > 0 && o.Queries > 0 {
			rs, os = append(rs, &ref[i]), append(os, o)
			v.Systems = append(v.Systems, ref[i].System)
		}
	}
	n := len(v.Systems)
	if n < 2 {
		return Verdict{}, fmt.Errorf("syseval: %d systems scored under both sets of qrels; need 2", n)
	}
	x, y := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i], y[i] = rs[i].Mean[measure], os[i].Mean[measure]
	}
	v.KendallTau = orNaN(corr.KendallTauB(x, y))
	v.Spearman = orNaN(corr.Spearman(x, y))
	v.TauAP = tauAP(v.Systems, x, y)
	v.SystemPairs = n * (n - 1) / 2
	for i := range n {
		for j := i + 1; j < n; j++ {
			a, b := v.Systems[i], v.Systems[j]
			if (x[i]-x[j])*(y[i]-y[j]) < 0 {
				v.FlippedPairs++
				v.Flipped = append(v.Flipped, [2]string{a, b})
			}
			dr, dot := pairedDiffs(rs[i], rs[j], measure), pairedDiffs(os[i], os[j], measure)
			if len(dr) < 2 || len(dot) < 2 {
				continue
			}
			mr, _, pr := pairedTTest(dr)
			mo, _, po := pairedTTest(dot)
			sr, so := pr < VerdictAlpha, po < VerdictAlpha
			switch {
			case sr != so:
				v.SignificanceDisagreements++
				v.Disagreements = append(v.Disagreements, PairDisagreement{A: a, B: b, RefP: pr, OtherP: po})
			case sr && mr*mo < 0:
				v.OppositeSignificant++
			}
		}
	}
	return v, nil
}

func orNaN(v float64, ok bool) float64 {
	if !ok {
		return math.NaN()
	}
	return v
}

// tauAP walks the systems from the top of the other ranking (y; ties by
// name) and scores each one by the share of those above it that the
// reference (x) also ranks above it, ties counting half.
func tauAP(names []string, x, y []float64) float64 {
	n := len(names)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		switch {
		case y[a] > y[b]:
			return -1
		case y[a] < y[b]:
			return 1
		}
		if names[a] < names[b] {
			return -1
		}
		return 1
	})
	sum := 0.0
	for r := 1; r < n; r++ {
		i := order[r]
		c := 0.0
		for _, j := range order[:r] {
			switch {
			case x[j] == x[i] || y[j] == y[i]:
				c += 0.5
			case x[j] > x[i]:
				c++
			}
		}
		sum += c / float64(r)
	}
	return 2*sum/float64(n-1) - 1
}
