package tui

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// ---- workspace ----------------------------------------------------------

type fixture struct {
	st      *store.Store
	pairs   []int64 // in grading order: q1 d1..d3, q2 d1..d3
	teacher store.Labeler
	student store.Labeler
}

// newFixture makes a workspace of 2 queries × 3 documents with teacher,
// student and lexical grades on some pairs.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	st := emptyStore(t)
	f := &fixture{st: st}
	mod := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	docs := []store.Document{
		{ExtID: "d1", Title: "Resetting your VPN password", Body: "To reset the VPN password open the self-service portal.\nPasswords expire every 90 days.", Author: "IT Helpdesk", URL: "wiki/it/vpn-reset", Type: "page", Modified: mod},
		{ExtID: "d2", Title: "Cafeteria menu", Body: "Monday: soup. Tuesday: pasta. Nothing about passwords here.", Author: "Facilities", Type: "pdf", Modified: mod},
		{ExtID: "d3", Title: "Expense policy", Body: strings.Repeat("Expenses must be filed within thirty days of purchase with receipts attached. ", 30), Author: "Finance", Type: "doc", Modified: mod},
	}
	for i := range docs {
		if _, err := st.PutDocument(ctx, &docs[i], false); err != nil {
			t.Fatal(err)
		}
	}
	qs := []store.Query{{ExtID: "q1", Text: "reset vpn password"}, {ExtID: "q2", Text: "expense deadline"}}
	for i := range qs {
		if _, err := st.PutQuery(ctx, &qs[i], false); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range qs {
		for _, d := range docs {
			p := store.Pair{QueryID: q.ID, DocID: d.ID, Source: store.SourceImported}
			if _, err := st.PutPair(ctx, &p); err != nil {
				t.Fatal(err)
			}
			f.pairs = append(f.pairs, p.ID)
		}
	}
	f.teacher = store.Labeler{Name: "teacher", Kind: store.KindLLM, Role: "teacher", Model: "big"}
	f.student = store.Labeler{Name: "student", Kind: store.KindStudent, Role: "student"}
	for _, l := range []*store.Labeler{&f.teacher, &f.student} {
		if err := st.AddLabeler(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	put := func(pair int64, l store.Labeler, g int, probs []float64, reason string) {
		j := store.Judgment{PairID: pair, LabelerID: l.ID, Grade: g, Status: store.StatusOK, Probs: probs, Reason: reason, TokensIn: 120, TokensOut: 8, LatencyMS: 350, CostUSD: 0.0002}
		if err := st.PutJudgment(ctx, &j); err != nil {
			t.Fatal(err)
		}
	}
	// teacher: 3 0 1 | 0 0 2 ; student: 3 1 1 | 0 2 2 (uncertain on p5)
	tg := []int{3, 0, 1, 0, 0, 2}
	sg := []int{3, 1, 1, 0, 2, 2}
	for i, p := range f.pairs {
		put(p, f.teacher, tg[i], nil, fmt.Sprintf("teacher says %d", tg[i]))
		probs := []float64{0, 0, 0, 0}
		probs[sg[i]] = 0.9
		probs[sg[i]+1-2*(sg[i]/3)] = 0.1
		if i == 4 {
			probs = []float64{0.3, 0.2, 0.3, 0.2}
		}
		put(p, f.student, sg[i], probs, "")
	}
	return f
}

// emptyStore is a new workspace (scale 0-3), closed when the test ends.
func emptyStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Create(context.Background(), filepath.Join(t.TempDir(), "w.db"), store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// ---- driver -------------------------------------------------------------

// driver feeds messages to the model and executes the commands it returns
// synchronously, feeding their messages back (batches and sequences too).
type driver struct {
	t     testing.TB
	m     *Model
	clock time.Time
	quit  bool
}

func newDriver(t testing.TB, f *fixture, opts Options, w, h int) *driver {
	t.Helper()
	if opts.Annotator == "" {
		opts.Annotator = "alice"
	}
	d := &driver{t: t, clock: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
	m := newModel(context.Background(), f.st, opts)
	m.ticks = false
	m.now = func() time.Time { return d.clock }
	d.m = m
	d.run(m.Init())
	d.send(tea.WindowSizeMsg{Width: w, Height: h})
	return d
}

func (d *driver) send(msg tea.Msg) {
	_, cmd := d.m.Update(msg)
	d.run(cmd)
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	msg := cmd()
	switch msg := msg.(type) {
	case nil:
		return
	case tea.QuitMsg:
		d.quit = true
		return
	case tea.BatchMsg:
		for _, c := range msg {
			d.run(c)
		}
		return
	}
	// tea.Sequence's message type is unexported: a slice of commands.
	if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
		for i := 0; i < v.Len(); i++ {
			d.run(v.Index(i).Interface().(tea.Cmd))
		}
		return
	}
	d.send(msg)
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

// keys presses each key in turn ("2", "tab", …).
func (d *driver) keys(ks ...string) {
	for _, k := range ks {
		d.send(keyMsg(k))
	}
}

// typeText types a string into an open input.
func (d *driver) typeText(s string) {
	for _, r := range s {
		d.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func (d *driver) screen() string { return ansi.Strip(d.m.render()) }

func (d *driver) curPair() int64 {
	if d.m.grade.cur == nil {
		return 0
	}
	return d.m.grade.cur.view.ID
}

func (d *driver) mine(pair int64) (store.Judgment, bool) {
	d.t.Helper()
	j, ok, err := d.m.st.Judgment(context.Background(), pair, d.m.me.ID)
	if err != nil {
		d.t.Fatal(err)
	}
	return j, ok
}

// ---- behaviour ----------------------------------------------------------

func TestGradeSkipUnsureUndo(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Blind: true}, 100, 30)
	if d.m.me.Name != "human:alice" || d.m.me.Kind != store.KindHuman {
		t.Fatalf("annotator labeler = %+v", d.m.me)
	}
	if got := d.curPair(); got != f.pairs[0] {
		t.Fatalf("first pair = %d, want %d", got, f.pairs[0])
	}
	d.clock = d.clock.Add(4200 * time.Millisecond)
	d.keys("2")
	j, ok := d.mine(f.pairs[0])
	if !ok || j.Status != store.StatusOK || j.Grade != 2 {
		t.Fatalf("after 2: judgment %+v ok=%v", j, ok)
	}
	if j.LatencyMS != 4200 {
		t.Errorf("time on task = %v ms, want 4200", j.LatencyMS)
	}
	if got := d.curPair(); got != f.pairs[1] {
		t.Fatalf("after grading: pair %d, want %d", got, f.pairs[1])
	}
	// Skip: the pair goes to the back.
	d.keys("s")
	if got := d.curPair(); got != f.pairs[2] {
		t.Fatalf("after skip: pair %d, want %d", got, f.pairs[2])
	}
	if _, ok := d.mine(f.pairs[1]); ok {
		t.Fatal("skip wrote a judgment")
	}
	// Unsure: a judgment with status unsure and no grade.
	d.keys("x")
	j, ok = d.mine(f.pairs[2])
	if !ok || j.Status != store.StatusUnsure {
		t.Fatalf("after x: %+v ok=%v", j, ok)
	}
	var grade any
	if err := f.st.DB().QueryRow(`SELECT grade FROM judgments WHERE pair_id = ? AND labeler_id = ?`, f.pairs[2], d.m.me.ID).Scan(&grade); err != nil || grade != nil {
		t.Fatalf("unsure judgment has grade %v (err %v)", grade, err)
	}
	if got := d.curPair(); got != f.pairs[3] {
		t.Fatalf("after unsure: pair %d, want %d (next query)", got, f.pairs[3])
	}
	if s := ansi.Strip(d.m.grade.progressText(d.m)); !strings.Contains(s, "graded by me 1 · left 4 · ") || !strings.Contains(s, " · unsure 1 · skipped 1 · 6 pairs") {
		t.Errorf("progress %q", s)
	}
	// Undo walks back: the unsure mark, then the grade.
	d.keys("u")
	if _, ok := d.mine(f.pairs[2]); ok {
		t.Fatal("undo left the unsure judgment")
	}
	if got := d.curPair(); got != f.pairs[2] {
		t.Fatalf("after undo: pair %d, want %d back", got, f.pairs[2])
	}
	d.keys("u")
	if _, ok := d.mine(f.pairs[0]); ok {
		t.Fatal("second undo left the grade")
	}
	if got := d.curPair(); got != f.pairs[0] {
		t.Fatalf("after second undo: pair %d, want %d", got, f.pairs[0])
	}
	// Grade everything left: skipped pair 2 comes last.
	var order []int64
	for i := 0; i < 10 && d.curPair() != 0; i++ {
		order = append(order, d.curPair())
		d.keys("1")
	}
	want := []int64{f.pairs[0], f.pairs[2], f.pairs[3], f.pairs[4], f.pairs[5], f.pairs[1]}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Errorf("grading order %v, want %v", order, want)
	}
	if !strings.Contains(d.screen(), "Nothing left to grade") {
		t.Errorf("done screen:\n%s", d.screen())
	}
	p, _ := f.st.LabelerProgress(context.Background(), d.m.me.ID)
	if p.Graded != 6 || p.Left() != 0 {
		t.Errorf("progress %+v", p)
	}
}

func TestBlindReveal(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Blind: true}, 100, 30)
	s := d.screen()
	if !strings.Contains(s, "2 hidden until you grade") || strings.Contains(s, "teacher 3") {
		t.Fatalf("blind screen shows grades:\n%s", s)
	}
	d.keys("1")
	s = d.screen()
	if !strings.Contains(s, "last d1: you 1 · teacher 3 · student 3  ⚠ disagree by 2") {
		t.Fatalf("no reveal after grading:\n%s", s)
	}
	// The next pair is hidden again until b turns blind mode off.
	if !strings.Contains(s, "hidden until you grade") {
		t.Fatalf("next pair not blind:\n%s", s)
	}
	d.keys("b")
	if s = d.screen(); !strings.Contains(s, "others teacher 0 · student 1") {
		t.Fatalf("blind off does not show grades:\n%s", s)
	}
	// Pair screen hides too in blind mode.
	d.keys("b", "enter")
	if s = d.screen(); !strings.Contains(s, "hidden until you grade") {
		t.Fatalf("pair screen not blind:\n%s", s)
	}
	d.keys("3") // grades and moves on to the next pair, still blind
	if s = d.screen(); d.m.pair.id != f.pairs[2] || !strings.Contains(s, "hidden until you grade") {
		t.Fatalf("pair screen after grading (pair %d):\n%s", d.m.pair.id, s)
	}
	d.keys("k") // back to the pair just graded: its grades are shown
	if s = d.screen(); !strings.Contains(s, "teacher says 0") || !strings.Contains(s, " me      human") {
		t.Fatalf("pair screen on the graded pair:\n%s", s)
	}
	if j, ok := d.mine(f.pairs[1]); !ok || j.Grade != 3 {
		t.Fatalf("grade from pair screen: %+v", j)
	}
}

func TestNote(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{}, 100, 30)
	d.keys("n")
	if d.m.input == nil {
		t.Fatal("n did not open the note input")
	}
	d.typeText("mentions 90 days")
	d.keys("enter", "2")
	j, _ := d.mine(f.pairs[0])
	if j.Note != "mentions 90 days" || j.Grade != 2 {
		t.Fatalf("judgment %+v", j)
	}
	// A note on a graded pair is saved at once (Pair screen).
	d.keys("u")
	d.keys("3", "u") // grade, undo: pair 0 current again, ungraded
	d.keys("2")
	d.m.openPair(f.pairs[0])
	d.run(d.m.pair.loadCmd(d.m, f.pairs[0]))
	d.keys("n", "ctrl+c") // ctrl+c closes the input... and quits
	if !d.quit {
		t.Fatal("ctrl+c did not quit")
	}
}

