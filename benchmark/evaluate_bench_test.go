package benchmark

import (
	"context"
	"os"
	"testing"

	"github.com/qrelbench/qrelbench/store"
	synthws "github.com/qrelbench/qrelbench/store/synthetic"
)

// evalBenchWorkspace is 10,000 queries × 100 documents = 1,000,000 pairs,
// each graded by a reference, a student (with expected grades) and a
// teacher: built once and cached in the temp dir; the benchmarks only read
// it.
func evalBenchWorkspace(b *testing.B) *store.Store {
	b.Helper()
	path, err := synthws.Cached(context.Background(), os.TempDir(), synthws.Params{Queries: 10_000, PerQuery: 100, Docs: 100}, nil)
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// BenchmarkEvaluate1M is `qrelbench eval` end to end on a million pairs:
// reading three labelers' grades from the workspace, pairing them, and every
// metric with a 1,000-sample bootstrap for two labelers.
func BenchmarkEvaluate1M(b *testing.B) {
	st := evalBenchWorkspace(b)
	ctx := context.Background()
	opt := EvalOptions{Reference: "human:ref", Labelers: []string{"student", "teacher"}, Bootstrap: 1000, Seed: 1}
	if _, err := Evaluate(ctx, st, opt); err != nil { // warm the page cache: the cold run is not the one measured
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		ev, err := Evaluate(ctx, st, opt)
		if err != nil {
			b.Fatal(err)
		}
		if len(ev.Labelers) != 2 || ev.Labelers[0].N != 1_000_000 {
			b.Fatalf("evaluated %+v", ev.Labelers)
		}
	}
}

// BenchmarkScanOKGrades1M reads one labeler's million grades, without and
// with expected grades: the reading part of BenchmarkEvaluate1M.
func BenchmarkScanOKGrades1M(b *testing.B) {
	st := evalBenchWorkspace(b)
	ctx := context.Background()
	for _, name := range []string{"human:ref", "student"} {
		b.Run(name, func(b *testing.B) {
			lab, err := st.Labeler(ctx, name)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				n := 0
				if err := st.ScanOKGrades(ctx, lab.ID, func(int64, int, float64, bool) { n++ }); err != nil || n != 1_000_000 {
					b.Fatal(n, err)
				}
			}
		})
	}
}
