package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/internal/cputime"
	"github.com/qrelbench/qrelbench/store"
)

// The benchmark workspace: 10,000 queries × 100 documents = 1,000,000
// pairs, graded by a teacher, a student (with probabilities) and lexical,
// plus 10,000 grades of a human. Built once and cached in the temp dir.
const (
	benchVersion = "v1"
	benchQueries = 10000
	benchDocs    = 100
)

var (
	benchOnce sync.Once
	benchPath string
	benchErr  error
)

func benchWorkspace(b *testing.B) *store.Store {
	b.Helper()
	benchOnce.Do(func() {
		benchPath = filepath.Join(os.TempDir(), fmt.Sprintf("qrelbench-tui-bench-%s-s%d.db", benchVersion, store.SchemaVersion()))
		if _, err := os.Stat(benchPath); err == nil {
			return
		}
		benchErr = buildBenchWorkspace(benchPath + ".tmp")
		if benchErr == nil {
			benchErr = os.Rename(benchPath+".tmp", benchPath)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	st, err := store.Open(context.Background(), benchPath)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func buildBenchWorkspace(path string) error {
	ctx := context.Background()
	os.Remove(path)
	st, err := store.Create(ctx, path, store.Scales["0-3"])
	if err != nil {
		return err
	}
	defer st.Close()
	words := strings.Fields("vpn password reset expense policy travel laptop printer badge access holiday payroll benefits onboarding security wifi email calendar meeting room parking")
	labs := []store.Labeler{
		{Name: "teacher", Kind: store.KindLLM, Role: "teacher", Model: "big"},
		{Name: "student", Kind: store.KindStudent, Role: "student"},
		{Name: "human:bob", Kind: store.KindHuman},
	}
	err = st.Tx(ctx, func(tx *store.Store) error {
		for i := 0; i < benchDocs; i++ {
			d := store.Document{ExtID: fmt.Sprintf("d%d", i), Title: fmt.Sprintf("%s %s guide %d", words[i%len(words)], words[(i*7)%len(words)], i),
				Body: strings.Repeat(fmt.Sprintf("How to handle %s and %s at work. ", words[i%len(words)], words[(i*3)%len(words)]), 40)}
			if _, err := tx.PutDocument(ctx, &d, false); err != nil {
				return err
			}
		}
		for i := 0; i < benchQueries; i++ {
			q := store.Query{ExtID: fmt.Sprintf("q%d", i), Text: fmt.Sprintf("%s %s %d", words[i%len(words)], words[(i/len(words))%len(words)], i)}
			if _, err := tx.PutQuery(ctx, &q, false); err != nil {
				return err
			}
		}
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
	lex, err := st.Labeler(ctx, "lexical")
	if err != nil {
		return err
	}
	db := st.DB()
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmts := []struct {
		q    string
		args []any
	}{
		{`INSERT INTO pairs(query_id, doc_id, source, created_at) SELECT q.id, d.id, 'imported', '2025-01-01' FROM queries q, documents d ORDER BY q.id, d.id`, nil},
		{`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) SELECT id, ?, (id * 7 + id / 13) % 4, 'ok', '2025-01-01', '2025-01-01' FROM pairs`, []any{labs[0].ID}},
		{`INSERT INTO judgments(pair_id, labeler_id, grade, status, probs, expected, created_at, updated_at)
			SELECT id, ?, g, 'ok', CASE id % 5 WHEN 0 THEN '[0.25,0.25,0.25,0.25]' ELSE '[' || (g = 0) * 0.9 || ',' || (g = 1) * 0.9 || ',' || (g = 2) * 0.9 || ',' || (g = 3) * 0.9 || ']' END, g, '2025-01-01', '2025-01-01'
			FROM (SELECT id, (id * 7 + id / 11) % 4 AS g FROM pairs)`, []any{labs[1].ID}},
		{`INSERT INTO judgments(pair_id, labeler_id, grade, status, created_at, updated_at) SELECT id, ?, (id * 3) % 4, 'ok', '2025-01-01', '2025-01-01' FROM pairs`, []any{lex.ID}},
		{`INSERT INTO judgments(pair_id, labeler_id, grade, status, latency_ms, created_at, updated_at) SELECT id, ?, (id * 7) % 4, 'ok', 5000, '2025-01-01', '2025-01-01' FROM pairs WHERE id % 100 = 0`, []any{labs[2].ID}},
	}
	for _, s := range stmts {
		if _, err := tx.Exec(s.q, s.args...); err != nil {
			return fmt.Errorf("%s: %w", s.q[:40], err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	_, err = db.Exec(`ANALYZE`)
	return err
}

// benchDriver opens the workbench on the big workspace with everything
// loaded (the browse index too).
func benchDriver(b *testing.B, st *store.Store) *driver {
	f := &fixture{st: st}
	return newDriver(b, f, Options{Annotator: "bench", Blind: true}, 120, 40)
}

// BenchmarkFirstFrame: Init's startup command executed, its message
// handled, and the first View. (The browse index loads concurrently in the
// background; see BenchmarkIndexLoad.)
func BenchmarkFirstFrame(b *testing.B) {
	st := benchWorkspace(b)
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		m := newModel(context.Background(), st, Options{Annotator: "bench", Blind: true})
		m.ticks = false
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		msg := m.bootCmd()()
		m.Update(msg)
		_ = m.View()
		if m.grade.cur == nil {
			b.Fatal("no pair on the first frame")
		}
	}
	cputime.Report(b, cpu)
}

// BenchmarkIndexLoad: the background load of the browse index (per-pair
// grade summaries of 1M pairs × 4 labelers).
func BenchmarkIndexLoad(b *testing.B) {
	st := benchWorkspace(b)
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		x, err := buildIndex(context.Background(), st, 0)
		if err != nil {
			b.Fatal(err)
		}
		if len(x.ids) != benchQueries*benchDocs {
			b.Fatalf("%d pairs", len(x.ids))
		}
	}
	cputime.Report(b, cpu)
}

// BenchmarkBrowseMove: j (or k at the bottom) in Browse, commands run, View.
func BenchmarkBrowseMove(b *testing.B) {
	st := benchWorkspace(b)
	d := benchDriver(b, st)
	d.keys("tab")
	if d.m.browse.idx == nil {
		b.Fatal("no index")
	}
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		if (i/500)%2 == 0 {
			d.keys("j")
		} else {
			d.keys("k")
		}
		_ = d.m.View()
	}
	cputime.Report(b, cpu)
}

// BenchmarkBrowseFilter: f (the next preset filter over 1M pairs), View.
func BenchmarkBrowseFilter(b *testing.B) {
	st := benchWorkspace(b)
	d := benchDriver(b, st)
	d.keys("tab")
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		d.keys("f")
		_ = d.m.View()
	}
	cputime.Report(b, cpu)
}

// BenchmarkBrowseSearch: one key typed into Browse's search over 1M
// pairs, cycling "vpn" in and out: the whole-word lookup in the query and
// document indexes (its command), the filter pass and View.
func BenchmarkBrowseSearch(b *testing.B) {
	st := benchWorkspace(b)
	d := benchDriver(b, st)
	d.keys("tab")
	d.keys("/")
	typed := []string{"v", "p", "n", "backspace", "backspace", "backspace"}
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		d.keys(typed[i%len(typed)])
		_ = d.m.View()
	}
	cputime.Report(b, cpu)
	b.StopTimer()
	if n := len(d.m.browse.rows); b.N%len(typed) == 3 && (n == 0 || n == benchQueries*benchDocs) {
		b.Fatalf("vpn: %d rows", n)
	}
}

// BenchmarkBrowseSort: o on a grade column (counting sort of 1M rows), View.
func BenchmarkBrowseSort(b *testing.B) {
	st := benchWorkspace(b)
	d := benchDriver(b, st)
	d.keys("tab", "right", "right")
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		d.keys("o")
		_ = d.m.View()
	}
	cputime.Report(b, cpu)
}

// BenchmarkGrade: a grade key on the Grade screen with its commands (the
// committed write, the prefetch of the next pair) and the next View.
func BenchmarkGrade(b *testing.B) {
	st := benchWorkspace(b)
	d := benchDriver(b, st)
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		d.keys(string(rune('0' + i%4)))
		_ = d.m.View()
	}
	cputime.Report(b, cpu)
	b.StopTimer()
	if d.m.grade.cur == nil {
		b.Fatal("ran out of pairs")
	}
}

// BenchmarkGradeKeyOnly: the Update and View a key press costs before its
// commands run (what the annotator waits for).
func BenchmarkGradeKeyOnly(b *testing.B) {
	st := benchWorkspace(b)
	d := benchDriver(b, st)
	var pending []tea.Cmd
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, cmd := d.m.Update(keyMsg(string(rune('0' + i%4))))
		_ = d.m.View()
		b.StopTimer()
		pending = append(pending[:0], cmd)
		for _, c := range pending {
			d.run(c)
		}
		b.StartTimer()
	}
}

// BenchmarkGradeWhileLabeling: grading while a background labeling run in
// the same process (as one started from the Runs screen; here on a second
// connection pool of the same file) commits model judgments in batches of
// 500, the pipeline's flush size, as fast as it can. The run writes through
// Store.Background, as the pipeline does, so the annotator's writes go
// first. Reports the grade latency and the background write rate.
func BenchmarkGradeWhileLabeling(b *testing.B) {
	st := benchWorkspace(b)
	bg, err := store.Open(context.Background(), benchPath)
	if err != nil {
		b.Fatal(err)
	}
	defer bg.Close()
	ctx := context.Background()
	lab, err := bg.EnsureLabeler(ctx, "bench-background", store.KindLLM)
	if err != nil {
		b.Fatal(err)
	}
	d := benchDriver(b, st)
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		written := 0
		batch := make([]store.Judgment, 500)
		for next := int64(1); ; next += int64(len(batch)) {
			select {
			case <-stop:
				done <- written
				return
			default:
			}
			for i := range batch {
				id := (next+int64(i))%(benchQueries*benchDocs) + 1
				batch[i] = store.Judgment{PairID: id, LabelerID: lab.ID, Grade: int(id % 4), Status: store.StatusOK, TokensIn: 300, TokensOut: 5}
			}
			if err := bg.Background().PutJudgments(ctx, batch); err != nil {
				b.Error(err)
				done <- written
				return
			}
			written += len(batch)
		}
	}()
	time.Sleep(200 * time.Millisecond) // let the writer get going
	start := time.Now()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d.keys(string(rune('0' + i%4)))
		_ = d.m.View()
	}
	b.StopTimer()
	elapsed := time.Since(start) + 200*time.Millisecond
	close(stop)
	written := <-done
	b.ReportMetric(float64(written)/elapsed.Seconds(), "background-judgments/s")
}