func TestNoteOnGradedPair(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{}, 100, 30)
	d.keys("2", "shift+tab", "shift+tab", "shift+tab", "shift+tab") // Grade -> Help -> Runs -> Stats -> Pair
	if d.m.screen != scrPair {
		t.Fatalf("screen %v", d.m.screen)
	}
	d.run(d.m.openPair(f.pairs[0]))
	d.keys("n")
	d.typeText("second look")
	d.keys("enter")
	j, _ := d.mine(f.pairs[0])
	if j.Note != "second look" || j.Grade != 2 || j.Status != store.StatusOK {
		t.Fatalf("judgment %+v", j)
	}
}

func TestQuitWaitsForWrites(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{}, 100, 30)
	_, gradeCmd := d.m.Update(keyMsg("2"))
	_, quitCmd := d.m.Update(keyMsg("q"))
	if quitCmd != nil {
		if _, isQuit := quitCmd().(tea.QuitMsg); isQuit {
			t.Fatal("quit before the grade was written")
		}
	}
	if !strings.Contains(d.screen(), "saving 1 change") {
		t.Errorf("no saving notice:\n%s", d.screen())
	}
	d.run(gradeCmd)
	if !d.quit {
		t.Fatal("did not quit after the write")
	}
	if j, ok := d.mine(f.pairs[0]); !ok || j.Grade != 2 {
		t.Fatalf("grade lost: %+v", j)
	}
}

