package features

import (
	"math"
	"slices"
	"sync"
)

// GroupVersion names the query-relative feature set of ExtractGroup; a model
// trained on it must not be used with another set.
const GroupVersion = "features-group-v1"

// Key features of the query-relative block. For each, ExtractGroup appends
// value / group max, value - group mean and the within-group percentile rank
// (in this order), after the NumFeatures per-pair features.
var groupKeys = [...]struct {
	name string
	idx  int // index into the per-pair vector; -1 = the lexical composite
}{
	{"bm25", FBM25},
	{"cov_any_stem", FCovAnyStem},
	{"longest_run", FLongestRun},
	{"min_window", FMinWindow},
	{"term_density", FTermDensity},
	{"lex_score", -1},
	{"log_doc_len", FLogDocLen},
}

// numKeys is the number of key features of the relative block.
const numKeys = len(groupKeys)

// Group-level features, appended after the relative block; they are the same
// for every pair of the group and let the model shift its cut points per
// query.
const (
	// gLogSize is log1p of the number of pairs in the group.
	gLogSize = iota
	// gMeanCovAll is the fraction of the group's pairs that contain every
	// stemmed query term.
	gMeanCovAll
	// gMeanCov is the group mean of cov_any_stem.
	gMeanCov
	// gLogBM25Max is log1p of the group's largest BM25 score.
	gLogBM25Max
	numGroupLevel
)

// NumGroupFeatures is the length of an ExtractGroup feature vector.
const NumGroupFeatures = NumFeatures + 3*numKeys + int(numGroupLevel)

var groupNames = func() []string {
	out := make([]string, 0, NumGroupFeatures)
	out = append(out, names[:]...)
	for _, k := range groupKeys {
		out = append(out, k.name+"_rel_max", k.name+"_rel_mean", k.name+"_pct")
	}
	out = append(out, "group_log_size", "group_mean_cov_all", "group_mean_cov", "group_log_bm25_max")
	return out
}()

// GroupNames returns the stable names of ExtractGroup's features, in order:
// Names() first, then for each key feature (bm25, cov_any_stem, longest_run,
// min_window, term_density, lex_score, log_doc_len) its _rel_max, _rel_mean
// and _pct, then the group-level features.
//
// lex_score is the built-in lexical grader's score (0.40 cov_any_stem +
// 0.10 cov_title_stem + 0.25 bm25_norm + 0.15 longest_run + 0.10 phrase).
func GroupNames() []string { return slices.Clone(groupNames) }

// lexScore mirrors the lexical grader's score (package lexical imports this
// one, so the formula is repeated here).
func lexScore(x []float64) float64 {
	s := 0.40*x[FCovAnyStem] + 0.10*x[FCovTitleStem] + 0.25*x[FBM25Norm] +
		0.15*x[FLongestRun] + 0.10*math.Max(x[FPhraseTitle], x[FPhraseBody])
	return clamp01(s)
}

type groupScratch struct {
	vals []float64 // n values of one key feature
	idx  []int32   // order of vals
}

var groupPool = sync.Pool{New: func() any { return &groupScratch{} }}

// ExtractGroup returns the feature vectors of a query's candidate pairs: each
// pair's Extract features followed by query-relative ones (value / group max,
// value - group mean, within-group percentile rank for a few key features)
// and a few group-level ones (see GroupNames). All pairs must share the
// query; the relative features depend on which pairs are in the group, so
// pass the query's whole candidate set, the same way in training and in
// grading.
//
// It reuses dst's rows (and dst itself) when their capacity allows and
// returns a slice of len(ps) rows of NumGroupFeatures values each.
func ExtractGroup(ps []Pair, dst [][]float64) [][]float64 {
	n := len(ps)
	if cap(dst) < n {
		dst = append(dst[:cap(dst)], make([][]float64, n-cap(dst))...)
	}
	dst = dst[:n]
	if n == 0 {
		return dst
	}
	for i := range ps {
		row := dst[i]
		if cap(row) < NumGroupFeatures {
			row = make([]float64, 0, NumGroupFeatures)
		}
		row = Extract(ps[i], row[:0])
		dst[i] = row[:NumGroupFeatures]
	}

	s := groupPool.Get().(*groupScratch)
	defer groupPool.Put(s)
	if cap(s.vals) < n {
		s.vals = make([]float64, n)
		s.idx = make([]int32, n)
	}
	vals, idx := s.vals[:n], s.idx[:n]

	for k, key := range groupKeys {
		mx, sum := math.Inf(-1), 0.0
		for i := range dst {
			v := 0.0
			if key.idx >= 0 {
				v = dst[i][key.idx]
			} else {
				v = lexScore(dst[i])
			}
			vals[i] = v
			mx = math.Max(mx, v)
			sum += v
		}
		mean := sum / float64(n)
		for i := range idx {
			idx[i] = int32(i)
		}
		slices.SortFunc(idx, func(a, b int32) int {
			switch va, vb := vals[a], vals[b]; {
			case va < vb:
				return -1
			case va > vb:
				return 1
			}
			return 0
		})
		off := NumFeatures + 3*k
		// percentile: mid-rank of the value among the group, in [0,1]
		for lo := 0; lo < n; {
			hi := lo + 1
			for hi < n && vals[idx[hi]] == vals[idx[lo]] {
				hi++
			}
			pct := 0.5
			if n > 1 {
				pct = (float64(lo) + float64(hi-lo-1)/2) / float64(n-1)
			}
			for _, i := range idx[lo:hi] {
				dst[i][off+2] = pct
			}
			lo = hi
		}
		for i, v := range vals {
			rel := 0.0
			if mx > 0 {
				rel = v / mx
			}
			dst[i][off] = rel
			dst[i][off+1] = v - mean
		}
	}

	covAll, cov, bmMax := 0.0, 0.0, 0.0
	for _, x := range dst {
		covAll += x[FCovAllStem]
		cov += x[FCovAnyStem]
		bmMax = math.Max(bmMax, x[FBM25])
	}
	off := NumFeatures + 3*numKeys
	lvl := [numGroupLevel]float64{
		gLogSize:    math.Log1p(float64(n)),
		gMeanCovAll: covAll / float64(n),
		gMeanCov:    cov / float64(n),
		gLogBM25Max: math.Log1p(bmMax),
	}
	for _, x := range dst {
		copy(x[off:], lvl[:])
	}
	return dst
}
