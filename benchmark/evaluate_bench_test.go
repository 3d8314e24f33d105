package benchmark

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// The eval benchmark workspace: 10,000 queries × 100 documents = 1,000,000
// pairs, each graded by a reference, a student (with expected grades) and
// lexical. Built once with set-based SQL and cached in the temp dir; the
// benchmark only reads it.
const evalBenchVersion = "v1"

var (
	evalBenchOnce sync.Once
	evalBenchPath string
	evalBenchErr  error
)

func evalBenchWorkspace(b *testing.B) *store.Store {
	b.Helper()
	evalBenchOnce.Do(func() {
		evalBenchPath = filepath.Join(os.TempDir(), "qrelbench-eval-bench-"+evalBenchVersion+".db")
		if _, err := os.Stat(evalBenchPath); err == nil {
			return
		}
		evalBenchErr = buildEvalBench(evalBenchPath + ".tmp")
		if evalBenchErr == nil {
			evalBenchErr = os.Rename(evalBenchPath+".tmp", evalBenchPath)
		}
	})
	if evalBenchErr != nil {
		b.Fatal(evalBenchErr)
	}
	st, err := store.Open(context.Background(), evalBenchPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func buildEvalBench(path string) error {
	ctx := context.Background()
	os.Remove(path)
	st, err := store.Create(ctx, path, store.Scales["0-3"])
	if err != nil {
		return err
	}
	defer st.Close()
	labs := []store.Labeler{
		{Name: "human:ref", Kind: store.KindHuman},
		{Name: "student", Kind: store.KindStudent, Role: "student"},
		{Name: "other", Kind: store.KindLLM, Role: "teacher", Model: "big"},
	}
	err = st.Tx(ctx, func(tx *store.Store) error {
		for i := range labs {
			if err := tx.AddLabeler(ctx, &labs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	db := st.DB()
	stmts := []struct {
		q    string
		args []any
	}{
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)
			INSERT INTO documents(ext_id, title, body, created_at) SELECT 'doc-' || i, 'title ' || i, 'body of document ' || i, '2025-01-01' FROM n`, nil},
		{`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10000)
			INSERT INTO queries(ext_id, text, origin, created_at) SELECT 'query-' || i, 'query text ' || i, 'imported', '2025-01-01' FROM n`, nil},
		{`INSERT INTO pairs(query_id, doc_id, source, created_at) SELECT q.id, d.id, 'imported', '2025-01-01' FROM queries q, documents d ORDER BY q.id, d.id`, nil},
		{`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) SELECT id, ?, (id * 7 + id / 13) % 4, 'ok', '2025-01-01', '2025-01-01' FROM pairs`, []any{labs[0].ID}},
		{`INSERT INTO judgments(pair_id, labeler_id, grade, status, expected, created_at, updated_at)
			SELECT id, ?, g, 'ok', g + ((id * 2654435761) % 1000) / 1000.0 - 0.5, '2025-01-01', '2025-01-01'
			FROM (SELECT id, (id * 7 + id / 11) % 4 AS g FROM pairs)`, []any{labs[1].ID}},
		{`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) SELECT id, ?, (id * 3) % 4, 'ok', '2025-01-01', '2025-01-01' FROM pairs`, []any{labs[2].ID}},
	}
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, s := range stmts {
		if _, err := tx.Exec(s.q, s.args...); err != nil {
			return fmt.Errorf("%.50s: %w", s.q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.Exec(`ANALYZE`)
	return err
}

// BenchmarkEvaluate1M is `qrelbench eval` end to end on a million pairs:
// reading three labelers' grades from the workspace, pairing them, and every
// metric with a 1,000-sample bootstrap for two labelers.
func BenchmarkEvaluate1M(b *testing.B) {
	st := evalBenchWorkspace(b)
	ctx := context.Background()
	opt := EvalOptions{Reference: "human:ref", Labelers: []string{"student", "other"}, Bootstrap: 1000, Seed: 1}
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
