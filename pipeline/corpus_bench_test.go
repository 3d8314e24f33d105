package pipeline

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/internal/cputime"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/synthetic"
)

// BenchmarkLabelCorpus is `qrelbench label` with an in-process labeler
// (lexical, bm25, an embedded student), end to end — the pairs to grade
// and their documents read, BM25 and features, the grades, the judgments
// and their history written with the run's counts — on a synthetic
// workspace of 100,000 imported pairs (10,000 queries × 10 documents, no
// BM25 score stored by mining) while the corpus grows: the cost of a pair
// must not grow with the number of documents. Corpus sizes come from
// $QRELBENCH_BENCH_CORPUS (default 10000,100000; add 1000000 for the
// 1M-document figure, whose workspace takes minutes to build the first
// time). Each size's workspace is built once and cached (synthetic.Cached,
// in synthetic.CacheDir) and only ever written on a scratch copy.
//
//   - cold: a fresh copy opened, nothing cached in the process (statements,
//     BM25 corpus statistics, SQLite's page cache), 10,000 pairs the
//     labeler never graded (`label --limit 10000`); the copy is not timed.
//   - warm: the same open workspace, each iteration regrading the 10,000
//     pairs of the next tenth of the queries (`label --all --query …`), so
//     that iterations cycle through every pair.
//
// pairs/s is wall time; cpu-us/pair the process's CPU time per pair (the
// writer commits while the next chunk is read, so it can exceed wall).
func BenchmarkLabelCorpus(b *testing.B) {
	sizes := os.Getenv("QRELBENCH_BENCH_CORPUS")
	if sizes == "" {
		sizes = "10000,100000"
	}
	for _, s := range strings.Split(sizes, ",") {
		docs, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			b.Fatalf("QRELBENCH_BENCH_CORPUS: %v", err)
		}
		b.Run(fmt.Sprintf("docs=%d", docs), func(b *testing.B) {
			ctx := context.Background()
			p := synthetic.Params{Queries: 10_000, PerQuery: 10, Docs: docs}
			cached, err := synthetic.Cached(ctx, synthetic.CacheDir(), p, nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, labeler := range []string{"lexical", "bm25", "student"} {
				b.Run("labeler="+labeler, func(b *testing.B) {
					// The student is trained once, on a scratch copy, and
					// added to each copy a measurement labels on.
					var model []byte
					if labeler == "student" {
						model = corpusStudent(b, cached)
					}
					benchCorpusRuns(b, cached, model, corpusLabeler(labeler))
				})
			}
		})
	}
}

// benchCorpusRuns is BenchmarkLabelCorpus' cold and warm measurements of
// one labeler.
func benchCorpusRuns(b *testing.B, cached string, model []byte, labeler string) {
	ctx := context.Background()
	b.Run("cold", func(b *testing.B) {
		var elapsed, cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			st, drop := scratchCorpus(b, cached, model)
			b.StartTimer()
			t0, c0 := time.Now(), cputime.Process()
			run, err := Label(ctx, st, LabelOptions{Labeler: labeler, Limit: 10_000})
			elapsed, cpu = elapsed+time.Since(t0), cpu+cputime.Process()-c0
			if err != nil || run.Done != 10_000 {
				b.Fatalf("run %+v: %v", run, err)
			}
			b.StopTimer()
			drop()
			b.StartTimer()
		}
		reportPairs(b, 10_000, elapsed, cpu)
	})
	b.Run("warm", func(b *testing.B) {
		st, drop := scratchCorpus(b, cached, model)
		defer drop()
		slices := querySlices(b, st, 10)
		// Untimed: fill the caches.
		if _, err := Label(ctx, st, LabelOptions{Labeler: labeler, Limit: 10_000}); err != nil {
			b.Fatal(err)
		}
		var elapsed, cpu time.Duration
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			t0, c0 := time.Now(), cputime.Process()
			run, err := Label(ctx, st, LabelOptions{Labeler: labeler, All: true, Queries: slices[i%len(slices)]})
			elapsed, cpu = elapsed+time.Since(t0), cpu+cputime.Process()-c0
			if err != nil || run.Done != 10_000 {
				b.Fatalf("run %+v: %v", run, err)
			}
		}
		reportPairs(b, 10_000, elapsed, cpu)
	})
}

// corpusLabeler is the labeler name of a BenchmarkLabelCorpus labeler.
func corpusLabeler(name string) string {
	if name == "student" {
		return "bench-student"
	}
	return name
}

// reportPairs reports pairs/s (wall) and CPU microseconds per pair of b.N
// runs of pairs each.
func reportPairs(b *testing.B, pairs int, elapsed, cpu time.Duration) {
	n := float64(pairs * b.N)
	b.ReportMetric(n/elapsed.Seconds(), "pairs/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-us/pair")
	}
	b.ReportMetric(0, "ns/op")
}

// scratchCorpus opens a scratch copy of the cached workspace with the
// student labeler added (model, a trained student's JSON, if any); drop
// closes and removes it.
func scratchCorpus(b *testing.B, cached string, model []byte) (st *store.Store, drop func()) {
	b.Helper()
	ctx := context.Background()
	path, cleanup, err := synthetic.Scratch(cached, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	st, err = store.Open(ctx, path)
	if err != nil {
		cleanup()
		b.Fatal(err)
	}
	drop = func() {
		st.Close()
		cleanup()
	}
	if model != nil {
		lab := store.Labeler{Name: "bench-student", Kind: store.KindStudent, Config: store.LabelerConfig{Student: model}}
		if err := st.AddLabeler(ctx, &lab); err != nil {
			drop()
			b.Fatal(err)
		}
	}
	return st, drop
}

// corpusStudent trains the default student on lexical's grades of the
// first 200 queries of a scratch copy of the workspace.
func corpusStudent(b *testing.B, cached string) []byte {
	b.Helper()
	st, drop := scratchCorpus(b, cached, nil)
	defer drop()
	qs, err := st.Queries(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	return trainBenchStudent(b, st, qs[:min(len(qs), 200)])
}

// querySlices splits the workspace's query ids into n slices.
func querySlices(b *testing.B, st *store.Store, n int) [][]string {
	b.Helper()
	qs, err := st.Queries(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	out := make([][]string, n)
	for i, q := range qs {
		k := i * n / len(qs)
		out[k] = append(out[k], q.ExtID)
	}
	return out
}
