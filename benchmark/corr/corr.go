// Package corr holds correlation coefficients (Pearson, Spearman, Kendall's
// tau-b), from paired values or from the contingency table of two integer
// gradings. Pure math with no dependencies, so that both labeler agreement
// (benchmark) and system evaluation (benchmark/syseval) use the same code.
package corr

import (
	"cmp"
	"math"
	"slices"
)

// Pearson returns Pearson's product-moment correlation of x and y, computed
// with centred (two-pass) sums. The bool is false when it is undefined:
// fewer than 2 pairs, different lengths, a NaN or infinite value, or a
// constant x or y.
func Pearson(x, y []float64) (float64, bool) {
	if len(x) != len(y) || len(x) < 2 || !AllFinite(x) || !AllFinite(y) {
		return 0, false
	}
	if isConstant(x) || isConstant(y) {
		return 0, false
	}
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	n := float64(len(x))
	mx /= n
	my /= n
	var sxx, syy, sxy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxx += dx * dx
		syy += dy * dy
		sxy += dx * dy
	}
	return FromMoments(sxx, syy, sxy)
}

// FromMoments returns sxy/sqrt(sxx*syy) clamped to [-1, 1]: Pearson from
// centred sums of squares and products; false unless both sums are positive.
func FromMoments(sxx, syy, sxy float64) (float64, bool) {
	if !(sxx > 0) || !(syy > 0) {
		return 0, false
	}
	r := sxy / math.Sqrt(sxx*syy)
	return math.Max(-1, math.Min(1, r)), true
}

// Spearman returns Spearman's rank correlation: Pearson's correlation of the
// ranks of x and y, tied values receiving the average of their ranks.
// Undefined (false) as for Pearson.
func Spearman(x, y []float64) (float64, bool) {
	if len(x) != len(y) || len(x) < 2 || !AllFinite(x) || !AllFinite(y) {
		return 0, false
	}
	return Pearson(averageRanks(x), averageRanks(y))
}

// averageRanks returns the 1-based ranks of x, ties averaged.
func averageRanks(x []float64) []float64 {
	idx := make([]int32, len(x))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int { return cmp.Compare(x[a], x[b]) })
	r := make([]float64, len(x))
	for i := 0; i < len(idx); {
		j := i + 1
		for j < len(idx) && x[idx[j]] == x[idx[i]] {
			j++
		}
		avg := float64(i+1+j) / 2 // mean of ranks i+1..j
		for t := i; t < j; t++ {
			r[idx[t]] = avg
		}
		i = j
	}
	return r
}

// KendallTauB returns Kendall's tau-b with ties,
//
//	tau_b = (C - D) / sqrt((n0 - n1) * (n0 - n2))
//
// with C/D the concordant/discordant pairs, n0 = n(n-1)/2 and n1/n2 the
// pairs tied in x/y. It uses Knight's (1966) O(n log n) algorithm: sort by
// (x, y), count the ties, then count the discordant pairs as the inversions
// of y found by a merge sort. Undefined (false) for fewer than 2 pairs,
// different lengths, NaN/Inf values, or when x or y is constant.
func KendallTauB(x, y []float64) (float64, bool) {
	n := len(x)
	if len(y) != n || n < 2 || !AllFinite(x) || !AllFinite(y) {
		return 0, false
	}
	idx := make([]int32, n)
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortFunc(idx, func(a, b int32) int {
		if c := cmp.Compare(x[a], x[b]); c != 0 {
			return c
		}
		return cmp.Compare(y[a], y[b])
	})
	var n1, n3 int64 // ties in x, joint ties in (x, y)
	for i := 0; i < n; {
		j := i + 1
		for j < n && x[idx[j]] == x[idx[i]] {
			j++
		}
		t := int64(j - i)
		n1 += t * (t - 1) / 2
		for a := i; a < j; {
			b := a + 1
			for b < j && y[idx[b]] == y[idx[a]] {
				b++
			}
			u := int64(b - a)
			n3 += u * (u - 1) / 2
			a = b
		}
		i = j
	}
	ys := make([]float64, n)
	for i, id := range idx {
		ys[i] = y[id]
	}
	disc := mergeCountInversions(ys)
	var n2 int64 // ties in y; ys is sorted now
	for i := 0; i < n; {
		j := i + 1
		for j < n && ys[j] == ys[i] {
			j++
		}
		t := int64(j - i)
		n2 += t * (t - 1) / 2
		i = j
	}
	n0 := int64(n) * int64(n-1) / 2
	return tauB(n0, n1, n2, n0-n1-n2+n3-disc, disc)
}

