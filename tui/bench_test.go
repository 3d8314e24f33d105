package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/internal/cputime"
	"github.com/qrelbench/qrelbench/internal/peakrss"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/synthetic"
)

// The benchmark workspaces. By default the workbench's own: 10,000
// queries × 100 documents = 1,000,000 pairs, graded by a teacher, a student
// (with probabilities) and lexical, plus 10,000 grades of a human; built
// once and cached in the temp dir. QRELBENCH_TUI_PAIRS=1m or 10m measures
// on the synthetic workspaces of `qrelbench bench` instead (store/synthetic:
// 1M or 10M pairs graded by a human reference, a student and a teacher),
// which the benchmarks never build: they skip when the cache is not there.
// QRELBENCH_TUI_PAIRS=PATH (a path with a slash) measures on that
// workspace. Every pair of a synthetic workspace has a human grade, so on
// those the copies ask for two human grades per pair (K = 2): annotators
// are then served pairs, as on a team's workspace.
//
// A cached workspace is never written: every benchmark that opens the
// workbench (which registers its annotator and leases pairs) or grades
// works on its own copy, made outside the timer when the benchmark starts
// and removed when the next one starts, so that a repeated run measures
// the same state. The rounds of one benchmark (Go runs it with b.N = 1
// first, then with more) continue on the same copy and the same open
// workbench: on 10M pairs a round would otherwise spend minutes copying
// and loading for a few keys.
// Benchmarks that only read (the index load, the poll) read the cache
// read-only.
const (
	benchVersion = "v1"
	benchQueries = 10000
	benchDocs    = 100
)

// benchSpace is the cached workspace the benchmarks measure on.
type benchSpace struct {
	path  string
	pairs int
	k     int // K for the copies (0: as the workspace says)
}

var (
	benchOnce  sync.Once
	benchSpec  benchSpace
	benchErr   error
	benchSkip  string
	benchSizes = map[string]synthetic.Params{
		"1m":  {Queries: 10_000, PerQuery: 100, Docs: 100_000},
		"10m": {Queries: 100_000, PerQuery: 100, Docs: 1_000_000},
	}
)

