package stat

import (
	"math"
	"testing"
)

// Reference values from mpmath at 30 digits: the t tails by quadrature of
// the t density (independent of the incomplete beta), quantiles by root
// finding on those tails, I_x(a, b) by betainc(regularized=True).
func TestStudentT(t *testing.T) {
	cases := []struct{ t, df, p float64 }{
		{2.0, 10, 0.0733880347707404},
		{1.0, 1, 0.5}, // Cauchy
		{3.5, 4, 0.0248961634602228},
		{0.0, 7, 1},
		{-2.5, 30, 0.0181156490680667},
		{10, 2, 0.00985245702332569},
	}
	for _, c := range cases {
		if got := StudentTTwoSided(c.t, c.df); math.Abs(got-c.p) > 1e-9 {
			t.Errorf("two-sided p(t=%v, df=%v) = %.15g, want %.15g", c.t, c.df, got, c.p)
		}
	}
	quant := []struct{ p, df, q float64 }{
		{0.975, 1, 12.7062047361747},
		{0.975, 5, 2.57058183563631},
		{0.975, 12, 2.17881282966723},
		{0.975, 100, 1.98397151852355},
		{0.95, 3, 2.35336343480182},
	}
	for _, c := range quant {
		if got := StudentTQuantile(c.p, c.df); math.Abs(got-c.q) > 1e-9 {
			t.Errorf("qt(%v, %v) = %.15g, want %.15g", c.p, c.df, got, c.q)
		}
	}
}

func TestRegIncBeta(t *testing.T) {
	cases := []struct{ x, a, b, want float64 }{
		{0.5, 2, 3, 0.6875},                // 11/16
		{0.2, 0.5, 0.5, 0.295167235300867}, // 2/pi*asin(sqrt(.2))
		{0.9, 10, 2, 0.697356880200000},
		{0.01, 50, 0.5, 7.99822741790482e-102},
		{0.999, 3, 200, 1},
		{0.3, 1, 1, 0.3},    // uniform
		{0.7, 4, 1, 0.2401}, // x^a
	}
	for _, c := range cases {
		if got := RegIncBeta(c.x, c.a, c.b); math.Abs(got-c.want) > 1e-10 {
			t.Errorf("I_%v(%v, %v) = %.15g, want %.15g", c.x, c.a, c.b, got, c.want)
		}
	}
}

func TestPercentile(t *testing.T) {
	s := []float64{1, 2, 4, 8}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {1, 8}, {0.5, 3}, {0.25, 1.75}, {0.9, 6.8}} {
		if got := Percentile(s, c.p); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Percentile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}
