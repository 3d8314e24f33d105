package corr

import (
	"math"
	"math/rand/v2"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func naivePearson(x, y []float64) float64 {
	n := float64(len(x))
	var sx, sy, sxx, syy, sxy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	for i := range x {
		sxx += (x[i] - mx) * (x[i] - mx)
		syy += (y[i] - my) * (y[i] - my)
		sxy += (x[i] - mx) * (y[i] - my)
	}
	return sxy / math.Sqrt(sxx*syy)
}

// naiveRanks: rank = 1 + #smaller + (#equal-1)/2, O(n^2).
func naiveRanks(x []float64) []float64 {
	r := make([]float64, len(x))
	for i := range x {
		less, eq := 0, 0
		for j := range x {
			if x[j] < x[i] {
				less++
			} else if x[j] == x[i] {
				eq++
			}
		}
		r[i] = float64(less) + float64(eq+1)/2
	}
	return r
}

func naiveKendallTauB(x, y []float64) float64 {
	var c, d, tx, ty, n0 float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			n0++
			dx, dy := x[i]-x[j], y[i]-y[j]
			switch {
			case dx == 0 && dy == 0:
				tx++
				ty++
			case dx == 0:
				tx++
			case dy == 0:
				ty++
			case dx*dy > 0:
				c++
			default:
				d++
			}
		}
	}
	return (c - d) / math.Sqrt((n0-tx)*(n0-ty))
}

func randomPairs(rng *rand.Rand, n int, discrete bool) (x, y []float64) {
	x = make([]float64, n)
	y = make([]float64, n)
	for i := range x {
		if discrete {
			x[i] = float64(rng.IntN(4))
			y[i] = math.Max(0, math.Min(3, x[i]+float64(rng.IntN(3)-1)))
			if rng.IntN(3) == 0 {
				y[i] = float64(rng.IntN(4))
			}
		} else {
			x[i] = rng.NormFloat64()
			y[i] = 0.5*x[i] + rng.NormFloat64()
			if rng.IntN(5) == 0 {
				y[i] = math.Round(y[i]) // some ties
			}
		}
	}
	return x, y
}

func TestCorrelationsByHand(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5}
	y := []float64{2, 4, 5, 4, 5}
	// mx = 3, my = 4: sxy = 6, sxx = 10, syy = 6.
	if r, ok := Pearson(x, y); !ok || !near(r, 6/math.Sqrt(60), 1e-15) {
		t.Errorf("pearson %v", r)
	}
	// C = 7, D = 1, n0 = 10, ties in y = 2: tau_b = 6/sqrt(10*8).
	if r, ok := KendallTauB(x, y); !ok || !near(r, 6/math.Sqrt(80), 1e-15) {
		t.Errorf("kendall %v", r)
	}
	// Ranks of y: 1, 2.5, 4.5, 2.5, 4.5 (mean 3), centred -2 -.5 1.5 -.5 1.5:
	// sxy = 4+0.5+0-0.5+3 = 7, sxx = 10, syy = 4+0.25+2.25+0.25+2.25 = 9.
	if r, ok := Spearman(x, y); !ok || !near(r, 7/math.Sqrt(90), 1e-15) {
		t.Errorf("spearman %v", r)
	}
	rev := []float64{5, 4, 3, 2, 1}
	for name, f := range map[string]func(a, b []float64) (float64, bool){"pearson": Pearson, "spearman": Spearman, "kendall": KendallTauB} {
		if r, ok := f(x, x); !ok || r != 1 {
			t.Errorf("%s perfect = %v", name, r)
		}
		if r, ok := f(x, rev); !ok || r != -1 {
			t.Errorf("%s reversed = %v", name, r)
		}
		if _, ok := f(x, []float64{2, 2, 2, 2, 2}); ok {
			t.Errorf("%s constant y defined", name)
		}
		if _, ok := f([]float64{1}, []float64{1}); ok {
			t.Errorf("%s single pair defined", name)
		}
		if _, ok := f([]float64{1, math.NaN()}, []float64{1, 2}); ok {
			t.Errorf("%s NaN defined", name)
		}
	}
}

func TestCorrelationsVersusNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := 0; trial < 60; trial++ {
		n := 2 + rng.IntN(400)
		x, y := randomPairs(rng, n, trial%2 == 0)
		kt, ok := KendallTauB(x, y)
		wantK := naiveKendallTauB(x, y)
		if math.IsNaN(wantK) {
			if ok {
				t.Fatalf("trial %d: kendall defined where naive is NaN", trial)
			}
			continue
		}
		if !ok || !near(kt, wantK, 1e-12) {
			t.Fatalf("trial %d n=%d: kendall %v, naive %v", trial, n, kt, wantK)
		}
		if p, ok := Pearson(x, y); !ok || !near(p, naivePearson(x, y), 1e-12) {
			t.Fatalf("trial %d: pearson %v, naive %v", trial, p, naivePearson(x, y))
		}
		want := naivePearson(naiveRanks(x), naiveRanks(y))
		if s, ok := Spearman(x, y); !ok || !near(s, want, 1e-12) {
			t.Fatalf("trial %d: spearman %v, naive %v", trial, s, want)
		}
	}
}

// The contingency-table forms used by Compute equal the general functions
// on the expanded integer data.
func TestRankCorrelationsFromConfusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for trial := 0; trial < 60; trial++ {
		k := 2 + rng.IntN(4)
		n := 1 + rng.IntN(300)
		conf := make([]int64, k*k)
		x := make([]float64, n)
		y := make([]float64, n)
		for i := range x {
			a := rng.IntN(k)
			b := max(0, min(k-1, a+rng.IntN(3)-1))
			if trial%5 == 0 {
				b = 1 // constant labeler: undefined
			}
			conf[a*k+b]++
			x[i], y[i] = float64(a), float64(b)
		}
		s1, ok1 := Spearman(x, y)
		s2, ok2 := SpearmanFromConfusion(conf, k)
		if ok1 != ok2 || !near(s1, s2, 1e-12) {
			t.Fatalf("trial %d: spearman %v %v vs table %v %v", trial, s1, ok1, s2, ok2)
		}
		k1, ok1 := KendallTauB(x, y)
		k2, ok2 := KendallFromConfusion(conf, k)
		if ok1 != ok2 || !near(k1, k2, 1e-12) {
			t.Fatalf("trial %d: kendall %v %v vs table %v %v", trial, k1, ok1, k2, ok2)
		}
	}
}

func TestKendallLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	x, y := randomPairs(rng, 1_000_000, false)
	if _, ok := KendallTauB(x, y); !ok {
		t.Fatal("undefined")
	}
}
