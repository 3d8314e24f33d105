package pipeline

import (
	"context"
	"fmt"
	"sort"

	"github.com/qrelbench/qrelbench/pipeline/features"
	"github.com/qrelbench/qrelbench/pipeline/lexical"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
)

// groupGrader grades the pending pairs of a query's candidate group,
// in-process. Built-in and embedded-student labelers are of this kind: they
// need per-query context (BM25 rank and maximum over the query's
// candidates), no network and no store: the group holds what they read.
type groupGrader interface {
	Grade(g store.CandidateGroup) ([]store.Judgment, error)
	PromptVersion() string
}

// groupFeatures computes the feature inputs of every pair of a candidate
// group, in its order. BM25 is ranked over the query's whole candidate set
// (every paired document), so a pair's rank and the query maximum do not
// depend on which pairs are still pending.
func groupFeatures(g store.CandidateGroup) []features.Pair {
	scores := g.BM25
	cands := make([]int64, len(g.Pairs))
	for i, v := range g.Pairs {
		cands[i] = v.DocID
	}
	// Rank candidates by score (ties by doc id so ranks are deterministic).
	sort.Slice(cands, func(i, j int) bool {
		si, sj := scores[cands[i]], scores[cands[j]]
		if si != sj {
			return si > sj
		}
		return cands[i] < cands[j]
	})
	rank := make(map[int64]int, len(cands))
	maxScore := 0.0
	for i, id := range cands {
		if scores[id] > 0 {
			rank[id] = i + 1
		}
		maxScore = max(maxScore, scores[id])
	}
	out := make([]features.Pair, len(g.Pairs))
	for i, v := range g.Pairs {
		out[i] = features.Pair{
			Query: v.QueryText, Title: v.Doc.Title, Body: v.Doc.Body, URL: v.Doc.URL, Author: v.Doc.Author, Type: v.Doc.Type,
			Modified: v.Doc.Modified, BM25: scores[v.DocID], BM25Rank: rank[v.DocID], BM25Max: maxScore, NCandidates: len(cands),
		}
	}
	return out
}

// queryGroup reads the whole candidate group of a query.
func queryGroup(ctx context.Context, st *store.Store, queryID int64) (store.CandidateGroup, error) {
	gs, err := st.CandidateGroups(ctx, []int64{queryID}, store.PairFilter{})
	if err != nil || len(gs) == 0 {
		return store.CandidateGroup{QueryID: queryID}, err
	}
	return gs[0], nil
}

// CandidateFeatures returns the feature inputs of every candidate pair of
// the group's query (in pair id order) and, for each pair of group, its
// index among them. Query-relative features (a document compared with the
// query's other candidates) need the whole set even when only some pairs
// are pending.
func CandidateFeatures(ctx context.Context, st *store.Store, group []store.PairView) ([]features.Pair, []int, error) {
	if len(group) == 0 {
		return nil, nil, nil
	}
	g, err := queryGroup(ctx, st, group[0].QueryID)
	if err != nil {
		return nil, nil, err
	}
	pos := make(map[int64]int, len(g.Pairs))
	for i, v := range g.Pairs {
		pos[v.ID] = i
	}
	idx := make([]int, len(group))
	for i, v := range group {
		k, ok := pos[v.ID]
		if !ok {
			return nil, nil, fmt.Errorf("pair %d is not one of query %d's", v.ID, g.QueryID)
		}
		idx[i] = k
	}
	return groupFeatures(g), idx, nil
}

// lexicalGrader is the built-in `lexical` labeler.
type lexicalGrader struct{ scale store.Scale }

func (g lexicalGrader) PromptVersion() string { return "lexical/" + features.Version }

func (g lexicalGrader) Grade(c store.CandidateGroup) ([]store.Judgment, error) {
	fps := groupFeatures(c)
	out := make([]store.Judgment, len(c.Pending))
	for i, k := range c.Pending {
		grade, exp := lexical.Grade(fps[k], g.scale.Min(), g.scale.Max())
		out[i] = store.Judgment{PairID: c.Pairs[k].ID, Grade: grade, Status: store.StatusOK, Expected: exp, HasExpected: true}
	}
	return out, nil
}

// bm25Grader is the built-in `bm25` baseline: the grade follows the pair's
// BM25 rank among its query's candidates. The top quarter of matching
// documents gets the highest grade, the next quarter one less, and so on;
// documents that do not match at all get the lowest grade. The expected grade
// is the normalised BM25 score on the scale, so rankings by it are BM25
// rankings.
type bm25Grader struct{ scale store.Scale }

func (g bm25Grader) PromptVersion() string { return "bm25-rank-v1" }

func (g bm25Grader) Grade(c store.CandidateGroup) ([]store.Judgment, error) {
	fps := groupFeatures(c)
	out := make([]store.Judgment, len(c.Pending))
	for i, k := range c.Pending {
		grade, exp := BM25Grade(fps[k], g.scale.Min(), g.scale.Max())
		out[i] = store.Judgment{PairID: c.Pairs[k].ID, Grade: grade, Status: store.StatusOK, Expected: exp, HasExpected: true}
	}
	return out, nil
}

// BM25Grade is the built-in `bm25` grader's grade of one pair on the scale
// lo..hi and its expected grade (see bm25Grader).
func BM25Grade(fp features.Pair, lo, hi int) (grade int, expected float64) {
	levels := hi - lo // grades above the lowest
	if fp.BM25Rank > 0 && fp.NCandidates > 0 {
		frac := float64(fp.BM25Rank-1) / float64(fp.NCandidates) // 0 for the top document
		return hi - min(int(frac*float64(levels+1)), levels), float64(lo) + float64(levels)*fp.BM25/fp.BM25Max
	}
	return lo, float64(lo)
}

// studentGrader runs an embedded student model trained by `distill train`.
type studentGrader struct {
	scale store.Scale
	model *student.Model
}

func newStudentGrader(scale store.Scale, lab store.Labeler) (*studentGrader, error) {
	if len(lab.Config.Student) == 0 {
		return nil, fmt.Errorf("labeler %q has no trained model: run `qrelbench distill train --labeler %s`", lab.Name, lab.Name)
	}
	m, err := student.Load(lab.Config.Student)
	if err != nil {
		return nil, fmt.Errorf("labeler %q: %w", lab.Name, err)
	}
	if m.MinGrade != scale.Min() || m.MaxGrade != scale.Max() {
		return nil, fmt.Errorf("labeler %q was trained for grades %d–%d, the workspace scale is %s", lab.Name, m.MinGrade, m.MaxGrade, scale.Name)
	}
	return &studentGrader{scale: scale, model: m}, nil
}

func (g *studentGrader) PromptVersion() string { return "student/" + g.model.FeatureVersion }

func (g *studentGrader) Grade(c store.CandidateGroup) ([]store.Judgment, error) {
	grades, expected, probs, err := g.model.PredictGroup(groupFeatures(c))
	if err != nil {
		return nil, err
	}
	out := make([]store.Judgment, len(c.Pending))
	for i, k := range c.Pending {
		out[i] = store.Judgment{PairID: c.Pairs[k].ID, Grade: grades[k], Status: store.StatusOK, Probs: probs[k], Expected: expected[k], HasExpected: true}
	}
	return out, nil
}
