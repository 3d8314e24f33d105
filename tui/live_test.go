package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// otherProcess opens a second Store on the fixture's file: for SQLite, as
// good as another process.
func otherProcess(t *testing.T, f *fixture) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), f.st.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// addPairs adds a query with n pairs (the fixture's documents, cycled)
// through st, the teacher grading each 2.
func addPairs(t *testing.T, st *store.Store, f *fixture, ext, text string, n int) []int64 {
	t.Helper()
	ctx := context.Background()
	q := store.Query{ExtID: ext, Text: text}
	if _, err := st.PutQuery(ctx, &q, false); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for i := 0; i < n; i++ {
		d, err := st.DocumentByExtID(ctx, fmt.Sprintf("d%d", i%3+1))
		if err != nil {
			t.Fatal(err)
		}
		p := store.Pair{QueryID: q.ID, DocID: d.ID, Source: store.SourceBM25}
		if _, err := st.PutPair(ctx, &p); err != nil {
			t.Fatal(err)
		}
		j := store.Judgment{PairID: p.ID, LabelerID: f.teacher.ID, Grade: 2, Status: store.StatusOK}
		if err := st.PutJudgment(ctx, &j); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, p.ID)
	}
	return ids
}

// TestLivePairsAppear: pairs another process adds show in Browse at the
// next poll, with their grades, found by search, counted by Stats, without
// a key and without moving the selection.
func TestLivePairsAppear(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("tab", "j", "j") // Browse, third row selected
	b := &d.m.browse
	selected := b.idx.id(b.rowAt(b.cursor))
	if !strings.Contains(d.screen(), "6 of 6 pairs") {
		t.Fatalf("before:\n%s", d.screen())
	}
	other := otherProcess(t, f)
	added := addPairs(t, other, f, "q3", "printer toner order", 3)
	d.send(tickMsg{})
	s := d.screen()
	if !strings.Contains(s, "9 of 9 pairs") || !strings.Contains(s, "printer toner order") {
		t.Fatalf("new pairs not shown after the poll:\n%s", s)
	}
	if got := b.idx.id(b.rowAt(b.cursor)); got != selected {
		t.Fatalf("selection moved from pair %d to %d", selected, got)
	}
	x := b.idx
	for _, id := range added {
		if r := x.row(id); r < 0 || x.cols[x.teacher][r] != 2 {
			t.Fatalf("pair %d: row %d, teacher grade missing", id, r)
		}
	}
	// A search finds them.
	d.keys("/")
	d.typeText("toner")
	d.keys("enter")
	if b.count() != 3 {
		t.Fatalf("search toner: %d rows", b.count())
	}
	d.keys("esc")
	// Stats counts them: the teacher's distribution has three more 2s.
	d.keys("tab", "tab")
	if d.m.screen != scrStats || d.m.stats.res == nil {
		t.Fatalf("screen %v", d.m.screen)
	}
	for i, l := range d.m.stats.res.labs {
		if l.ID == f.teacher.ID && d.m.stats.res.dist[i][2] != 1+3 {
			t.Fatalf("teacher's 2s: %v", d.m.stats.res.dist[i])
		}
	}
	// More pairs while Stats is on screen: it recomputes by itself.
	addPairs(t, other, f, "q4", "badge renewal", 2)
	d.send(tickMsg{})
	for i, l := range d.m.stats.res.labs {
		if l.ID == f.teacher.ID && d.m.stats.res.dist[i][2] != 1+5 {
			t.Fatalf("Stats did not follow: teacher's 2s %v", d.m.stats.res.dist[i])
		}
	}
}

// TestLiveKeepsSelectionUnderFilter: a grade arriving from elsewhere that
// takes the selected pair out of the filter does not pull the row from
// under the cursor; the next key that re-applies the filter does.
func TestLiveKeepsSelectionUnderFilter(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("tab", "f", "f") // teacher ≠ student: p1, p4
	b := &d.m.browse
	d.keys("j")
	if b.idx.id(b.rowAt(b.cursor)) != f.pairs[4] {
		t.Fatal("p4 not selected")
	}
	other := otherProcess(t, f)
	// The teacher now agrees with the student on p4 and disagrees on p5.
	for _, j := range []store.Judgment{
		{PairID: f.pairs[4], LabelerID: f.teacher.ID, Grade: 2, Status: store.StatusOK},
		{PairID: f.pairs[5], LabelerID: f.teacher.ID, Grade: 0, Status: store.StatusOK},
	} {
		if err := other.PutJudgment(context.Background(), &j); err != nil {
			t.Fatal(err)
		}
	}
	d.send(tickMsg{})
	var shown []int64
	for i := range b.count() {
		shown = append(shown, b.idx.id(b.rowAt(i)))
	}
	if fmt.Sprint(shown) != fmt.Sprint([]int64{f.pairs[1], f.pairs[4], f.pairs[5]}) || b.idx.id(b.rowAt(b.cursor)) != f.pairs[4] {
		t.Fatalf("after the poll: rows %v, cursor on %d", shown, b.idx.id(b.rowAt(b.cursor)))
	}
	d.keys("r")
	if b.count() != 2 {
		t.Fatalf("r re-applies the filter: %d rows", b.count())
	}
}