func TestBrowseFilters(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{}, 120, 40)
	d.keys("3") // my grade on pair 0 (teacher 3, student 3)
	d.keys("tab")
	if d.m.screen != scrBrowse || d.m.browse.idx == nil {
		t.Fatal("browse index not loaded")
	}
	b := &d.m.browse
	count := func() int { return b.count() }
	if count() != 6 {
		t.Fatalf("all: %d rows", count())
	}
	want := map[string]int{
		"not graded by me":  5,
		"teacher ≠ student": 2, // p1 (0/1), p4 (0/2)
		"any model ≠ human": 0,
		"|difference| ≥ 2":  1, // p4
		"student uncertain": 1, // p4 flat probabilities
	}
	for i := 1; i < numFilters; i++ {
		d.keys("f")
		if got := count(); got != want[filterNames[i]] {
			t.Errorf("filter %q: %d rows, want %d", filterNames[i], got, want[filterNames[i]])
		}
	}
	d.keys("f") // back to all
	if b.filter != fAll || count() != 6 {
		t.Fatalf("f did not cycle back: %d", count())
	}
	// The filters kept the last pair they showed selected: p4.
	if got := x0(b).id(b.rowAt(b.cursor)); got != f.pairs[4] {
		t.Fatalf("selection after cycling the filters: pair %d, want %d", got, f.pairs[4])
	}
	// Model ≠ human: grade pair 1 as 3 from the table (teacher 0, student 1).
	d.keys("g", "j", "3")
	if j, ok := d.mine(f.pairs[1]); !ok || j.Grade != 3 {
		t.Fatalf("grade from browse: %+v", j)
	}
	d.keys("f", "f", "f")
	if b.filter != fModelHuman || count() != 1 {
		t.Fatalf("model ≠ human after grading: %d rows", count())
	}
	d.keys("esc")
	// Search: whole words in query text, title and body. "expense" is in
	// q2's text (3 pairs) and in d3's title and body (q1's pair too).
	d.keys("/")
	d.typeText("expense")
	if count() != 4 {
		t.Fatalf("search live: %d rows", count())
	}
	d.keys("enter")
	if b.search != "expense" || count() != 4 {
		t.Fatalf("search: %q %d", b.search, count())
	}
	if s := d.screen(); !strings.Contains(s, `words "expense" in query 3 · title 2 · body 2`) || !strings.Contains(s, "in: found in q query, t title, b body") {
		t.Fatalf("search line or legend:\n%s", s)
	}
	// Grade of a chosen labeler: column 2 is the teacher.
	d.keys("right", "right", "=", "0")
	if count() != 2 { // q2: teacher 0 0 2; q1 × d3: teacher 1
		t.Fatalf("teacher = 0 within search: %d rows", count())
	}
	// Sort by the teacher column, descending first: the selected pair
	// stays selected where the sort put it.
	d.keys("esc")
	x := b.idx
	selected := x.id(b.rowAt(b.cursor))
	d.keys("o")
	first := x.cols[b.sortCol-2][b.rowAt(0)]
	if b.sortCol != 2 || first != 3 {
		t.Fatalf("sort by teacher: col %d first %d", b.sortCol, first)
	}
	if got := x.id(b.rowAt(b.cursor)); got != selected {
		t.Fatalf("sorting moved the selection from pair %d to %d", selected, got)
	}
	// Enter opens the selected pair.
	d.keys("g", "enter")
	if d.m.screen != scrPair || d.m.pair.data == nil || d.m.pair.id != x.id(b.rowAt(0)) {
		t.Fatalf("enter: screen %v pair %d", d.m.screen, d.m.pair.id)
	}
	d.keys("esc")
	if d.m.screen != scrBrowse {
		t.Fatalf("esc: screen %v", d.m.screen)
	}
}

