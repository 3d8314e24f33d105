package syseval

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/qrelbench/qrelbench/benchmark/stat"
)

// Defaults of PairOptions.
const (
	DefaultPermutations = 10000
	DefaultBootstrap    = 10000
)

// PairOptions says how hard ComparePairs works and from which seed.
type PairOptions struct {
	// Permutations is the number of random sign assignments of the
	// randomisation test; 0 means DefaultPermutations. When the 2^n
	// assignments of n queries are no more than that, all are enumerated
	// and the test is exact.
	Permutations int
	// Bootstrap is the number of resamples of the queries behind the
	// interval of the mean difference; 0 means DefaultBootstrap.
	Bootstrap int
	// Seed seeds both. Each pair draws from its own stream derived from the
	// seed and the two system names, so a pair's numbers do not depend on
	// which other systems are compared nor on the parallelism.
	Seed uint64
}

// PairTest compares systems A and B on one measure over their common
// queries; differences are A − B.
type PairTest struct {
	A, B    string
	Measure string
	Queries int // queries both systems were scored on
	// Valid is false with fewer than 2 common queries; the statistics
	// below are then NaN.
	Valid    bool
	MeanDiff float64    // mean over the queries of A − B
	CI       [2]float64 // 95% percentile bootstrap interval of MeanDiff
	T        float64    // paired t statistic (±Inf when all differences are equal and non-zero)
	TTestP   float64    // two-sided p of the paired t-test, n−1 degrees of freedom
	RandP    float64    // two-sided p of the paired randomisation (sign-flip) test
	// Permutations is the number of sign assignments RandP was computed
	// from: 2^Queries when Exact, else PairOptions.Permutations.
	Permutations int
	Exact        bool
}

