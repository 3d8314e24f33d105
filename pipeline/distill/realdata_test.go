package distill

import (
	"context"
	"path/filepath"
	"sort"
	"testing"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/ingest"
	"github.com/qrelbench/qrelbench/store/storetest"
)

// TestRealDataDistillThroughStore is the distillation experiment through
// the workspace (what benchmark/distill-experiment.sh runs with the CLI):
// import llmjudge/test-visible.jsonl (human grades as human:imported) and
// the GPT-4o judge run Olz-gpt4o as teacher; label with lexical and bm25;
// train the embedded student on the teacher's grades of the even-numbered
// queries of the sorted query ids (the split of pipeline/student's
// real-data test) and evaluate everyone against the humans on the other
// queries. The student must not be below lexical in kappa or quadratic
// kappa there, and its training-time estimate (leave one of the 7 training
// queries out) must be there, marked unreliable, with the humans' line.
func TestRealDataDistillThroughStore(t *testing.T) {
	ctx := context.Background()
	st := testVisibleWorkspace(t)
	train, test := splitEvenOdd(t, st)
	res, err := Train(ctx, st, TrainOptions{Teacher: "gpt4o", Labeler: "student", Queries: train, IncludeHumanGraded: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("trained on %d pairs of %d queries in %v (train kappa %.3f, per grade %v)",
		res.Pairs, res.Queries, res.Model.Summary.Duration, res.Model.Summary.TrainKappa, res.Model.Summary.PerGrade)
	if _, err := pipeline.Label(ctx, st, pipeline.LabelOptions{Labeler: "student"}); err != nil {
		t.Fatal(err)
	}
	ev, err := benchmark.Evaluate(ctx, st, benchmark.EvalOptions{Reference: "human:imported",
		Labelers: []string{"gpt4o", "student", "lexical", "bm25"}, Queries: test})
	if err != nil {
		t.Fatal(err)
	}
	kappa, quad := map[string]float64{}, map[string]float64{}
	t.Logf("held-out queries %v", test)
	t.Logf("%-10s %6s %8s %8s %8s %8s %8s", "labeler", "n", "kappa", "quad κ", "α ord", "nDCG@10", "pair acc")
	for _, r := range ev.Labelers {
		kappa[r.Labeler], quad[r.Labeler] = r.CohenKappa, r.QuadraticKappa
		t.Logf("%-10s %6d %8.3f %8.3f %8.3f %8.3f %8.3f", r.Labeler, r.N, r.CohenKappa, r.QuadraticKappa, r.AlphaOrdinal, r.NDCG10, r.PairwiseAccuracy)
	}
	if kappa["student"] < kappa["lexical"] || quad["student"] < quad["lexical"] {
		t.Errorf("student kappa %.3f / quadratic %.3f below lexical %.3f / %.3f on the held-out queries",
			kappa["student"], quad["student"], kappa["lexical"], quad["lexical"])
	}
	e := res.Estimate
	if e == nil {
		t.Fatal("no training-time estimate")
	}
	for _, line := range benchmark.EstimateLines(*e, "student") {
		t.Log(line)
	}
	if e.Queries != 7 || e.Folds != 7 || e.Pairs != res.Pairs || e.Unreliable == "" || e.Human == nil || e.Human.Pairs != res.Pairs ||
		e.Human.Reference != "human:imported" || !e.LexicalFallback {
		t.Errorf("estimate %+v", e)
	}
}

// splitEvenOdd splits the sorted query ids: even positions train, odd test.
func splitEvenOdd(t *testing.T, st *store.Store) (train, test []string) {
	t.Helper()
	qs, err := st.Queries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, q := range qs {
		ids = append(ids, q.ExtID)
	}
	sort.Strings(ids)
	for i, id := range ids {
		if i%2 == 0 {
			train = append(train, id)
		} else {
			test = append(test, id)
		}
	}
	return train, test
}

// testVisibleWorkspace is a workspace of llmjudge/test-visible.jsonl (human
// grades as human:imported), the GPT-4o judge run Olz-gpt4o as teacher
// labeler gpt4o, and every pair labeled by lexical and bm25; the test
// skips without the shared data.
func testVisibleWorkspace(t *testing.T) *store.Store {
	t.Helper()
	dir := storetest.DataDir(t)
	ctx := context.Background()
	st, err := store.Create(ctx, filepath.Join(t.TempDir(), "ws.db"), store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := ingest.ImportPairs(ctx, st, filepath.Join(dir, "llmjudge", "test-visible.jsonl"), "human:imported", false); err != nil {
		t.Skipf("test-visible.jsonl: %v", err)
	}
	if _, err := ingest.ImportQrels(ctx, st, filepath.Join(dir, "llmjudge", "runs-visible", "Olz-gpt4o.qrels"),
		ingest.QrelsOptions{Labeler: "gpt4o"}); err != nil {
		t.Skipf("Olz-gpt4o.qrels: %v", err)
	}
	for _, name := range []string{"lexical", "bm25"} {
		if _, err := pipeline.Label(ctx, st, pipeline.LabelOptions{Labeler: name}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}