func TestRunsStartCancel(t *testing.T) {
	f := newFixture(t)
	started := make(chan struct{})
	job := Job{Kind: store.RunLabeling, Title: "labeling", LimitName: "pairs", Limit: 5,
		Labelers: func(ls []store.Labeler) []string { return []string{"lexical"} },
		Start: func(ctx context.Context, st *store.Store, a JobArgs, progress func(Progress)) error {
			labeler, limit := a.Labeler, a.Limit
			close(started)
			for i := 1; i <= limit; i++ {
				progress(Progress{RunID: 99, Kind: store.RunLabeling, Labeler: labeler, Total: limit, Done: i, Elapsed: time.Duration(i) * time.Second})
			}
			return nil
		}}
	d := newDriver(t, f, Options{Jobs: []Job{job}}, 120, 40)
	d.keys("tab", "tab", "tab", "tab") // Runs
	if d.m.screen != scrRuns {
		t.Fatalf("screen %v", d.m.screen)
	}
	d.keys("n", "down", "down", "backspace", "3", "enter")
	<-started
	lr := d.m.runs.live[0]
	if !lr.finished || lr.last.Done != 3 || lr.last.Total != 3 || lr.labeler != "lexical" {
		t.Fatalf("run state %+v", lr.last)
	}
	if s := d.screen(); !strings.Contains(s, "labeling lexical") || !strings.Contains(s, "3/3") {
		t.Fatalf("runs screen:\n%s", s)
	}
	// Cancel: a job that waits for its context.
	job2 := job
	job2.Start = func(ctx context.Context, _ *store.Store, _ JobArgs, _ func(Progress)) error {
		<-ctx.Done()
		return ctx.Err()
	}
	cmd := d.m.runs.start(d.m, job2, JobArgs{Labeler: "lexical", Limit: 1})
	d.m.runs.sel = 1
	d.keys("c")
	d.run(cmd)
	if lr := d.m.runs.live[1]; !lr.finished || !lr.canceled {
		t.Fatalf("cancel: %+v", lr)
	}
}

