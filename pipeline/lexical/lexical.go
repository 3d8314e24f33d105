// Package lexical is the built-in deterministic grader: a transparent,
// hand-set combination of BM25 and query-term coverage features. It is not a
// language model and learns nothing; it is the offline default and the
// baseline every model (the student, an LLM teacher) must beat.
package lexical

import (
	"math"
	"sync"

	"github.com/qrelbench/qrelbench/pipeline/features"
)

// Name is the grader's name in labels and reports.
const Name = "lexical"

// Description is shown to users next to the grader's labels.
const Description = "Built-in deterministic grader from BM25 and query-term coverage. It is not a language model: it is the offline default and the baseline every model must beat."

// Weights of the score, summing to 1. Every component lies in [0,1] and does
// not decrease when the document gains a query term it lacked (appended
// text), so the score — and therefore the grade — is monotone in coverage.
const (
	// WCoverage weighs the fraction of stemmed query terms present in the
	// title or body: whether the document talks about everything asked.
	WCoverage = 0.40
	// WTitle weighs stemmed coverage of the title alone (a title match is a
	// strong signal that the whole document is about the query).
	WTitle = 0.10
	// WBM25 weighs BM25/BM25Max: how the store's ranking sees this document
	// relative to the query's best candidate (it brings in term rarity).
	WBM25 = 0.25
	// WRun weighs the longest run of consecutive query terms found
	// consecutively in the body, as a fraction of the query terms.
	WRun = 0.15
	// WPhrase weighs an exact phrase match of the whole query in the title
	// or the body.
	WPhrase = 0.10
)

// Score returns the grader's continuous score in [0,1] for a feature vector
// produced by features.Extract:
//
//	score = 0.40*cov_any_stem + 0.10*cov_title_stem + 0.25*bm25_norm
//	      + 0.15*longest_run + 0.10*max(phrase_title, phrase_body)
func Score(x []float64) float64 {
	s := WCoverage*x[features.FCovAnyStem] +
		WTitle*x[features.FCovTitleStem] +
		WBM25*x[features.FBM25Norm] +
		WRun*x[features.FLongestRun] +
		WPhrase*math.Max(x[features.FPhraseTitle], x[features.FPhraseBody])
	return math.Min(1, math.Max(0, s))
}

// Bin maps a score in [0,1] onto the scale [minGrade, maxGrade] by equal-width
// bins: with K = maxGrade-minGrade+1 grades, grade = minGrade + floor(score*K),
// a score of exactly 1 falling into the top grade. expected maps the score
// linearly onto [minGrade, maxGrade].
func Bin(score float64, minGrade, maxGrade int) (grade int, expected float64) {
	if maxGrade < minGrade {
		minGrade, maxGrade = maxGrade, minGrade
	}
	score = math.Min(1, math.Max(0, score))
	k := maxGrade - minGrade + 1
	g := int(math.Floor(score * float64(k)))
	if g >= k {
		g = k - 1
	}
	return minGrade + g, float64(minGrade) + score*float64(maxGrade-minGrade)
}

var bufPool = sync.Pool{New: func() any {
	b := make([]float64, 0, features.NumFeatures)
	return &b
}}

// Grade grades p on the scale [minGrade, maxGrade] (e.g. 0-3 for TREC):
// grade is the equal-width bin of Score, expected the score mapped linearly
// onto the scale. It is deterministic and safe for concurrent use.
func Grade(p features.Pair, minGrade, maxGrade int) (grade int, expected float64) {
	bp := bufPool.Get().(*[]float64)
	x := features.Extract(p, (*bp)[:0])
	g, e := Bin(Score(x), minGrade, maxGrade)
	*bp = x
	bufPool.Put(bp)
	return g, e
}
