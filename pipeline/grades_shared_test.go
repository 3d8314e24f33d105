package pipeline

import (
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline/features"
	"github.com/qrelbench/qrelbench/pipeline/lexical"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/ingest"
	"github.com/qrelbench/qrelbench/store/storetest"
)

// TestInProcessGradesUnchangedOnSharedData: the in-process graders
// (lexical, bm25, an embedded student) label the real passages of the
// shared data — imported pairs and BM25-mined ones, with a first run
// limited to part of the pairs — exactly as the per-query path they
// replaced graded them: that path is kept here as the reference
// (referenceFeatures: the query's candidates, their mined scores, BM25Scores
// for the rest, one query at a time).
func TestInProcessGradesUnchangedOnSharedData(t *testing.T) {
	dir := storetest.DataDir(t)
	ctx := context.Background()
	st := newWorkspace(t, "0-3")
	for _, f := range []string{filepath.Join("trecdl", "dl19.jsonl"), filepath.Join("llmjudge", "test-visible.jsonl")} {
		if _, err := ingest.ImportPairs(ctx, st, filepath.Join(dir, f), "human:nist", false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Mine(ctx, st, MineOptions{}); err != nil {
		t.Fatal(err)
	}
	qs, err := st.Queries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var mined int
	if err := st.DB().QueryRow(`SELECT count(*) FROM pairs WHERE source = 'bm25'`).Scan(&mined); err != nil || mined == 0 {
		t.Fatalf("%d mined pairs: %v", mined, err)
	}
	// The student: trained on lexical's grades of a few queries.
	model := trainBenchStudent(t, st, qs[:10])
	lab := store.Labeler{Name: "shared-student", Kind: store.KindStudent, Config: store.LabelerConfig{Student: model}}
	if err := st.AddLabeler(ctx, &lab); err != nil {
		t.Fatal(err)
	}
	m, err := student.Load(model)
	if err != nil {
		t.Fatal(err)
	}

	// The reference, query by query.
	type want struct {
		grade    int
		expected float64
		probs    []float64
	}
	ref := map[string]map[int64]want{"lexical": {}, "bm25": {}, "shared-student": {}}
	npairs := 0
	for _, q := range qs {
		views, err := st.PairViews(ctx, store.PairFilter{QueryID: q.ID})
		if err != nil {
			t.Fatal(err)
		}
		npairs += len(views)
		fps, err := referenceFeatures(ctx, st, views)
		if err != nil {
			t.Fatal(err)
		}
		grades, expected, probs, err := m.PredictGroup(fps)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range views {
			g, e := lexical.Grade(fps[i], 0, 3)
			ref["lexical"][v.ID] = want{g, e, nil}
			g, e = BM25Grade(fps[i], 0, 3)
			ref["bm25"][v.ID] = want{g, e, nil}
			ref["shared-student"][v.ID] = want{grades[i], expected[i], probs[i]}
		}
	}

	for _, name := range []string{"lexical", "bm25", "shared-student"} {
		// Part of the pairs first (lexical graded 10 queries already), then
		// the rest, then everything again: pending and graded candidates mix.
		for _, opt := range []LabelOptions{{Limit: 3000}, {}, {All: true}} {
			opt.Labeler = name
			if _, err := Label(ctx, st, opt); err != nil {
				t.Fatalf("%s %+v: %v", name, opt, err)
			}
			lab, err := st.Labeler(ctx, name)
			if err != nil {
				t.Fatal(err)
			}
			got := judgments(t, st, lab.ID)
			if opt.Limit == 0 && len(got) != npairs {
				t.Fatalf("%s %+v: %d of %d pairs graded", name, opt, len(got), npairs)
			}
			bad := 0
			for id, j := range got {
				w := ref[name][id]
				if j.Grade != w.grade || math.Abs(j.Expected-w.expected) > 1e-12 || !slices.Equal(j.Probs, w.probs) {
					if bad++; bad <= 5 {
						t.Errorf("%s (limit %d, all %v) pair %d: grade %d expected %g probs %v, reference %d %g %v", name, opt.Limit, opt.All, id, j.Grade, j.Expected, j.Probs, w.grade, w.expected, w.probs)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s (limit %d, all %v): %d of %d grades differ from the reference", name, opt.Limit, opt.All, bad, len(got))
			}
		}
	}
}

// referenceFeatures is the feature inputs of a query's pairs (all of them,
// in pair id order) from what in-process grading read before it read
// queries in chunks: the candidates and mined scores from QueryCandidates,
// BM25Scores for the others, a query at a time.
func referenceFeatures(ctx context.Context, st *store.Store, group []store.PairView) ([]features.Pair, error) {
	cands, scores, err := st.QueryCandidates(ctx, group[0].QueryID)
	if err != nil {
		return nil, err
	}
	var unscored []int64
	for _, id := range cands {
		if _, ok := scores[id]; !ok {
			unscored = append(unscored, id)
		}
	}
	fresh, err := st.BM25Scores(ctx, group[0].QueryText, unscored)
	if err != nil {
		return nil, err
	}
	maps.Copy(scores, fresh)
	if len(cands) != len(group) {
		return nil, fmt.Errorf("query %d: %d candidates, %d pairs", group[0].QueryID, len(cands), len(group))
	}
	return groupFeatures(store.CandidateGroup{QueryID: group[0].QueryID, QueryText: group[0].QueryText, Pairs: group, BM25: scores}), nil
}
