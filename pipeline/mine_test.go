package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

type minedPair struct {
	doc    string
	source string
	rank   int
	score  float64
}

func pairsOf(t *testing.T, st *store.Store, queryExt string) []minedPair {
	t.Helper()
	rows, err := st.DB().Query(`SELECT d.ext_id, p.source, COALESCE(p.bm25_rank, 0), COALESCE(p.bm25_score, 0) FROM pairs p
		JOIN documents d ON d.id = p.doc_id JOIN queries q ON q.id = p.query_id WHERE q.ext_id = ? ORDER BY COALESCE(p.bm25_rank, 0), p.id`, queryExt)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []minedPair
	for rows.Next() {
		var m minedPair
		if err := rows.Scan(&m.doc, &m.source, &m.rank, &m.score); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func countRows(t *testing.T, st *store.Store, table string) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMine(t *testing.T) {
	ctx := context.Background()
	st := newWorkspace(t, "0-3")
	var docs []tdoc
	for i := 0; i < 12; i++ {
		// d0 is the seed and the best match; the others mention falcon
		// less and less.
		docs = append(docs, tdoc{fmt.Sprintf("d%d", i), fmt.Sprintf("Note %d", i),
			strings.Repeat("falcon ", max(1, 12-i)) + fmt.Sprintf("roadmap filler text number %d %s", i, strings.Repeat("pad ", i))})
	}
	docs = append(docs, tdoc{"other", "Lunch", "pizza"})
	populate(t, st, docs, nil)
	seed, err := st.DocumentByExtID(ctx, "d0")
	if err != nil {
		t.Fatal(err)
	}
	weird := []string{
		`"falcon`, `falcon NEAR roadmap`, `NEAR(falcon roadmap, 2)`, `falc* roadmap`, `(falcon`, `title:falcon`,
		`falcon AND OR NOT`, `-falcon ^roadmap`, `"unbalanced "falcon"`, `*:()"`, `{falcon}`, `falcon + roadmap's`,
	}
	err = st.Tx(ctx, func(tx *store.Store) error {
		q := store.Query{ExtID: "seeded", Text: "falcon roadmap", Origin: store.OriginSynthetic, SeedDocID: seed.ID, Generator: "offline"}
		if _, err := tx.PutQuery(ctx, &q, false); err != nil {
			return err
		}
		p := store.Pair{QueryID: q.ID, DocID: seed.ID, Source: store.SourceSeed}
		if _, err := tx.PutPair(ctx, &p); err != nil {
			return err
		}
		for i, text := range weird {
			q := store.Query{ExtID: fmt.Sprintf("w%d", i), Text: text}
			if _, err := tx.PutQuery(ctx, &q, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	const k = 5
	var log progressLog
	run, err := Mine(ctx, st, MineOptions{Negatives: k, Progress: log.add})
	if err != nil {
		t.Fatal(err)
	}
	nq := 1 + len(weird)
	if run.Status != store.RunDone || run.Done != nq || run.Total != nq {
		t.Fatalf("mining run %+v", run)
	}
	log.checkMonotone(t, nq, store.RunDone)

	got := pairsOf(t, st, "seeded")
	if len(got) != k+1 || got[0].source != store.SourceSeed || got[0].doc != "d0" || got[0].rank != 0 {
		t.Fatalf("seeded query pairs %+v", got)
	}
	hits, err := st.Search(ctx, "falcon roadmap", k, seed.ID)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got[1:] {
		if m.source != store.SourceBM25 || m.rank != i+1 || m.doc == "d0" || m.doc != hits[i].ExtID || m.score != hits[i].Score {
			t.Errorf("negative %d: %+v, search says %+v", i+1, m, hits[i])
		}
		if i > 0 && m.score > got[i].score {
			t.Errorf("rank %d scores %g above rank %d's %g", i+1, m.score, i, got[i].score)
		}
	}
	// The best BM25 documents after the seed: d1, d2, ...
	for i, m := range got[1:] {
		if want := fmt.Sprintf("d%d", i+1); m.doc != want {
			t.Errorf("rank %d is %s, want %s", i+1, m.doc, want)
		}
	}
	for i, text := range weird {
		ps := pairsOf(t, st, fmt.Sprintf("w%d", i))
		if text == `*:()"` {
			if len(ps) != 0 {
				t.Errorf("%q: %d pairs for a query without words", text, len(ps))
			}
			continue
		}
		if len(ps) == 0 || len(ps) > k {
			t.Errorf("%q: %d negatives", text, len(ps))
		}
		for j, m := range ps {
			if m.source != store.SourceBM25 || m.rank != j+1 {
				t.Errorf("%q: %+v", text, m)
			}
		}
	}

	// A rerun adds nothing (only the query without words, which found
	// nothing, is searched again).
	pairs := countRows(t, st, "pairs")
	run2, err := Mine(ctx, st, MineOptions{Negatives: k})
	if err != nil {
		t.Fatal(err)
	}
	if countRows(t, st, "pairs") != pairs || run2.Done != 1 {
		t.Fatalf("rerun: %+v, pairs %d → %d", run2, pairs, countRows(t, st, "pairs"))
	}
}

// TestMineCancelResume: an interrupted mining run keeps the committed
// queries and a rerun resumes it for the rest.
func TestMineCancelResume(t *testing.T) {
	ctx := context.Background()
	st := newWorkspace(t, "0-3")
	var docs []tdoc
	for i := 0; i < 30; i++ {
		docs = append(docs, tdoc{fmt.Sprintf("d%d", i), fmt.Sprintf("topic%d report", i%7), fmt.Sprintf("topic%d details and numbers %d", i%5, i)})
	}
	var qs []tquery
	for i := 0; i < 250; i++ {
		qs = append(qs, tquery{id: fmt.Sprintf("q%d", i), text: fmt.Sprintf("topic%d report", i%7)})
	}
	populate(t, st, docs, qs)

	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	run1, err := Mine(cctx, st, MineOptions{Negatives: 3, Progress: func(p Progress) {
		if p.Done >= 100 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || run1.Status != store.RunCanceled || run1.Done != 100 {
		t.Fatalf("interrupted: %+v %v", run1, err)
	}
	if n := countRows(t, st, "pairs"); n != 300 {
		t.Fatalf("%d pairs after 100 queries, want 300", n)
	}
	var log progressLog
	run2, err := Mine(ctx, st, MineOptions{Negatives: 3, Progress: log.add})
	if err != nil || run2.ID != run1.ID || run2.Done != 250 || run2.Total != 250 || run2.Status != store.RunDone {
		t.Fatalf("resumed: %+v %v", run2, err)
	}
	if ns := log.notices(); len(ns) != 1 || ns[0] != fmt.Sprintf("resuming run %d (100 done before)", run1.ID) {
		t.Fatalf("notices %q", ns)
	}
	if n := countRows(t, st, "pairs"); n != 750 {
		t.Fatalf("%d pairs, want 750", n)
	}
	// Nothing left: no run at all.
	if r, err := Mine(ctx, st, MineOptions{Negatives: 3}); err != nil || r.ID != 0 {
		t.Fatalf("third run %+v %v", r, err)
	}
}

// TestMinedScoresMatchRescoring: the BM25 score mining stores with a pair is
// the score BM25Scores computes for it, so per-query features may use
// either (store.CandidateGroups uses the stored one and scores only the rest).
func TestMinedScoresMatchRescoring(t *testing.T) {
	ctx := context.Background()
	st := newWorkspace(t, "0-3")
	var docs []tdoc
	for i := 0; i < 15; i++ {
		docs = append(docs, tdoc{fmt.Sprintf("d%d", i), fmt.Sprintf("Atlas note %d", i),
			strings.Repeat("payments retry ", 1+i%4) + fmt.Sprintf("design review %d %s", i, strings.Repeat("filler ", i))})
	}
	populate(t, st, docs, nil)
	q := store.Query{ExtID: "q", Text: "atlas payments retry design"}
	if _, err := st.PutQuery(ctx, &q, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Mine(ctx, st, MineOptions{Negatives: 10}); err != nil {
		t.Fatal(err)
	}
	cands, stored, err := st.QueryCandidates(ctx, q.ID)
	if err != nil || len(cands) != 10 || len(stored) != 10 {
		t.Fatalf("%d candidates, %d stored scores: %v", len(cands), len(stored), err)
	}
	fresh, err := st.BM25Scores(ctx, q.Text, cands)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cands {
		if d := stored[id] - fresh[id]; d > 1e-9 || d < -1e-9 || stored[id] <= 0 {
			t.Errorf("doc %d: stored %g, rescored %g", id, stored[id], fresh[id])
		}
	}
}