// benchCopy is a private copy of the benchmark workspace, for benchmarks
// that write (the cached workspace must stay as built).
func benchCopy(b *testing.B) *store.Store {
	b.Helper()
	st := benchWorkspace(b)
	path := filepath.Join(b.TempDir(), "copy.db")
	if _, err := st.DB().Exec(`VACUUM INTO ?`, path); err != nil {
		b.Fatal(err)
	}
	cp, err := store.Open(context.Background(), path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cp.Close() })
	return cp
}

// BenchmarkPoll: one reading of the change markers the workbench polls
// every tick (store.Changes on 1M pairs).
func BenchmarkPoll(b *testing.B) {
	st := benchWorkspace(b)
	ctx := context.Background()
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		if _, err := st.Changes(ctx); err != nil {
			b.Fatal(err)
		}
	}
	cputime.Report(b, cpu)
}

// liveWrite is what another process writes between two ticks while a
// labeling run goes: 500 model judgments (the pipeline's flush) and, every
// iteration, a new query with 10 pairs.
func liveWrite(b *testing.B, other *store.Store, lab store.Labeler, i int) {
	ctx := context.Background()
	err := other.Tx(ctx, func(tx *store.Store) error {
		q := store.Query{ExtID: fmt.Sprintf("live-%d", i), Text: fmt.Sprintf("live query %d printer", i)}
		if _, err := tx.PutQuery(ctx, &q, false); err != nil {
			return err
		}
		for d := int64(1); d <= 10; d++ {
			p := store.Pair{QueryID: q.ID, DocID: d, Source: store.SourceBM25}
			if _, err := tx.PutPair(ctx, &p); err != nil {
				return err
			}
		}
		batch := make([]store.Judgment, 500)
		for k := range batch {
			id := int64((i*500+k)%(benchQueries*benchDocs) + 1)
			batch[k] = store.Judgment{PairID: id, LabelerID: lab.ID, Grade: int(id % 4), Status: store.StatusOK}
		}
		return tx.PutJudgments(ctx, batch)
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLiveRefresh: one tick while another process labels and adds
// pairs, on Browse sorted by a grade column: the poll, the read of what
// changed, its application to the index (new rows, changed cells, the view
// refiltered and resorted with the selection kept) and the next View. Only
// the last two run in Update (see BenchmarkLiveRefreshUpdate); the reads
// are commands.
func BenchmarkLiveRefresh(b *testing.B) {
	st := benchCopy(b)
	other, lab := liveWriter(b, st)
	d := benchDriver(b, st)
	d.keys("tab", "right", "right", "o")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		liveWrite(b, other, lab, i)
		b.StartTimer()
		d.send(tickMsg{})
		_ = d.m.View()
	}
	b.StopTimer()
	if n := len(d.m.browse.idx.ids); n != benchQueries*benchDocs+10*b.N {
		b.Fatalf("%d pairs in the index", n)
	}
}

// BenchmarkLiveRefreshUpdate: the part of a tick that runs in Update, so
// delays a key pressed meanwhile: applying 500 changed cells and 10 new
// pairs to the 1M-pair index, refiltering and resorting, and View.
func BenchmarkLiveRefreshUpdate(b *testing.B) {
	st := benchCopy(b)
	other, lab := liveWriter(b, st)
	d := benchDriver(b, st)
	d.keys("tab", "right", "right", "o")
	m := d.m
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		liveWrite(b, other, lab, i)
		msg := m.browse.refreshCmd(m)()
		b.StartTimer()
		t0 := cputime.Process()
		_, cmd := m.Update(msg)
		_ = m.View()
		cpu += cputime.Process() - t0
		b.StopTimer()
		d.run(cmd)
		b.StartTimer()
	}
	if cpu > 0 {
		b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
	}
}

func liveWriter(b *testing.B, st *store.Store) (*store.Store, store.Labeler) {
	other, err := store.Open(context.Background(), st.Path())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { other.Close() })
	lab, err := other.Labeler(context.Background(), "lexical")
	if err != nil {
		b.Fatal(err)
	}
	return other, lab
}