// tauB combines the pair counts; false when either variable is constant.
func tauB(n0, n1, n2, conc, disc int64) (float64, bool) {
	if n0-n1 <= 0 || n0-n2 <= 0 {
		return 0, false
	}
	t := float64(conc-disc) / math.Sqrt(float64(n0-n1)*float64(n0-n2))
	return math.Max(-1, math.Min(1, t)), true
}

// mergeCountInversions sorts a ascending (bottom-up merge sort) and returns
// the number of pairs i < j with a[i] > a[j] (strictly: equal values are
// not inversions).
func mergeCountInversions(a []float64) int64 {
	n := len(a)
	if n < 2 {
		return 0
	}
	buf := make([]float64, n)
	var inv int64
	src, dst := a, buf
	for width := 1; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid := min(lo+width, n)
			hi := min(lo+2*width, n)
			i, j, k := lo, mid, lo
			for i < mid && j < hi {
				if src[j] < src[i] {
					dst[k] = src[j]
					inv += int64(mid - i)
					j++
				} else {
					dst[k] = src[i]
					i++
				}
				k++
			}
			k += copy(dst[k:], src[i:mid])
			copy(dst[k:], src[j:hi])
		}
		src, dst = dst, src
	}
	if &src[0] != &a[0] {
		copy(a, src)
	}
	return inv
}

// Marginals are the row sums, column sums and total of a k x k contingency
// table stored row by row.
func Marginals(conf []int64, k int) (rows, cols []float64, n float64) {
	rows = make([]float64, k)
	cols = make([]float64, k)
	for i := 0; i < k; i++ {
		for j := 0; j < k; j++ {
			c := float64(conf[i*k+j])
			rows[i] += c
			cols[j] += c
			n += c
		}
	}
	return rows, cols, n
}

// SpearmanFromConfusion returns Spearman's rho of two integer gradings given
// their k x k contingency table (rows: x categories ascending, columns: y
// categories ascending). Every member of a category gets the category's
// average rank, so this equals Spearman on the expanded data exactly.
func SpearmanFromConfusion(conf []int64, k int) (float64, bool) {
	rows, cols, n := Marginals(conf, k)
	nr, nc := 0, 0
	for i := 0; i < k; i++ {
		if rows[i] > 0 {
			nr++
		}
		if cols[i] > 0 {
			nc++
		}
	}
	if nr < 2 || nc < 2 {
		return 0, false
	}
	mean := (n + 1) / 2
	rx := make([]float64, k) // centred average rank of each category
	ry := make([]float64, k)
	var cx, cy float64
	for i := 0; i < k; i++ {
		rx[i] = cx + (rows[i]+1)/2 - mean
		ry[i] = cy + (cols[i]+1)/2 - mean
		cx += rows[i]
		cy += cols[i]
	}
	var sxx, syy, sxy float64
	for i := 0; i < k; i++ {
		sxx += rows[i] * rx[i] * rx[i]
		syy += cols[i] * ry[i] * ry[i]
		for j := 0; j < k; j++ {
			if c := conf[i*k+j]; c != 0 {
				sxy += float64(c) * rx[i] * ry[j]
			}
		}
	}
	return FromMoments(sxx, syy, sxy)
}

// KendallFromConfusion returns Kendall's tau-b of two integer gradings from
// their k x k contingency table, counting concordant and discordant pairs of
// cells with suffix sums in O(k^2). Exact (int64 pair counts).
func KendallFromConfusion(conf []int64, k int) (float64, bool) {
	// s[i][j] = sum of conf over rows >= i and columns >= j, (k+1)x(k+1).
	w := k + 1
	s := make([]int64, w*w)
	for i := k - 1; i >= 0; i-- {
		for j := k - 1; j >= 0; j-- {
			s[i*w+j] = conf[i*k+j] + s[(i+1)*w+j] + s[i*w+j+1] - s[(i+1)*w+j+1]
		}
	}
	var n, conc, disc, n1, n2 int64
	for i := 0; i < k; i++ {
		var row, col int64
		for j := 0; j < k; j++ {
			c := conf[i*k+j]
			row += c
			col += conf[j*k+i]
			if c == 0 {
				continue
			}
			// rows > i, columns > j
			conc += c * s[(i+1)*w+j+1]
			// rows > i, columns < j
			disc += c * (s[(i+1)*w] - s[(i+1)*w+j])
		}
		n += row
		n1 += row * (row - 1) / 2
		n2 += col * (col - 1) / 2
	}
	return tauB(n*(n-1)/2, n1, n2, conc, disc)
}

// AllFinite reports whether x holds no NaN and no infinity.
func AllFinite(x []float64) bool {
	for _, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

func isConstant(x []float64) bool {
	for _, v := range x[1:] {
		if v != x[0] {
			return false
		}
	}
	return true
}
