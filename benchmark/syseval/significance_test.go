package syseval

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/qrelbench/qrelbench/benchmark/stat"
)

// result builds a SystemResult carrying one measure per query.
func result(system string, vals map[string]float64) SystemResult {
	r := SystemResult{System: system, Queries: len(vals), Mean: map[string]float64{}, PerQuery: map[string]map[string]float64{}}
	qids := slices.Sorted(maps.Keys(vals)) // sum in a fixed order, as Evaluate
	sum := 0.0
	for _, q := range qids {
		r.PerQuery[q] = map[string]float64{"m": vals[q]}
		sum += vals[q]
	}
	if len(vals) > 0 {
		r.Mean["m"] = sum / float64(len(vals))
	}
	return r
}

func series(vals ...float64) map[string]float64 {
	m := map[string]float64{}
	for i, v := range vals {
		m["q"+strconv.Itoa(i)] = v
	}
	return m
}

func TestPairedTTest(t *testing.T) {
	// p-values from mpmath's regularized incomplete beta.
	cases := []struct {
		d       []float64
		mean, t float64
		p       float64
	}{
		{[]float64{1, 2, 3, 4}, 2.5, 3.872983346207417, 0.030466291662171},
		{[]float64{0.3, -0.1, 0.25, 0.4, 0.05}, 0.18, 1.993855592238161, 0.116934301042405},
		{[]float64{0, 0, 0}, 0, 0, 1},
		{[]float64{0.2, 0.2}, 0.2, math.Inf(1), 0},
	}
	for _, c := range cases {
		m, tt, p := pairedTTest(c.d)
		if !near(m, c.mean) || !(math.Abs(tt-c.t) < 1e-12 || tt == c.t) || math.Abs(p-c.p) > 1e-12 {
			t.Errorf("%v: mean %v t %v p %.15g, want %v %v %.15g", c.d, m, tt, p, c.mean, c.t, c.p)
		}
	}
}

func TestSignFlipExact(t *testing.T) {
	// |±1 ±2 ±3| over the 8 assignments: 6 4 2 0 0 2 4 6; observed 6.
	p, used, exact := signFlipTest([]float64{1, 2, 3}, 8, rand.New(rand.NewPCG(1, 2)))
	if !exact || used != 8 || !near(p, 2.0/8) {
		t.Errorf("p %v used %d exact %v, want 0.25 8 true", p, used, exact)
	}
	// d = {1, -2, 3}, observed sum 2: |sum| >= 2 in 6 of the 8.
	if p, _, _ := signFlipTest([]float64{1, -2, 3}, 100, nil); !near(p, 6.0/8) {
		t.Errorf("p %v, want 0.75", p)
	}
	// Rounding must not lose assignments equal to the observed sum.
	if p, _, _ := signFlipTest([]float64{0.1, 0.2, 0.3}, 8, nil); !near(p, 2.0/8) {
		t.Errorf("p %v, want 0.25 with decimal differences", p)
	}
	if p, _, _ := signFlipTest([]float64{0, 0}, 8, nil); p != 1 {
		t.Errorf("all-zero differences: p %v, want 1", p)
	}
}

func TestSignFlipSampledMatchesExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	d := make([]float64, 16)
	for i := range d {
		d[i] = rng.NormFloat64() + 0.4
	}
	exact, used, ok := signFlipTest(d, 1<<16, nil)
	if !ok || used != 1<<16 {
		t.Fatal("not exact")
	}
	const perms = 20000
	sampled, used, ok := signFlipTest(d, perms, rand.New(rand.NewPCG(1, 1)))
	if ok || used != perms {
		t.Fatal("should have sampled")
	}
	// 4 binomial standard deviations of a proportion over 20,000 draws.
	if sd := math.Sqrt(exact * (1 - exact) / perms); math.Abs(sampled-exact) > 4*sd+1.0/perms {
		t.Errorf("sampled p %v, exact %v (sd %v)", sampled, exact, sd)
	}
	if exact < 0.01 || exact > 0.5 {
		t.Logf("exact p %v: test is weaker away from the middle", exact)
	}
}

func TestComparePairs(t *testing.T) {
	a := result("A", series(0.5, 0.6, 0.7, 0.8, 0.9, 0.4, 0.55, 0.65))
	b := result("B", series(0.4, 0.5, 0.65, 0.6, 0.7, 0.45, 0.5, 0.5))
	c := result("C", series(0.1, 0.9, 0.3))
	one := result("D", map[string]float64{"q0": 1, "other": 0})
	o := PairOptions{Permutations: 1000, Bootstrap: 2000, Seed: 42}
	res, err := ComparePairs([]SystemResult{a, b, c, one}, "m", o)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 6 || res[0].A != "A" || res[0].B != "B" || res[5].A != "C" || res[5].B != "D" {
		t.Fatalf("pairs: %+v", res)
	}
	ab := res[0]
	if !ab.Valid || ab.Queries != 8 || !ab.Exact || ab.Permutations != 256 {
		t.Errorf("A-B: %+v", ab)
	}
	wantMean := (0.1 + 0.1 + 0.05 + 0.2 + 0.2 - 0.05 + 0.05 + 0.15) / 8
	if !near(ab.MeanDiff, wantMean) || !(ab.CI[0] < wantMean && wantMean < ab.CI[1]) || ab.CI[0] < -0.05 || ab.CI[1] > 0.2 {
		t.Errorf("A-B mean %v CI %v, want %v inside", ab.MeanDiff, ab.CI, wantMean)
	}
	if !(ab.TTestP < 0.05) || !(ab.RandP < 0.05) {
		t.Errorf("A-B should differ: t p %v, rand p %v", ab.TTestP, ab.RandP)
	}
	// A and C share 3 queries; C and D one: not testable.
	if res[1].Queries != 3 || !res[1].Valid {
		t.Errorf("A-C: %+v", res[1])
	}
	if cd := res[5]; cd.Valid || cd.Queries != 1 || !math.IsNaN(cd.TTestP) || !math.IsNaN(cd.CI[0]) {
		t.Errorf("C-D: %+v", cd)
	}
	// Same seed, same numbers; a pair's numbers do not depend on the others.
	again, _ := ComparePairs([]SystemResult{a, b}, "m", o)
	if again[0] != ab {
		t.Errorf("not reproducible: %+v vs %+v", again[0], ab)
	}
	o.Seed = 43
	other, _ := ComparePairs([]SystemResult{a, b}, "m", o)
	if other[0].CI == ab.CI {
		t.Error("the seed changes nothing")
	}
	if _, err := ComparePairs([]SystemResult{a, b}, "nope", o); err == nil {
		t.Error("unknown measure accepted")
	}
}

func TestBootstrapInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	if ci := bootstrapMeanCI([]float64{0.3, 0.3, 0.3}, 500, rng); ci != [2]float64{0.3, 0.3} {
		t.Errorf("constant: %v", ci)
	}
	// For n = 400 normal differences with sd 1, the percentile interval is
	// about mean ± 1.96/20.
	d := make([]float64, 400)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	m, _ := stat.MeanVar(d)
	ci := bootstrapMeanCI(d, 4000, rng)
	if w := (ci[1] - ci[0]) / 2; math.Abs(w-1.96/20) > 0.01 || math.Abs((ci[0]+ci[1])/2-m) > 0.01 {
		t.Errorf("interval %v around %v, want half-width ~0.098", ci, m)
	}
}