// ComparePairs tests every pair of results (i < j in the order given) on
// measure, pairing the queries both were scored on.
//
// The paired t-test assumes normal differences. The randomisation test
// does not: under the null hypothesis that A and B are exchangeable on
// each query, every sign of each difference is equally likely; its p is
// the share of sign assignments whose |mean| is at least the observed one
// (Fisher; Smucker, Allan & Carterette, CIKM 2007). Sampled, it is
// (1 + hits) / (1 + permutations), never 0 (Phipson & Smyth 2010).
// Pairs are tested in parallel. Cost: pairs × queries × (permutations +
// resamples).
func ComparePairs(results []SystemResult, measure string, o PairOptions) ([]PairTest, error) {
	if err := checkMeasure(results, measure); err != nil {
		return nil, err
	}
	if o.Permutations < 0 || o.Bootstrap < 0 {
		return nil, fmt.Errorf("syseval: negative permutations or resamples")
	}
	if o.Permutations == 0 {
		o.Permutations = DefaultPermutations
	}
	if o.Bootstrap == 0 {
		o.Bootstrap = DefaultBootstrap
	}
	type job struct{ i, j int }
	var jobs []job
	for i := range results {
		for j := i + 1; j < len(results); j++ {
			jobs = append(jobs, job{i, j})
		}
	}
	out := make([]PairTest, len(jobs))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				k := int(next.Add(1) - 1)
				if k >= len(jobs) {
					return
				}
				a, b := &results[jobs[k].i], &results[jobs[k].j]
				out[k] = testPair(a, b, measure, o)
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// checkMeasure makes sure measure is one the results carry.
func checkMeasure(results []SystemResult, measure string) error {
	for _, r := range results {
		for _, vals := range r.PerQuery {
			if _, ok := vals[measure]; !ok {
				return fmt.Errorf("syseval: system %q has no measure %q", r.System, measure)
			}
			break
		}
	}
	return nil
}

// pairedDiffs returns A − B on measure over the queries both were scored
// on, in query id order.
func pairedDiffs(a, b *SystemResult, measure string) []float64 {
	qids := make([]string, 0, len(a.PerQuery))
	for qid := range a.PerQuery {
		if _, ok := b.PerQuery[qid]; ok {
			qids = append(qids, qid)
		}
	}
	slices.Sort(qids)
	d := make([]float64, len(qids))
	for i, qid := range qids {
		d[i] = a.PerQuery[qid][measure] - b.PerQuery[qid][measure]
	}
	return d
}

func testPair(a, b *SystemResult, measure string, o PairOptions) PairTest {
	d := pairedDiffs(a, b, measure)
	pt := PairTest{A: a.System, B: b.System, Measure: measure, Queries: len(d)}
	if len(d) < 2 {
		nan := math.NaN()
		pt.MeanDiff, pt.CI, pt.T, pt.TTestP, pt.RandP = nan, [2]float64{nan, nan}, nan, nan, nan
		return pt
	}
	pt.Valid = true
	pt.MeanDiff, pt.T, pt.TTestP = pairedTTest(d)
	rng := pairRNG(o.Seed, a.System, b.System, measure)
	pt.RandP, pt.Permutations, pt.Exact = signFlipTest(d, o.Permutations, rng)
	pt.CI = bootstrapMeanCI(d, o.Bootstrap, rng)
	return pt
}

// pairedTTest returns the mean of d, the t statistic mean/(sd/√n) and its
// two-sided p with n−1 degrees of freedom. All-equal differences: t = 0,
// p = 1 when they are 0, else t = ±Inf, p = 0.
func pairedTTest(d []float64) (mean, t, p float64) {
	mean, v := stat.MeanVar(d)
	if !(v > 0) {
		if mean == 0 {
			return mean, 0, 1
		}
		return mean, math.Copysign(math.Inf(1), mean), 0
	}
	t = mean / math.Sqrt(v/float64(len(d)))
	return mean, t, stat.StudentTTwoSided(t, float64(len(d)-1))
}

func pairRNG(seed uint64, a, b, measure string) *rand.Rand {
	h := fnv.New64a()
	for _, s := range []string{a, b, measure} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// signFlipTest returns the two-sided p of the paired randomisation test of
// d, the number of sign assignments used and whether that was all of them.
// The statistic is |Σ s_i d_i|, equivalent to |mean|; sums within a
// relative 1e-9 of the observed one count as reaching it, so that
// assignments equal to it up to rounding are not lost.
func signFlipTest(d []float64, perms int, rng *rand.Rand) (p float64, used int, exact bool) {
	n := len(d)
	var total, scale float64
	for _, x := range d {
		total += x
		scale += math.Abs(x)
	}
	if scale == 0 {
		return 1, 0, true
	}
	obs := math.Abs(total) - 1e-9*scale
	if n < 62 && 1<<n <= perms {
		// Gray code: each step flips one sign, changing the sum by ∓2d_k.
		hits, sum := 0, total
		signs := make([]bool, n) // true: flipped
		all := 1 << n
		for g := 0; g < all; g++ {
			if g > 0 {
				k := bits.TrailingZeros(uint(g))
				if signs[k] {
					sum += 2 * d[k]
				} else {
					sum -= 2 * d[k]
				}
				signs[k] = !signs[k]
			}
			if math.Abs(sum) >= obs {
				hits++
			}
		}
		return float64(hits) / float64(all), all, true
	}
	hits := 0
	for range perms {
		// Each bit of the random words picks the sign of one difference:
		// the statistic is total − 2·(sum of the flipped ones).
		var flipped float64
		for i := 0; i < n; i += 64 {
			w := rng.Uint64()
			for k := i; k < min(i+64, n); k++ {
				if w&1 == 1 {
					flipped += d[k]
				}
				w >>= 1
			}
		}
		if math.Abs(total-2*flipped) >= obs {
			hits++
		}
	}
	return float64(1+hits) / float64(1+perms), perms, false
}

// bootstrapMeanCI resamples d with replacement B times and returns the 2.5
// and 97.5 percentiles of the resampled means.
func bootstrapMeanCI(d []float64, B int, rng *rand.Rand) [2]float64 {
	n := len(d)
	means := make([]float64, B)
	for b := range means {
		s := 0.0
		for range n {
			s += d[rng.IntN(n)]
		}
		means[b] = s / float64(n)
	}
	slices.Sort(means)
	return [2]float64{stat.Percentile(means, 0.025), stat.Percentile(means, 0.975)}
}
