package pipeline

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/internal/cputime"
	"github.com/qrelbench/qrelbench/pipeline/features"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
)

// benchWorkspace builds nq queries × nd short documents, every query paired
// with every document.
func benchWorkspace(b testing.TB, nq, nd int) *store.Store {
	b.Helper()
	st := newWorkspace(b, "0-3")
	ctx := context.Background()
	err := st.Tx(ctx, func(tx *store.Store) error {
		docs := make([]int64, nd)
		for i := range docs {
			d := store.Document{ExtID: fmt.Sprintf("d%d", i), Title: fmt.Sprintf("Report %d on topic%d", i, i%17),
				Body: fmt.Sprintf("Short note %d about topic%d and project%d, owned by team%d. GRADE=%d", i, i%17, i%23, i%5, i%4)}
			if _, err := tx.PutDocument(ctx, &d, false); err != nil {
				return err
			}
			docs[i] = d.ID
		}
		for q := 0; q < nq; q++ {
			qq := store.Query{ExtID: fmt.Sprintf("q%d", q), Text: fmt.Sprintf("topic%d project%d report", q%17, q%23)}
			if _, err := tx.PutQuery(ctx, &qq, false); err != nil {
				return err
			}
			for _, d := range docs {
				p := store.Pair{QueryID: qq.ID, DocID: d, Source: store.SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return st
}

// benchLabel labels every pair with a fresh model labeler per iteration
// and reports pairs/s labeled and stored.
func benchLabel(b *testing.B, st *store.Store, f *fakeLLM, pairs, concurrency int) float64 {
	b.Helper()
	ctx := context.Background()
	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := fmt.Sprintf("bench-%d-%d", concurrency, i)
		addModelLabeler(b, st, name, f, store.LabelerConfig{Concurrency: concurrency, TimeoutSec: 30})
		b.StartTimer()
		t0 := time.Now()
		run, err := Label(ctx, st, LabelOptions{Labeler: name})
		elapsed += time.Since(t0)
		if err != nil {
			b.Fatal(err)
		}
		if run.Done != pairs || run.Failed != 0 {
			b.Fatalf("run %+v", run)
		}
	}
	rate := float64(pairs*b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "pairs/s")
	b.ReportMetric(0, "ns/op")
	return rate
}

// BenchmarkLabelInstantServer: 200 queries × 100 documents against a
// loopback server that answers at once; Concurrency 32. Measures the
// engine: request building, the HTTP client, parsing and the store writes.
func BenchmarkLabelInstantServer(b *testing.B) {
	st := benchWorkspace(b, 200, 100)
	f := newFakeLLM(b, grades03)
	f.minimal = true
	benchLabel(b, st, f, 20000, 32)
}

// BenchmarkLabel50msServer: 3,000 pairs against a server with a fixed 50 ms
// latency and Concurrency 64: the ideal is 64/0.05 = 1,280 pairs/s.
func BenchmarkLabel50msServer(b *testing.B) {
	st := benchWorkspace(b, 30, 100)
	f := newFakeLLM(b, grades03)
	f.minimal = true
	f.latency = 50 * time.Millisecond
	rate := benchLabel(b, st, f, 3000, 64)
	b.ReportMetric(100*rate/1280, "%ideal")
}

// BenchmarkLabelLexical: the built-in lexical labeler on 20,000 pairs.
func BenchmarkLabelLexical(b *testing.B) {
	benchRegrade(b, benchWorkspace(b, 200, 100), "lexical", 20000)
}

// BenchmarkLabelStudent: the default embedded student (trained here on the
// lexical grades) labeling 20,000 pairs in-process, end to end: candidate features
// per query, prediction, and the judgments committed to the workspace.
func BenchmarkLabelStudent(b *testing.B) {
	st := benchWorkspace(b, 200, 100)
	ctx := context.Background()
	qs, err := st.Queries(ctx)
	if err != nil {
		b.Fatal(err)
	}
	raw := trainBenchStudent(b, st, qs)
	lab := store.Labeler{Name: "bench-student", Kind: store.KindStudent, Config: store.LabelerConfig{Student: raw}}
	if err := st.AddLabeler(ctx, &lab); err != nil {
		b.Fatal(err)
	}
	benchRegrade(b, st, "bench-student", 20000)
}

// trainBenchStudent grades the pairs of qs with lexical and returns the
// default student (as distill train fits it) trained on those grades, as
// its JSON.
func trainBenchStudent(b testing.TB, st *store.Store, qs []store.Query) []byte {
	b.Helper()
	ctx := context.Background()
	ids := make([]string, len(qs))
	for i, q := range qs {
		ids[i] = q.ExtID
	}
	if _, err := Label(ctx, st, LabelOptions{Labeler: "lexical", Queries: ids}); err != nil {
		b.Fatal(err)
	}
	lex, _ := st.Labeler(ctx, "lexical")
	grades, _ := st.Grades(ctx, lex.ID)
	byPair := map[int64]int{}
	for _, g := range grades {
		byPair[g.PairID] = g.Grade
	}
	var ex []student.Example
	for _, q := range qs {
		views, err := st.PairViews(ctx, store.PairFilter{QueryID: q.ID})
		if err != nil {
			b.Fatal(err)
		}
		fps, _, err := CandidateFeatures(ctx, st, views)
		if err != nil {
			b.Fatal(err)
		}
		for i, x := range features.ExtractGroup(fps, nil) {
			ex = append(ex, student.Example{X: x, Grade: byPair[views[i].ID], Query: q.ExtID})
		}
	}
	m, err := student.Train(ex, student.Tuned(0, 3))
	if err != nil {
		b.Fatal(err)
	}
	raw, err := m.MarshalJSON()
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

// benchRegrade times b.N runs of an in-process labeler regrading all of the
// workspace's pairs (exactly pairs of them) and reports pairs/s and CPU
// time per pair. One untimed run first grades every pair, so that every
// timed run measures the same state — a regrade of graded pairs — rather
// than the first one inserting and the rest updating (BenchmarkLabelCorpus
// measures first grading, cold, on a fresh copy).
func benchRegrade(b *testing.B, st *store.Store, labeler string, pairs int) {
	b.Helper()
	ctx := context.Background()
	if run, err := Label(ctx, st, LabelOptions{Labeler: labeler, All: true}); err != nil || run.Done != pairs {
		b.Fatalf("warm-up run %+v: %v", run, err)
	}
	var elapsed, cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0, c0 := time.Now(), cputime.Process()
		run, err := Label(ctx, st, LabelOptions{Labeler: labeler, All: true})
		elapsed, cpu = elapsed+time.Since(t0), cpu+cputime.Process()-c0
		if err != nil || run.Done != pairs {
			b.Fatalf("run %+v: %v", run, err)
		}
	}
	b.ReportMetric(float64(pairs*b.N)/elapsed.Seconds(), "pairs/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(pairs*b.N), "cpu-us/pair")
	}
	b.ReportMetric(0, "ns/op")
}
