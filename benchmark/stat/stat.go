// Package stat holds the few distributions and summaries the evaluation
// code needs, written out so that it has no dependency: the regularized
// incomplete beta function, Student's t tail and quantile, the normal 95%
// quantile, mean and sample variance, and the type-7 percentile.
package stat

import "math"

// RegIncBeta is the regularized incomplete beta function I_x(a, b) for
// a, b > 0 and 0 <= x <= 1, by the continued fraction of
// Abramowitz & Stegun 26.5.8 evaluated with the modified Lentz method. The
// fraction converges fast for x < (a+1)/(a+b+2); above that the symmetry
// I_x(a, b) = 1 − I_{1−x}(b, a) is used.
func RegIncBeta(x, a, b float64) float64 {
	switch {
	case math.IsNaN(x) || !(a > 0) || !(b > 0):
		return math.NaN()
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	if x > (a+1)/(a+b+2) {
		return 1 - RegIncBeta(1-x, b, a)
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	return front * betaFraction(x, a, b) / a
}

// betaFraction evaluates 1/(1+ d1/(1+ d2/(1+ …))) with
// d_{2m+1} = −(a+m)(a+b+m)x / ((a+2m)(a+2m+1)) and
// d_{2m} = m(b−m)x / ((a+2m−1)(a+2m)).
func betaFraction(x, a, b float64) float64 {
	const (
		tiny = 1e-300
		eps  = 1e-15
	)
	c, d := 1.0, 1-(a+b)*x/(a+1)
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	f := d
	for m := 1; m <= 10000; m++ {
		fm := float64(m)
		for _, num := range [2]float64{
			fm * (b - fm) * x / ((a + 2*fm - 1) * (a + 2*fm)),
			-(a + fm) * (a + b + fm) * x / ((a + 2*fm) * (a + 2*fm + 1)),
		} {
			d = 1 + num*d
			if math.Abs(d) < tiny {
				d = tiny
			}
			c = 1 + num/c
			if math.Abs(c) < tiny {
				c = tiny
			}
			d = 1 / d
			f *= c * d
			if num < 0 && math.Abs(c*d-1) < eps {
				return f
			}
		}
	}
	return f
}

// StudentTTwoSided is P(|T| >= |t|) for Student's t with df degrees of
// freedom: I_{df/(df+t²)}(df/2, 1/2).
func StudentTTwoSided(t, df float64) float64 {
	if math.IsInf(t, 0) {
		return 0
	}
	return RegIncBeta(df/(df+t*t), df/2, 0.5)
}

// StudentTQuantile returns q with P(T <= q) = p for Student's t with df
// degrees of freedom, 0.5 <= p < 1, by bisection on the two-sided tail
// (monotone in q) down to a relative width of 1e-13.
func StudentTQuantile(p, df float64) float64 {
	tail := 2 * (1 - p) // P(|T| >= q)
	lo, hi := 0.0, 1.0
	for StudentTTwoSided(hi, df) > tail {
		hi *= 2
		if hi > 1e300 {
			return math.Inf(1)
		}
	}
	for hi-lo > 1e-13*hi {
		mid := (lo + hi) / 2
		if StudentTTwoSided(mid, df) > tail {
			lo = mid
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// Z975 is the 0.975 quantile of the standard normal distribution.
const Z975 = 1.959963984540054

// MeanVar returns the mean and the sample variance (n−1 denominator) of x,
// computed in two passes; the variance is NaN for fewer than 2 values.
func MeanVar(x []float64) (mean, variance float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, math.NaN()
	}
	for _, v := range x {
		d := v - mean
		variance += d * d
	}
	return mean, variance / float64(len(x)-1)
}

// Percentile returns the p-quantile of sorted s, interpolating linearly
// between order statistics (Hyndman & Fan type 7, R's and numpy's default).
func Percentile(s []float64, p float64) float64 {
	h := float64(len(s)-1) * p
	lo := int(math.Floor(h))
	if lo+1 >= len(s) {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}
