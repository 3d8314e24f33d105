package tui

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/benchmark/evalruns"
	"github.com/qrelbench/qrelbench/benchmark/syseval"
	"github.com/qrelbench/qrelbench/store"
)

// systemsFixture adds to the usual fixture a document no query is paired
// with (d4) and two systems: "good" ranks each query's documents by the
// teacher's grades and puts d4 second on q1; "bad" ranks them the other way.
func systemsFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	f := newFixture(t)
	d4 := store.Document{ExtID: "d4", Title: "VPN client download", Body: "Download the VPN client."}
	if _, err := f.st.PutDocument(ctx, &d4, false); err != nil {
		t.Fatal(err)
	}
	qs, _ := f.st.QueryIDs(ctx)
	ds, _ := f.st.DocumentIDs(ctx)
	// teacher: q1 d1 3, d2 0, d3 1; q2 d1 0, d2 0, d3 2.
	good := []store.SystemResult{
		{QueryID: qs["q1"], DocID: ds["d1"], Score: 9, Rank: 1}, {QueryID: qs["q1"], DocID: ds["d4"], Score: 8, Rank: 2},
		{QueryID: qs["q1"], DocID: ds["d3"], Score: 7, Rank: 3}, {QueryID: qs["q1"], DocID: ds["d2"], Score: 1, Rank: 4},
		{QueryID: qs["q2"], DocID: ds["d3"], Score: 5, Rank: 1}, {QueryID: qs["q2"], DocID: ds["d1"], Score: 1, Rank: 2},
	}
	bad := []store.SystemResult{
		{QueryID: qs["q1"], DocID: ds["d2"], Score: 9, Rank: 1}, {QueryID: qs["q1"], DocID: ds["d3"], Score: 8, Rank: 2},
		{QueryID: qs["q1"], DocID: ds["d1"], Score: 1, Rank: 3},
		{QueryID: qs["q2"], DocID: ds["d1"], Score: 5, Rank: 1}, {QueryID: qs["q2"], DocID: ds["d3"], Score: 1, Rank: 2},
	}
	for name, rs := range map[string][]store.SystemResult{"good": good, "bad": bad} {
		if _, err := f.st.PutSystem(ctx, &store.System{Name: name, ContentSHA256: name}, rs, false); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func TestSystemsTabOnlyWithSystems(t *testing.T) {
	d := newDriver(t, newFixture(t), Options{}, 120, 30)
	if slices.Contains(d.m.tabs(), scrSystems) || strings.Contains(d.screen(), "Systems") {
		t.Fatal("a workspace without systems shows a Systems tab")
	}
	d = newDriver(t, systemsFixture(t), Options{}, 120, 30)
	if !slices.Contains(d.m.tabs(), scrSystems) {
		t.Fatal("no Systems tab for a workspace with systems")
	}
}

func TestSystemsScreenDrillDownAndGrade(t *testing.T) {
	f := systemsFixture(t)
	d := newDriver(t, f, Options{}, 140, 36)
	for d.m.screen != scrSystems {
		d.keys("tab")
		if d.m.screen == scrGrade {
			t.Fatal("tabbed round without reaching Systems")
		}
	}
	scr := d.screen()
	// Nobody human has graded: A is the first labeler with grades (by
	// name), B the next; both rank good first, so no rank changes.
	if !strings.Contains(scr, "A student (2 queries) · B teacher (2 queries)") || !strings.Contains(scr, "=") {
		t.Fatalf("labelers A and B:\n%s", scr)
	}
	if !strings.Contains(scr, "fewer than 30 graded queries") {
		t.Fatalf("two queries are not marked unreliable:\n%s", scr)
	}
	rows := d.m.systems.rows()
	if len(rows) != 2 || rows[0].System != "good" || rows[1].System != "bad" {
		t.Fatalf("rows %+v", rows)
	}
	// ] cycles B: none, then (skipping A) the teacher again; → makes the
	// teacher A, and B, which cannot be A too, becomes the student.
	d.keys("]")
	if d.m.systems.res.b != nil || !strings.Contains(d.screen(), "B none") {
		t.Fatalf("B after ]: %q\n%s", d.m.systems.b, d.screen())
	}
	d.keys("]")
	if d.m.systems.b != "teacher" || d.m.systems.res.b == nil {
		t.Fatalf("B after ] ]: %q", d.m.systems.b)
	}
	d.keys("right")
	if d.m.systems.a != "teacher" || d.m.systems.res.a.Qrels != "teacher" || d.m.systems.b != "student" {
		t.Fatalf("after →: A %q B %q", d.m.systems.a, d.m.systems.b)
	}
	// enter: good's queries, worst first; enter: q's ranked list in the
	// metrics' order, d4 unjudged.
	d.keys("enter")
	if scr = d.screen(); !strings.Contains(scr, "good: ndcg_cut_10 per query, worst first") {
		t.Fatalf("queries view:\n%s", scr)
	}
	qs := d.m.systems.queries(d.m.systems.rows())
	for d.m.systems.query < len(qs) && qs[d.m.systems.query] != "q1" {
		d.keys("j")
	}
	d.keys("enter")
	l := d.m.systems.list
	if l == nil || l.queryExt != "q1" || len(l.docs) != 4 {
		t.Fatalf("ranked list %+v", l)
	}
	var order []string
	for _, doc := range l.docs {
		order = append(order, doc.ExtID)
	}
	if strings.Join(order, " ") != "d1 d4 d3 d2" {
		t.Fatalf("order %v", order)
	}
	if scr = d.screen(); !strings.Contains(scr, "unjudged") {
		t.Fatalf("d4 not marked unjudged:\n%s", scr)
	}
	// Grade d4 (second): it becomes a pool pair with alice's grade.
	d.keys("j", "2")
	var src string
	var grade int
	err := f.st.DB().QueryRow(`SELECT p.source, j.grade FROM pairs p JOIN documents d ON d.id = p.doc_id
		JOIN judgments j ON j.pair_id = p.id JOIN labelers l ON l.id = j.labeler_id
		WHERE d.ext_id = 'd4' AND l.name = 'human:alice'`).Scan(&src, &grade)
	if err != nil || src != store.SourcePool || grade != 2 {
		t.Fatalf("graded d4: source %q grade %d err %v", src, grade, err)
	}
	// The list shows the grade; the new grades are scored: human:alice is
	// now a labeler A can be.
	if got := d.m.systems.list.docs[1]; got.PairID == 0 || got.Codes[len(got.Codes)-1] != 2 {
		t.Fatalf("d4 after grading %+v", got)
	}
	if !slices.Contains(d.m.systems.res.labelers, "human:alice") {
		t.Fatalf("grades were not rescored: labelers %v", d.m.systems.res.labelers)
	}
	// u takes the grade back, as on the other screens.
	d.keys("u")
	if _, ok := d.mine(d.m.systems.list.docs[1].PairID); ok {
		t.Fatal("u did not take back the grade given on Systems")
	}
	// backspace twice: back to the systems.
	d.keys("backspace", "backspace")
	if d.m.systems.level != 0 || !strings.Contains(d.screen(), "significantly better than the next system") {
		t.Fatalf("back to systems:\n%s", d.screen())
	}
	// A labeler who grades the other way round ranks bad first: as B, its
	// rank changes are marked.
	ctx := context.Background()
	contra, _ := f.st.EnsureLabeler(ctx, "contrarian", store.KindImported)
	for _, p := range f.pairs {
		tj, _, _ := f.st.Judgment(ctx, p, f.teacher.ID)
		if err := f.st.PutJudgment(ctx, &store.Judgment{PairID: p, LabelerID: contra.ID, Grade: 3 - tj.Grade, Status: store.StatusOK}); err != nil {
			t.Fatal(err)
		}
	}
	d.keys("r")
	for i := 0; i < 6 && d.m.systems.b != "contrarian"; i++ {
		d.keys("]")
	}
	scr = d.screen()
	if d.m.systems.b != "contrarian" || !strings.Contains(scr, "↓1") || !strings.Contains(scr, "↑1") {
		t.Fatalf("rank changes under the contrarian (B %q):\n%s", d.m.systems.b, scr)
	}
}

func TestSignificantAboveNeedsBothTests(t *testing.T) {
	r := evalruns.Report{Pairs: []syseval.PairTest{
		{A: "x", B: "y", Valid: true, MeanDiff: 0.1, TTestP: 0.01, RandP: 0.02},
		{A: "y", B: "z", Valid: true, MeanDiff: 0.1, TTestP: 0.01, RandP: 0.2},
		{A: "z", B: "w", Valid: false, MeanDiff: 0.1, TTestP: 0.01, RandP: 0.01},
	}}
	if got := significantAbove(r); len(got) != 1 || !got["x"] {
		t.Fatalf("significant %v, want only x", got)
	}
	if rankChange(3, 1) != "↑2" || rankChange(1, 2) != "↓1" || rankChange(2, 2) != "=" {
		t.Fatal("rank change marks")
	}
}