// TestLiveLabelersAndRuns: a labeler added by another process appears in
// the Runs form, a run it records appears in the history, both after the
// poll.
func TestLiveLabelersAndRuns(t *testing.T) {
	f := newFixture(t)
	job := Job{Kind: store.RunLabeling, Title: "labeling", LimitName: "pairs",
		Labelers: func(ls []store.Labeler) []string {
			var out []string
			for _, l := range ls {
				if l.Kind == store.KindLLM {
					out = append(out, l.Name)
				}
			}
			return out
		},
		Start: func(context.Context, *store.Store, JobArgs, func(Progress)) error { return nil }}
	d := newDriver(t, f, Options{Annotator: "alice", Jobs: []Job{job}}, 120, 40)
	d.keys("tab", "tab", "tab", "tab", "n") // Runs, new run form
	if d.m.screen != scrRuns {
		t.Fatalf("screen %v", d.m.screen)
	}
	d.keys("down", "right")
	if s := d.screen(); strings.Contains(s, "gpt-judge") {
		t.Fatalf("labeler shown before it exists:\n%s", s)
	}
	other := otherProcess(t, f)
	ctx := context.Background()
	l := store.Labeler{Name: "gpt-judge", Kind: store.KindLLM, Model: "gpt-x", BaseURL: "http://localhost:1"}
	if err := other.AddLabeler(ctx, &l); err != nil {
		t.Fatal(err)
	}
	run := store.Run{Kind: store.RunMining, Total: 7}
	if err := other.StartRun(ctx, &run); err != nil {
		t.Fatal(err)
	}
	d.send(tickMsg{})
	if d.m.runs.form == nil {
		t.Fatal("the poll closed the form")
	}
	for range 3 {
		if strings.Contains(d.screen(), "gpt-judge") {
			break
		}
		d.keys("right")
	}
	s := d.screen()
	if !strings.Contains(s, "gpt-judge") {
		t.Fatalf("new labeler not in the form:\n%s", s)
	}
	if !strings.Contains(s, "mining") || !strings.Contains(s, "0/7") {
		t.Fatalf("run of another process not listed:\n%s", s)
	}
}

// TestBrowseGradeStays: a digit grades the selected row and the cursor
// stays on it, so "j then a digit" grades the row j chose, and a second
// digit changes that same grade; the status line says so.
func TestBrowseGradeStays(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("tab", "j", "2")
	b := &d.m.browse
	if b.cursor != 1 {
		t.Fatalf("cursor %d after grading row 1", b.cursor)
	}
	if j, ok := d.mine(f.pairs[1]); !ok || j.Grade != 2 {
		t.Fatalf("row 1 not graded: %+v", j)
	}
	if !strings.Contains(d.screen(), "graded 2: reset vpn password × Cafeteria menu (still selected") {
		t.Fatalf("no message:\n%s", d.screen())
	}
	d.keys("0")
	if j, _ := d.mine(f.pairs[1]); j.Grade != 0 {
		t.Fatalf("second digit: %+v", j)
	}
	if _, ok := d.mine(f.pairs[2]); ok {
		t.Fatal("the next row was graded")
	}
}

// TestLiveGradeAfterNothingLeft: "Nothing left to grade" is not the last
// word: pairs added elsewhere are served at the next poll.
func TestLiveGradeAfterNothingLeft(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 100, 30)
	for i := 0; i < 6 && d.curPair() != 0; i++ {
		d.keys("1")
	}
	if d.curPair() != 0 || !d.m.grade.done {
		t.Fatalf("not done: pair %d", d.curPair())
	}
	added := addPairs(t, otherProcess(t, f), f, "q9", "holiday calendar", 2)
	d.send(tickMsg{})
	if got := d.curPair(); got != added[0] && got != added[1] {
		t.Fatalf("after the poll: pair %d, want one of %v\n%s", got, added, d.screen())
	}
}