// benchTemplate resolves (and, for the default one, builds once) the
// cached workspace; it is never written.
func benchTemplate(b *testing.B) benchSpace {
	b.Helper()
	benchOnce.Do(func() {
		size := os.Getenv("QRELBENCH_TUI_PAIRS")
		if strings.Contains(size, "/") {
			benchSpec = benchSpace{path: size, k: 2}
			st, err := store.OpenReadOnly(context.Background(), size)
			if err != nil {
				benchErr = err
				return
			}
			defer st.Close()
			benchErr = st.DB().QueryRow(`SELECT count(*) FROM pairs`).Scan(&benchSpec.pairs)
			return
		}
		if size != "" && size != "tui" {
			p, ok := benchSizes[size]
			if !ok {
				benchErr = fmt.Errorf("QRELBENCH_TUI_PAIRS=%q: want tui, 1m or 10m", size)
				return
			}
			path, built := synthetic.CachedPath(synthetic.CacheDir(), p)
			if !built {
				benchSkip = fmt.Sprintf("%s is not built (qrelbench bench --sizes %s builds it)", path, size)
				return
			}
			benchSpec = benchSpace{path: path, pairs: p.Pairs(), k: 2}
			return
		}
		path := filepath.Join(os.TempDir(), fmt.Sprintf("qrelbench-tui-bench-%s-s%d.db", benchVersion, store.SchemaVersion()))
		benchSpec = benchSpace{path: path, pairs: benchQueries * benchDocs}
		if _, err := os.Stat(path); err == nil {
			return
		}
		benchErr = buildBenchWorkspace(path + ".tmp")
		if benchErr == nil {
			benchErr = os.Rename(path+".tmp", path)
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	if benchSkip != "" {
		b.Skip(benchSkip)
	}
	return benchSpec
}

// benchReadOnly opens the cached workspace read-only.
func benchReadOnly(b *testing.B) (*store.Store, benchSpace) {
	b.Helper()
	ws := benchTemplate(b)
	st, err := store.OpenReadOnly(context.Background(), ws.path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st, ws
}

// benchLive is the copy the benchmark running now works on, and the
// workbench it opened there.
var benchLive struct {
	name    string
	st      *store.Store
	ws      benchSpace
	d       *driver
	release func()
}

func releaseLive() {
	if benchLive.release != nil {
		benchLive.release()
	}
	benchLive.name, benchLive.st, benchLive.d, benchLive.release = "", nil, nil, nil
}

func TestMain(m *testing.M) {
	code := m.Run()
	releaseLive()
	os.Exit(code)
}

// benchScratch opens this benchmark's private copy of the cached
// workspace (made at its first round).
func benchScratch(b *testing.B) (*store.Store, benchSpace) {
	b.Helper()
	if benchLive.name == b.Name() {
		return benchLive.st, benchLive.ws
	}
	releaseLive()
	ws := benchTemplate(b)
	path, cleanup, err := synthetic.Scratch(ws.path, os.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	st, err := store.Open(context.Background(), path)
	if err != nil {
		cleanup()
		b.Fatal(err)
	}
	benchLive.name, benchLive.st = b.Name(), st
	benchLive.release = func() {
		st.Close()
		cleanup()
	}
	if ws.k > 0 {
		if err := st.SetAssignK(context.Background(), ws.k); err != nil {
			b.Fatal(err)
		}
	}
	ws.path = path
	benchLive.ws = ws
	return st, ws
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

// benchDriver opens the workbench on this benchmark's copy with
// everything loaded (the browse index too), at its first round.
func benchDriver(b *testing.B, st *store.Store) *driver {
	if benchLive.d != nil && benchLive.st == st {
		benchLive.d.t = b
		return benchLive.d
	}
	d := newDriver(b, &fixture{st: st}, Options{Annotator: "bench", Blind: true}, 120, 40)
	if benchLive.st == st {
		benchLive.d = d
	}
	return d
}

// keyTimer measures, beside the whole path a benchmark times (a key, the
// commands it starts and the messages they return, and the frame after),
// the part the annotator waits for before anything else can happen: the
// key's Update and the View right after it. Reported as key-ms/op (wall)
// and key-cpu-ms/op.
type keyTimer struct {
	wall, cpu time.Duration
	n         int
}

// press sends one key, runs what it started and draws the frame after.
func (kt *keyTimer) press(d *driver, k string) {
	t0, c0 := time.Now(), cputime.Process()
	_, cmd := d.m.Update(keyMsg(k))
	_ = d.m.View()
	kt.wall += time.Since(t0)
	kt.cpu += cputime.Process() - c0
	kt.n++
	d.run(cmd)
	_ = d.m.View()
}

func (kt *keyTimer) report(b *testing.B) {
	if kt.n == 0 {
		return
	}
	b.ReportMetric(kt.wall.Seconds()*1000/float64(kt.n), "key-ms/op")
	if kt.cpu > 0 {
		b.ReportMetric(kt.cpu.Seconds()*1000/float64(kt.n), "key-cpu-ms/op")
	}
}

// cycleKeys times b.N presses cycling through seq, after one untimed pass
// through it (so that every input has been seen once: a warm measurement),
// and reports the whole path, its CPU time and the key's own share.
func cycleKeys(b *testing.B, d *driver, seq []string) {
	var warm keyTimer
	for _, k := range seq {
		warm.press(d, k)
	}
	var kt keyTimer
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		kt.press(d, seq[i%len(seq)])
	}
	cputime.Report(b, cpu)
	b.StopTimer()
	kt.report(b)
}

// benchAnnotators are the annotators BenchmarkFirstFrame cycles through.
const benchAnnotators = 8

// BenchmarkFirstFrame: opening the workbench until its first frame shows a
// pair to grade: the model made, the terminal's size, Init's startup
// command executed and its message handled, and the first View, for
// returning annotators in turn (each has graded nothing and holds a lease
// from an earlier session). The browse index loads in the background and
// is not waited for (see BenchmarkIndexLoad). cold: each open is a new
// connection pool (empty SQLite caches, schema read again), as a new
// process has (the operating system's file cache is warm: the copy was
// just written); warm: the same pool, opened before.
func BenchmarkFirstFrame(b *testing.B) {
	for _, cold := range []bool{true, false} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			st, ws := benchScratch(b)
			open := func(i int) (*Model, func()) {
				s, done := st, func() {}
				if cold {
					var err error
					if s, err = store.Open(context.Background(), ws.path); err != nil {
						b.Fatal(err)
					}
					done = func() { s.Close() }
				}
				m := newModel(context.Background(), s, Options{Annotator: fmt.Sprintf("bench-%d", i%benchAnnotators), Blind: true})
				m.ticks = false
				return m, done
			}
			frame := func(m *Model) {
				m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
				m.Update(m.bootCmd()())
				_ = m.View()
				if m.grade.cur == nil {
					b.Fatal("no pair on the first frame")
				}
			}
			for i := 0; i < benchAnnotators; i++ { // each annotator's first session
				m, done := open(i)
				frame(m)
				done()
			}
			b.ResetTimer()
			cpu := cputime.Process()
			for i := 0; i < b.N; i++ {
				m, done := open(i)
				frame(m)
				b.StopTimer()
				done()
				b.StartTimer()
			}
			cputime.Report(b, cpu)
		})
	}
}

// BenchmarkIndexLoad: the background load of the browse index (every
// pair and every labeler's current grade), with the peak RSS of the
// process while it runs. cold: a new connection pool each time; warm: the
// same one.
func BenchmarkIndexLoad(b *testing.B) {
	for _, cold := range []bool{true, false} {
		name := "warm"
		if cold {
			name = "cold"
		}
		b.Run(name, func(b *testing.B) {
			st, ws := benchReadOnly(b)
			runtime.GC()
			peakrss.Reset()
			b.ResetTimer()
			cpu := cputime.Process()
			for i := 0; i < b.N; i++ {
				s := st
				if cold {
					var err error
					if s, err = store.OpenReadOnly(context.Background(), ws.path); err != nil {
						b.Fatal(err)
					}
				}
				x, err := buildIndex(context.Background(), s, 0, nil)
				if err != nil {
					b.Fatal(err)
				}
				if x.n() != ws.pairs {
					b.Fatalf("%d pairs", x.n())
				}
				if cold {
					s.Close()
				}
			}
			cputime.Report(b, cpu)
			b.ReportMetric(float64(peakrss.Bytes())/(1<<20), "peak-MB")
		})
	}
}

// BenchmarkBrowseMove: j (k on the way back, every 500) in Browse.
func BenchmarkBrowseMove(b *testing.B) {
	st, _ := benchScratch(b)
	d := benchDriver(b, st)
	d.run(d.m.show(scrBrowse))
	if d.m.browse.idx == nil {
		b.Fatal("no index")
	}
	seq := make([]string, 1000)
	for i := range seq {
		seq[i] = "j"
		if i >= 500 {
			seq[i] = "k"
		}
	}
	cycleKeys(b, d, seq)
}

// BenchmarkBrowseFilter: f, cycling through every preset filter.
func BenchmarkBrowseFilter(b *testing.B) {
	st, _ := benchScratch(b)
	d := benchDriver(b, st)
	d.run(d.m.show(scrBrowse))
	seq := make([]string, numFilters)
	for i := range seq {
		seq[i] = "f"
	}
	cycleKeys(b, d, seq)
}

// BenchmarkBrowseSearch: one key typed into Browse's search, cycling "vpn"
// in and out: the whole-word lookup in the query and document indexes
// (its command), the filter pass and View.
func BenchmarkBrowseSearch(b *testing.B) {
	st, ws := benchScratch(b)
	d := benchDriver(b, st)
	d.run(d.m.show(scrBrowse))
	if d.m.input != nil {
		d.keys("esc") // an earlier round's search, cleared
	}
	d.keys("/")
	typed := []string{"v", "p", "n", "backspace", "backspace", "backspace"}
	var warm keyTimer
	for _, k := range typed[:3] {
		warm.press(d, k)
	}
	if n := d.m.browse.count(); n == 0 || n == ws.pairs {
		b.Fatalf("vpn: %d rows", n)
	}
	for _, k := range typed[3:] {
		warm.press(d, k)
	}
	var kt keyTimer
	b.ResetTimer()
	cpu := cputime.Process()
	for i := 0; i < b.N; i++ {
		kt.press(d, typed[i%len(typed)])
	}
	cputime.Report(b, cpu)
	b.StopTimer()
	kt.report(b)
}

// BenchmarkBrowseSort: → then o, cycling through every column (the title
// column's key is read once, in the untimed first pass), ascending one
// time round and descending the next.
func BenchmarkBrowseSort(b *testing.B) {
	st, _ := benchScratch(b)
	d := benchDriver(b, st)
	d.run(d.m.show(scrBrowse))
	var seq []string
	for i := 0; i < d.m.browse.numCols(); i++ {
		seq = append(seq, "right", "o")
	}
	cycleKeys(b, d, seq)
}

// BenchmarkScreenSwitch: tab through every screen and back to Grade, with
// what each screen loads on the way (Stats' figures over every pair).
func BenchmarkScreenSwitch(b *testing.B) {
	st, _ := benchScratch(b)
	d := benchDriver(b, st)
	d.run(d.m.show(scrGrade))
	seq := make([]string, len(d.m.tabs()))
	for i := range seq {
		seq[i] = "tab"
	}
	cycleKeys(b, d, seq)
	if d.m.screen != scrGrade && b.N%len(seq) == 0 {
		b.Fatalf("on %s after whole cycles", screenNames[d.m.screen])
	}
}

// BenchmarkGrade: a grade key on the Grade screen, cycling through the
// grades, with its commands (the committed write, the draw of the next
// pair) and the next View.
func BenchmarkGrade(b *testing.B) {
	st, _ := benchScratch(b)
	d := benchDriver(b, st)
	cycleKeys(b, d, []string{"0", "1", "2", "3"})
	if d.m.grade.cur == nil {
		b.Fatal("ran out of pairs")
	}
}

// BenchmarkGradeKeyOnly: the Update and View a grade key costs before its
// commands run (what the annotator waits for).
func BenchmarkGradeKeyOnly(b *testing.B) {
	st, _ := benchScratch(b)
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
// first. Reports the grade latency and the background write rate (CPU
// time is not reported: the writer's would count).
func BenchmarkGradeWhileLabeling(b *testing.B) {
	st, ws := benchScratch(b)
	bg, err := store.Open(context.Background(), ws.path)
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
				id := (next+int64(i))%int64(ws.pairs) + 1
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
	var kt keyTimer
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		kt.press(d, string(rune('0'+i%4)))
	}
	b.StopTimer()
	elapsed := time.Since(start) + 200*time.Millisecond
	close(stop)
	written := <-done
	b.ReportMetric(float64(written)/elapsed.Seconds(), "background-judgments/s")
	b.ReportMetric(kt.wall.Seconds()*1000/float64(kt.n), "key-ms/op")
}

// BenchmarkPoll: one reading of the change markers the workbench polls
// every tick (store.Changes).
func BenchmarkPoll(b *testing.B) {
	st, _ := benchReadOnly(b)
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

// liveWrites counts liveWrite's calls: each adds a query of its own.
var liveWrites int

// liveWrite is what another process writes between two ticks while a
// labeling run goes: 500 model judgments (the pipeline's flush) and, every
// iteration, a new query with 10 pairs.
func liveWrite(b *testing.B, other *store.Store, lab store.Labeler, pairs int) {
	ctx := context.Background()
	liveWrites++
	i := liveWrites
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
			id := int64((i*500+k)%pairs + 1)
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
	st, ws := benchScratch(b)
	other, lab := liveWriter(b, st)
	d := benchDriver(b, st)
	if d.m.browse.sortCol < 0 {
		d.keys("tab", "right", "right", "o")
	}
	n0 := d.m.browse.idx.n()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		liveWrite(b, other, lab, ws.pairs)
		b.StartTimer()
		d.send(tickMsg{})
		_ = d.m.View()
	}
	b.StopTimer()
	if n := d.m.browse.idx.n(); n != n0+10*b.N {
		b.Fatalf("%d pairs in the index", n)
	}
}

// BenchmarkLiveRefreshUpdate: the part of a tick that runs in Update, so
// delays a key pressed meanwhile: applying 500 changed cells and 10 new
// pairs to the index, refiltering and resorting, and View.
func BenchmarkLiveRefreshUpdate(b *testing.B) {
	st, ws := benchScratch(b)
	other, lab := liveWriter(b, st)
	d := benchDriver(b, st)
	if d.m.browse.sortCol < 0 {
		d.keys("tab", "right", "right", "o")
	}
	m := d.m
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		liveWrite(b, other, lab, ws.pairs)
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
		lab, err = other.Labeler(context.Background(), "teacher")
	}
	if err != nil {
		b.Fatal(err)
	}
	return other, lab
}
