package benchmark

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Krippendorff, K. (2011). Computing Krippendorff's Alpha-Reliability,
// section C: 4 observers x 12 units with missing values (unit 12 has a
// single value and is dropped). Published: nominal .743, ordinal .815,
// interval .849.
func TestKrippendorff2011Example(t *testing.T) {
	nan := math.NaN()
	// Rows: observers A..D; columns: units 1..12.
	obs := [][]float64{
		{1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan},
		{1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3},
		{nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan},
		{1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan},
	}
	units := make([][]float64, 12)
	for u := range units {
		for c := range obs {
			units[u] = append(units[u], obs[c][u])
		}
	}
	for _, tc := range []struct {
		m    AlphaMetric
		want float64
	}{{Nominal, 0.743}, {Ordinal, 0.815}, {Interval, 0.849}} {
		got, ok := KrippendorffAlpha(units, tc.m)
		if !ok || math.Abs(got-tc.want) > 0.0005 {
			t.Errorf("%v alpha = %.5f (%v), published %.3f", tc.m, got, ok, tc.want)
		}
	}
}

// Krippendorff (2011), section A: binary data, two observers, ten units:
// alpha = 1 - (20-1) * 8 / (2*14*6) = 0.0952.
func TestKrippendorff2011Binary(t *testing.T) {
	a := []float64{0, 1, 0, 0, 0, 0, 0, 0, 1, 0}
	b := []float64{1, 1, 1, 0, 0, 1, 0, 0, 0, 0}
	units := make([][]float64, len(a))
	for i := range a {
		units[i] = []float64{a[i], b[i]}
	}
	got, ok := KrippendorffAlpha(units, Nominal)
	if want := 1 - 19.0*8/(2*14*6); !ok || !near(got, want, 1e-12) {
		t.Fatalf("alpha = %v, want %v", got, want)
	}
	if math.Round(got*1000)/1000 != 0.095 {
		t.Fatalf("alpha = %v, published .095", got)
	}
}

func TestKrippendorffUndefined(t *testing.T) {
	nan := math.NaN()
	for name, data := range map[string][][]float64{
		"empty":       nil,
		"no pairable": {{1, nan}, {nan, 2}, {3}},
		"one value":   {{2, 2}, {2, 2, 2}},
		"infinite":    {{1, math.Inf(1)}, {1, 2}},
	} {
		for _, m := range []AlphaMetric{Nominal, Ordinal, Interval} {
			if v, ok := KrippendorffAlpha(data, m); ok || v != 0 {
				t.Errorf("%s %v: %v %v, want undefined", name, m, v, ok)
			}
		}
	}
	perfect := [][]float64{{1, 1}, {2, 2, nan}, {3, 3, 3}}
	for _, m := range []AlphaMetric{Nominal, Ordinal, Interval} {
		if v, ok := KrippendorffAlpha(perfect, m); !ok || v != 1 {
			t.Errorf("perfect %v: %v %v", m, v, ok)
		}
	}
}

// On two-coder integer data the generic routine and the confusion-matrix
// routine used by Compute agree, and interval alpha matches a direct
// transcription of its definition 1 - D_o/D_e.
func TestAlphaGenericVersusConfusion(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 30; trial++ {
		n := 2 + rng.IntN(200)
		k := 3 + rng.IntN(3)
		conf := make([]int64, k*k)
		units := make([][]float64, n)
		for i := range units {
			x := rng.IntN(k)
			y := max(0, min(k-1, x+rng.IntN(3)-1))
			if rng.IntN(4) == 0 {
				y = rng.IntN(k)
			}
			units[i] = []float64{float64(x), float64(y)}
			conf[x*k+y]++
		}
		o := make([]float64, k*k)
		vals := make([]float64, k)
		for i := 0; i < k; i++ {
			vals[i] = float64(i)
			for j := 0; j < k; j++ {
				o[i*k+j] = float64(conf[i*k+j] + conf[j*k+i])
			}
		}
		for _, m := range []AlphaMetric{Nominal, Ordinal, Interval} {
			g, ok1 := KrippendorffAlpha(units, m)
			c, ok2 := alphaFromCoincidence(o, vals, m)
			if ok1 != ok2 || !near(g, c, 1e-12) {
				t.Fatalf("trial %d %v: generic %v %v, confusion %v %v", trial, m, g, ok1, c, ok2)
			}
		}
		// Interval alpha for two coders, direct definition:
		// D_o = mean over units of (x-y)^2 (each unit's two ordered pairs),
		// D_e = mean over all ordered pairs of distinct pooled values.
		var do, de float64
		var pooled []float64
		for _, u := range units {
			d := u[0] - u[1]
			do += 2 * d * d
			pooled = append(pooled, u[0], u[1])
		}
		for i := range pooled {
			for j := range pooled {
				if i != j {
					d := pooled[i] - pooled[j]
					de += d * d
				}
			}
		}
		N := float64(len(pooled))
		do /= N
		de /= N * (N - 1)
		got, ok := KrippendorffAlpha(units, Interval)
		if de == 0 {
			continue
		}
		if want := 1 - do/de; !ok || !near(got, want, 1e-9) {
			t.Fatalf("trial %d: interval alpha %v, direct %v", trial, got, want)
		}
	}
}
