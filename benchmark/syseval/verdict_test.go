package syseval

import (
	"math"
	"testing"
)

// ranking gives each named system the constant per-query value of its
// mean plus a small query-dependent wobble, over the same 10 queries.
func ranking(means map[string]float64) []SystemResult {
	var out []SystemResult
	for _, name := range []string{"A", "B", "C", "D"} {
		m, ok := means[name]
		if !ok {
			continue
		}
		vals := make([]float64, 10)
		for i := range vals {
			vals[i] = m + 0.01*float64((i*7)%5-2)
		}
		out = append(out, result(name, series(vals...)))
	}
	return out
}

func TestVerdictIdenticalAndReversed(t *testing.T) {
	ref := ranking(map[string]float64{"A": 0.9, "B": 0.7, "C": 0.5, "D": 0.3})
	v, err := CompareVerdicts(ref, ref, "m")
	if err != nil {
		t.Fatal(err)
	}
	if !near(v.KendallTau, 1) || !near(v.TauAP, 1) || !near(v.Spearman, 1) || v.FlippedPairs != 0 ||
		v.SystemPairs != 6 || v.SignificanceDisagreements != 0 || len(v.Systems) != 4 {
		t.Errorf("identical: %+v", v)
	}
	rev := ranking(map[string]float64{"A": 0.3, "B": 0.5, "C": 0.7, "D": 0.9})
	v, _ = CompareVerdicts(ref, rev, "m")
	if !near(v.KendallTau, -1) || !near(v.TauAP, -1) || !near(v.Spearman, -1) || v.FlippedPairs != 6 || len(v.Flipped) != 6 {
		t.Errorf("reversed: %+v", v)
	}
	// Every pair is significant under both, in opposite directions.
	if v.SignificanceDisagreements != 0 || v.OppositeSignificant != 6 {
		t.Errorf("reversed significance: %d disagreements, %d opposite", v.SignificanceDisagreements, v.OppositeSignificant)
	}
}

func TestTauAPWeighsTheTop(t *testing.T) {
	// Reference A > B > C > D. One swap each: at the top (B A C D) and at
	// the bottom (A B D C). Kendall's tau is 2/3 for both; tau_AP is 1/3
	// for the top swap and 7/9 for the bottom one (worked by hand from
	// Yilmaz et al.'s formula).
	ref := ranking(map[string]float64{"A": 0.9, "B": 0.7, "C": 0.5, "D": 0.3})
	top := ranking(map[string]float64{"A": 0.7, "B": 0.9, "C": 0.5, "D": 0.3})
	bottom := ranking(map[string]float64{"A": 0.9, "B": 0.7, "C": 0.3, "D": 0.5})
	vt, _ := CompareVerdicts(ref, top, "m")
	vb, _ := CompareVerdicts(ref, bottom, "m")
	if !near(vt.KendallTau, 2.0/3) || !near(vb.KendallTau, 2.0/3) {
		t.Errorf("tau: %v %v", vt.KendallTau, vb.KendallTau)
	}
	if !near(vt.TauAP, 1.0/3) || !near(vb.TauAP, 7.0/9) {
		t.Errorf("tau_AP: top swap %v (want 1/3), bottom swap %v (want 7/9)", vt.TauAP, vb.TauAP)
	}
	if vt.FlippedPairs != 1 || vt.Flipped[0] != [2]string{"A", "B"} {
		t.Errorf("flipped: %v", vt.Flipped)
	}
}

func TestVerdictSignificanceDisagreement(t *testing.T) {
	// Under ref, A beats B on every query by 0.1 ± wobble; under other,
	// A and B differ by noise around 0: significant under one set only.
	a := series(0.8, 0.82, 0.79, 0.81, 0.8, 0.83, 0.78, 0.8)
	b := series(0.7, 0.71, 0.7, 0.72, 0.69, 0.7, 0.71, 0.7)
	a2 := series(0.7, 0.75, 0.65, 0.72, 0.68, 0.74, 0.66, 0.71)
	ref := []SystemResult{result("A", a), result("B", b)}
	other := []SystemResult{result("A", a2), result("B", b), result("X", a)}
	v, err := CompareVerdicts(ref, other, "m")
	if err != nil {
		t.Fatal(err)
	}
	if len(v.Systems) != 2 || v.SystemPairs != 1 {
		t.Fatalf("systems %v (X is only in other)", v.Systems)
	}
	if v.SignificanceDisagreements != 1 || len(v.Disagreements) != 1 {
		t.Fatalf("disagreements %d: %+v", v.SignificanceDisagreements, v.Disagreements)
	}
	d := v.Disagreements[0]
	if !(d.RefP < VerdictAlpha) || !(d.OtherP >= VerdictAlpha) {
		t.Errorf("p-values %+v", d)
	}
	// Two systems tied under other: Kendall undefined (NaN), no flip.
	tied := []SystemResult{result("A", b), result("B", b)}
	v, _ = CompareVerdicts(ref, tied, "m")
	if !math.IsNaN(v.KendallTau) || v.FlippedPairs != 0 || !near(v.TauAP, 0) {
		t.Errorf("tied: %+v", v)
	}
	if _, err := CompareVerdicts(ref[:1], other, "m"); err == nil {
		t.Error("one system accepted")
	}
}
