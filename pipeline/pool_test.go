package pipeline

import (
	"context"
	"fmt"
	"math/rand"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/internal/cputime"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/synthetic"
)

// runLine is one result of a test system: query, document, score, and the
// run file's rank column.
type runLine struct {
	q, d  string
	score float64
	rank  int
}

// putSystem stores a system's results in a workspace whose queries and
// documents exist.
func putSystem(t testing.TB, st *store.Store, name string, lines []runLine) {
	t.Helper()
	ctx := context.Background()
	qs, _ := st.QueryIDs(ctx)
	ds, _ := st.DocumentIDs(ctx)
	rs := make([]store.SystemResult, len(lines))
	var hash strings.Builder
	for i, l := range lines {
		if qs[l.q] == 0 || ds[l.d] == 0 {
			t.Fatalf("unknown %s/%s", l.q, l.d)
		}
		rs[i] = store.SystemResult{QueryID: qs[l.q], DocID: ds[l.d], Score: l.score, Rank: l.rank}
		fmt.Fprint(&hash, l)
	}
	sys := store.System{Name: name, ContentSHA256: fmt.Sprintf("%x", hash.String())}
	if _, err := st.PutSystem(ctx, &sys, rs, true); err != nil {
		t.Fatal(err)
	}
}

// poolState renders the pool: every pair with its source and the systems
// that brought it, as system:position.
func poolState(t testing.TB, st *store.Store) string {
	t.Helper()
	ctx := context.Background()
	qext, _ := reverseIDs(st.QueryIDs(ctx))
	dext, _ := reverseIDs(st.DocumentIDs(ctx))
	systems, _ := st.Systems(ctx)
	brought := map[[2]int64][]string{}
	for _, s := range systems {
		lists, err := st.SystemPool(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range lists {
			for i, d := range l.Docs {
				k := [2]int64{l.QueryID, d}
				brought[k] = append(brought[k], fmt.Sprintf("%s:%d", s.Name, i+1))
			}
		}
	}
	rows, err := st.DB().Query(`SELECT query_id, doc_id, source FROM pairs`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var q, d int64
		var src string
		rows.Scan(&q, &d, &src)
		out = append(out, fmt.Sprintf("%s/%s %s %s", qext[q], dext[d], src, strings.Join(brought[[2]int64{q, d}], ",")))
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func poolWorkspace(t *testing.T) *store.Store {
	t.Helper()
	ctx := context.Background()
	st := newWorkspace(t, "0-3")
	err := st.Tx(ctx, func(tx *store.Store) error {
		for i := 1; i <= 6; i++ {
			d := store.Document{ExtID: fmt.Sprintf("d%d", i), Body: fmt.Sprintf("document %d", i)}
			if _, err := tx.PutDocument(ctx, &d, false); err != nil {
				return err
			}
		}
		for _, q := range []string{"q1", "q2"} {
			if _, err := tx.PutQuery(ctx, &store.Query{ExtID: q, Text: "text of " + q}, false); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// One pair exists already, graded by a human.
	qs, _ := st.QueryIDs(ctx)
	ds, _ := st.DocumentIDs(ctx)
	p := store.Pair{QueryID: qs["q1"], DocID: ds["d1"], Source: store.SourceImported}
	st.PutPair(ctx, &p)
	h, _ := st.EnsureLabeler(ctx, "human:x", store.KindHuman)
	if err := st.PutJudgment(ctx, &store.Judgment{PairID: p.ID, LabelerID: h.ID, Grade: 3, Status: store.StatusOK}); err != nil {
		t.Fatal(err)
	}
	// A: on q1, d1 and d2 tie and the rank column puts d1 first; the
	// metrics' order (ties by document id descending) puts d2 first.
	putSystem(t, st, "A", []runLine{{"q1", "d1", 5, 1}, {"q1", "d2", 5, 2}, {"q1", "d3", 4, 3}, {"q1", "d4", 1, 4}, {"q2", "d5", 1, 1}})
	putSystem(t, st, "B", []runLine{{"q1", "d4", 9, 2}, {"q1", "d3", 1, 1}, {"q2", "d6", 3, 1}, {"q2", "d5", 2, 2}})
	return st
}

func TestPoolTopKProvenanceAndIdempotence(t *testing.T) {
	ctx := context.Background()
	st := poolWorkspace(t)
	var progress []Progress
	res, err := Pool(ctx, st, PoolOptions{Depth: 2, Progress: func(p Progress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Pool != 6 || res.Added != 5 || res.Lists != 4 || res.Systems != 2 || res.Queries != 2 || fmt.Sprint(res.Graded) != "map[human:x:1]" {
		t.Fatalf("result %+v", res)
	}
	want := `q1/d1 imported A:2
q1/d2 pool A:1
q1/d3 pool B:2
q1/d4 pool B:1
q2/d5 pool A:1,B:2
q2/d6 pool B:1`
	if got := poolState(t, st); got != want {
		t.Fatalf("pool\n%s\nwant\n%s", got, want)
	}
	if res.Run.ID == 0 || res.Run.Kind != store.RunPooling || res.Run.Status != store.RunDone || res.Run.Done != 2 ||
		string(res.Run.Params) != `{"depth":2}` {
		t.Fatalf("run %+v params %s", res.Run, res.Run.Params)
	}
	if len(progress) == 0 || !progress[len(progress)-1].Finished {
		t.Fatalf("progress %+v", progress)
	}
	var runOfPair int64
	st.DB().QueryRow(`SELECT run_id FROM pairs p JOIN documents d ON d.id = p.doc_id WHERE d.ext_id = 'd2'`).Scan(&runOfPair)
	if runOfPair != res.Run.ID {
		t.Fatalf("pooled pair run %d, want %d", runOfPair, res.Run.ID)
	}

	// Pooling again adds nothing and records no run.
	before := poolState(t, st)
	var runs int
	st.DB().QueryRow(`SELECT count(*) FROM runs`).Scan(&runs)
	again, err := Pool(ctx, st, PoolOptions{Depth: 2})
	if err != nil || again.Added != 0 || again.Lists != 0 || again.Run.ID != 0 || again.Pool != 6 {
		t.Fatalf("second pooling %+v %v", again, err)
	}
	var runsAfter int
	st.DB().QueryRow(`SELECT count(*) FROM runs`).Scan(&runsAfter)
	if poolState(t, st) != before || runsAfter != runs {
		t.Fatal("second pooling changed the workspace")
	}

	// Deeper: A's d3 (position 3) is recorded for a pair B brought.
	deeper, err := Pool(ctx, st, PoolOptions{Depth: 3, Systems: []string{"A"}, Queries: []string{"q1"}})
	if err != nil || deeper.Added != 0 || deeper.Lists != 1 || deeper.Pool != 3 {
		t.Fatalf("deeper %+v %v", deeper, err)
	}
	if got := poolState(t, st); !strings.Contains(got, "q1/d3 pool A:3,B:2") {
		t.Fatalf("after depth 3:\n%s", got)
	}

	for _, c := range []struct {
		opt  PoolOptions
		want string
	}{
		{PoolOptions{Depth: 0}, "--depth"},
		{PoolOptions{Depth: 2, Systems: []string{"nope"}}, `no system "nope"`},
		{PoolOptions{Depth: 2, Queries: []string{"q9"}}, `no query "q9"`},
	} {
		if _, err := Pool(ctx, st, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.opt, err, c.want)
		}
	}
}

// TestPoolDepthOneBreaksTiesByDocID: two documents tie at the top; depth 1
// takes the larger id, whatever the rank column says.
func TestPoolDepthOneBreaksTiesByDocID(t *testing.T) {
	st := poolWorkspace(t)
	res, err := Pool(context.Background(), st, PoolOptions{Depth: 1, Systems: []string{"A"}, Queries: []string{"q1"}})
	if err != nil || res.Pool != 1 || res.Added != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := poolState(t, st); got != "q1/d1 imported \nq1/d2 pool A:1" {
		t.Fatalf("pool\n%s", got)
	}
}

// TestPoolInterruptedResumes: a pooling canceled after its first batch
// keeps that batch, and the rerun resumes the same run and ends with the
// pool an uninterrupted pooling builds.
func TestPoolInterruptedResumes(t *testing.T) {
	ctx := context.Background()
	build := func() *store.Store {
		st := newWorkspace(t, "0-3")
		synthPool(t, st, 130, 3, 10, 1)
		return st
	}
	whole := build()
	if _, err := Pool(ctx, whole, PoolOptions{Depth: 4}); err != nil {
		t.Fatal(err)
	}
	st := build()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	first, err := Pool(cctx, st, PoolOptions{Depth: 4, Progress: func(p Progress) {
		if p.Done > 0 {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("canceled pooling reported no error")
	}
	var pairs int
	st.DB().QueryRow(`SELECT count(*) FROM pairs`).Scan(&pairs)
	if pairs == 0 || poolState(t, st) == poolState(t, whole) {
		t.Fatalf("canceled pooling kept %d pairs: want the first batch only", pairs)
	}
	second, err := Pool(ctx, st, PoolOptions{Depth: 4})
	if err != nil {
		t.Fatal(err)
	}
	if second.Run.ID != first.Run.ID || second.Run.Status != store.RunDone || second.Run.Done != 130 {
		t.Fatalf("rerun %+v, first run %d", second.Run, first.Run.ID)
	}
	if poolState(t, st) != poolState(t, whole) {
		t.Fatal("interrupted and resumed pooling differs from an uninterrupted one")
	}
}

// synthPool fills a workspace with nq queries, each with a candidate set of
// 2*perQuery documents drawn from a shared corpus, and nsys systems that
// rank perQuery of them by true relevance plus noise of growing size. Some
// candidates already exist as human-graded pairs.
func synthPool(tb testing.TB, st *store.Store, nq, nsys, perQuery int, seed int64) {
	tb.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewSource(seed))
	ndocs := max(20*perQuery, 2*perQuery)
	cands := make([][]int, nq)
	rel := make([][]float64, nq)
	err := st.Tx(ctx, func(tx *store.Store) error {
		for i := 0; i < ndocs; i++ {
			d := store.Document{ExtID: fmt.Sprintf("doc%06d", i), Body: fmt.Sprintf("passage %d", i)}
			if _, err := tx.PutDocument(ctx, &d, false); err != nil {
				return err
			}
		}
		h, err := tx.EnsureLabeler(ctx, "human:imported", store.KindHuman)
		if err != nil {
			return err
		}
		for q := 0; q < nq; q++ {
			qq := store.Query{ExtID: fmt.Sprintf("q%05d", q), Text: fmt.Sprintf("query %d", q)}
			if _, err := tx.PutQuery(ctx, &qq, false); err != nil {
				return err
			}
			cands[q] = rng.Perm(ndocs)[:2*perQuery]
			rel[q] = make([]float64, len(cands[q]))
			for i := range rel[q] {
				rel[q][i] = rng.Float64() * 3
			}
			for i := 0; i < perQuery/10; i++ {
				p := store.Pair{QueryID: qq.ID, DocID: int64(cands[q][i] + 1), Source: store.SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
				if err := tx.PutJudgment(ctx, &store.Judgment{PairID: p.ID, LabelerID: h.ID, Grade: int(rel[q][i]), Status: store.StatusOK}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	qs, _ := st.QueryIDs(ctx)
	for s := 0; s < nsys; s++ {
		noise := 0.2 + 3*float64(s)/float64(max(nsys, 1))
		results := make([]store.SystemResult, 0, nq*perQuery)
		for q := 0; q < nq; q++ {
			pick := rng.Perm(len(cands[q]))[:perQuery]
			type scored struct {
				doc   int64
				score float64
			}
			list := make([]scored, len(pick))
			for i, c := range pick {
				// Scores rounded to a tenth, so ties are common, as in real runs.
				list[i] = scored{int64(cands[q][c] + 1), float64(int((rel[q][c]+rng.NormFloat64()*noise)*10)) / 10}
			}
			sort.Slice(list, func(i, j int) bool { return list[i].score > list[j].score })
			qid := qs[fmt.Sprintf("q%05d", q)]
			for i, l := range list {
				results = append(results, store.SystemResult{QueryID: qid, DocID: l.doc, Score: l.score, Rank: i + 1})
			}
		}
		sys := store.System{Name: fmt.Sprintf("sys%03d", s), ContentSHA256: fmt.Sprintf("synthetic-%d-%d", seed, s)}
		if _, err := st.PutSystem(ctx, &sys, results, false); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkPool1000Queries100SystemsDepth20 pools 1,000 queries × 100
// systems (100 documents each per query) at depth 20 into a fresh copy of
// a synthetic workspace each iteration: the whole path, from reading the
// ranked lists to committing the pairs and their provenance.
func BenchmarkPool1000Queries100SystemsDepth20(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	template := filepath.Join(dir, "template.db")
	st, err := store.Create(ctx, template, store.Scales["0-3"])
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	synthPool(b, st, 1000, 100, 100, 7)
	if _, err := st.DB().Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	st.Close()
	b.Logf("synthetic workspace built in %s", time.Since(t0).Round(time.Millisecond))
	var pool, added int
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path, cleanup, err := synthetic.Scratch(template, dir)
		if err != nil {
			b.Fatal(err)
		}
		ws, err := store.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		c0 := cputime.Process()
		b.StartTimer()
		res, err := Pool(ctx, ws, PoolOptions{Depth: 20})
		b.StopTimer()
		cpu += cputime.Process() - c0
		if err != nil {
			b.Fatal(err)
		}
		if res.Lists != 1000*100 {
			b.Fatalf("%d pool lists, want %d", res.Lists, 1000*100)
		}
		pool, added = res.Pool, res.Added
		ws.Close()
		cleanup()
		b.StartTimer()
	}
	// CPU seconds spent per pooling (not copying the workspace): on a
	// shared machine the wall time measures the neighbours too.
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(float64(pool), "pool-pairs")
	b.ReportMetric(float64(added), "added-pairs")
}