// ---- goldens ------------------------------------------------------------

func TestGoldens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		f := newFixture(t)
		d := newDriver(t, f, Options{Blind: true}, size[0], size[1])
		d.send(tea.BackgroundColorMsg{Color: nil})
		shots := map[string]string{}
		shots["grade"] = d.screen()
		d.clock = d.clock.Add(3 * time.Second)
		d.keys("2")
		shots["grade-reveal"] = d.screen()
		d.keys("tab")
		shots["browse"] = d.screen()
		d.keys("enter")
		shots["pair"] = d.screen()
		d.keys("esc", "tab", "tab")
		shots["stats"] = d.screen()
		d.keys("tab")
		shots["runs"] = d.screen()
		d.keys("tab")
		shots["help"] = d.screen()
		for name, got := range shots {
			file := filepath.Join("testdata", fmt.Sprintf("%s-%dx%d.golden", name, size[0], size[1]))
			checkGolden(t, file, got, size[0], size[1])
		}
	}
}

func x0(b *browseState) *index { return b.idx }

func checkGolden(t *testing.T, file, got string, w, h int) {
	t.Helper()
	lines := strings.Split(got, "\n")
	if len(lines) != h {
		t.Errorf("%s: %d lines, want %d", file, len(lines), h)
	}
	for i, l := range lines {
		if n := ansi.StringWidth(l); n != w {
			t.Errorf("%s: line %d is %d cells wide, want %d", file, i, n, w)
		}
	}
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", file, got, want)
	}
}

// TestBrowseBlind: in blind mode Browse hides the other labelers' grades on
// pairs I have not graded (the table would otherwise give them away), shows
// them on pairs I graded, and `b` reveals everything.
func TestBrowseBlind(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Blind: true}, 120, 40)
	d.keys("3") // pair 0: teacher 3, student 3
	d.keys("tab")
	lines := strings.Split(d.screen(), "\n")
	row := func(doc string, n int) string {
		t.Helper()
		for _, l := range lines {
			if strings.Contains(l, doc) {
				if n == 0 {
					return l
				}
				n--
			}
		}
		t.Fatalf("no row %q in\n%s", doc, strings.Join(lines, "\n"))
		return ""
	}
	if r := strings.Fields(row("Resetting your VPN", 0)); strings.Join(r[len(r)-4:], " ") != "3 3 3 0" {
		t.Errorf("graded pair should show every grade: %q", r)
	}
	if r := strings.Fields(row("Cafeteria menu", 0)); strings.Join(r[len(r)-4:], " ") != "– – · –" {
		t.Errorf("ungraded pair should hide the models' grades: %q", r)
	}
	d.keys("b")
	lines = strings.Split(d.screen(), "\n")
	if r := row("Cafeteria menu", 0); strings.Contains(r, "–") {
		t.Errorf("blind off should show the grades: %q", r)
	}
}

// TestEmptyWorkspaceSaysHowToStart: a workspace without pairs does not claim
// that everything is graded; it says how to get pairs.
func TestEmptyWorkspaceSaysHowToStart(t *testing.T) {
	d := newDriver(t, &fixture{st: emptyStore(t)}, Options{}, 80, 24)
	screen := d.screen()
	if !strings.Contains(screen, "no pairs to grade yet") || !strings.Contains(screen, "qrelbench import pairs") || strings.Contains(screen, "Nothing left to grade") {
		t.Fatalf("empty workspace screen:\n%s", screen)
	}
}
