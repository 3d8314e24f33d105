package tui

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/store"
)

// grade stores a human's grade (and note) directly.
func (f *fixture) grade(t testing.TB, name string, pair int64, g int, note string) store.Labeler {
	t.Helper()
	ctx := context.Background()
	l, err := f.st.EnsureLabeler(ctx, "human:"+name, store.KindHuman)
	if err != nil {
		t.Fatal(err)
	}
	j := store.Judgment{PairID: pair, LabelerID: l.ID, Grade: g, Status: store.StatusOK, Note: note}
	if err := f.st.PutJudgment(ctx, &j); err != nil {
		t.Fatal(err)
	}
	return l
}

func humanGrades(t testing.TB, st *store.Store) map[int64]int {
	t.Helper()
	rows, err := st.DB().Query(`SELECT j.pair_id, count(*) FROM judgments j JOIN labelers l ON l.id = j.labeler_id
		WHERE l.kind = 'human' AND j.status = 'ok' GROUP BY j.pair_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int{}
	for rows.Next() {
		var p int64
		var n int
		rows.Scan(&p, &n)
		out[p] = n
	}
	return out
}

// Two annotators in one workspace with K=1: each draws pairs the other does
// not hold, and every pair ends with exactly one human grade.
func TestTwoAnnotatorsShareTheWork(t *testing.T) {
	f := newFixture(t)
	a := newDriver(t, f, Options{Annotator: "alice"}, 100, 30)
	b := newDriver(t, f, Options{Annotator: "bob"}, 100, 30)
	if a.curPair() == 0 || b.curPair() == 0 || a.curPair() == b.curPair() {
		t.Fatalf("alice on %d, bob on %d", a.curPair(), b.curPair())
	}
	// Bob starts on the other query: annotators spread over queries.
	if a.m.grade.cur.view.QueryID == b.m.grade.cur.view.QueryID {
		t.Errorf("both on query %d", a.m.grade.cur.view.QueryID)
	}
	if a.m.grade.ahead != nil && a.m.grade.ahead.view.ID == b.curPair() {
		t.Fatal("alice drew ahead bob's pair")
	}
	seen := map[string][]int64{}
	for i := 0; i < 10; i++ {
		for _, d := range []*driver{a, b} {
			if p := d.curPair(); p != 0 {
				seen[d.m.annotator] = append(seen[d.m.annotator], p)
				d.keys("2")
			}
		}
	}
	if a.curPair() != 0 || b.curPair() != 0 {
		t.Fatalf("pairs left on screen: %d %d", a.curPair(), b.curPair())
	}
	hg := humanGrades(t, f.st)
	for _, p := range f.pairs {
		if hg[p] != 1 {
			t.Errorf("pair %d has %d human grades, want 1 (K=1)", p, hg[p])
		}
	}
	if n := len(seen["alice"]) + len(seen["bob"]); n != len(f.pairs) {
		t.Errorf("alice graded %v, bob %v", seen["alice"], seen["bob"])
	}
	for _, d := range []*driver{a, b} {
		if !strings.Contains(d.screen(), "Nothing left to grade") {
			t.Errorf("%s's done screen:\n%s", d.m.annotator, d.screen())
		}
	}
	if ls, _ := f.st.Leases(context.Background(), time.Time{}); len(ls) != 0 {
		t.Errorf("leases left: %+v", ls)
	}
}

// Keys typed before the workbench has booted, and while the next pair is
// being drawn, are applied in order, none dropped.
func TestTypeAhead(t *testing.T) {
	f := newFixture(t)
	d := &driver{t: t, clock: time.Date(2025, 1, 1, 9, 0, 0, 0, time.UTC)}
	m := newModel(context.Background(), f.st, Options{Annotator: "alice"})
	m.ticks = false
	m.now = func() time.Time { return d.clock }
	d.m = m
	boot := m.Init()
	d.keys("2", "1") // before boot: nothing on screen yet
	if len(m.grade.typed) != 2 {
		t.Fatalf("typed ahead %v", m.grade.typed)
	}
	d.run(boot)
	for i, want := range []int{2, 1} {
		if j, ok := d.mine(f.pairs[i]); !ok || j.Grade != want {
			t.Fatalf("pair %d: %+v %v, want grade %d", i, j, ok, want)
		}
	}
	// Now hold the commands back: the pair drawn ahead is shown at once,
	// and the key after it waits for the draw in flight.
	if d.curPair() != f.pairs[2] {
		t.Fatalf("on pair %d, want %d", d.curPair(), f.pairs[2])
	}
	_, c1 := m.Update(keyMsg("3")) // p2 graded, p3 (drawn ahead) shown
	_, c2 := m.Update(keyMsg("0")) // p3 graded, nothing drawn yet
	_, c3 := m.Update(keyMsg("1")) // kept
	if m.grade.cur != nil || len(m.grade.typed) != 1 {
		t.Fatalf("cur %v typed %v", m.grade.cur, m.grade.typed)
	}
	d.run(c1)
	d.run(c2)
	d.run(c3)
	for i, want := range []int{2, 1, 3, 0, 1} {
		if j, ok := d.mine(f.pairs[i]); !ok || j.Grade != want {
			t.Fatalf("pair %d: %+v %v, want grade %d", i, j, ok, want)
		}
	}
	var hist []int
	rows, _ := f.st.DB().Query(`SELECT grade FROM judgment_history WHERE labeler_id = ? ORDER BY id`, m.me.ID)
	for rows.Next() {
		var g int
		rows.Scan(&g)
		hist = append(hist, g)
	}
	rows.Close()
	if fmt.Sprint(hist) != "[2 1 3 0 1]" {
		t.Errorf("history %v", hist)
	}
}

// The lease on the pair on screen is renewed by a tick; when it lapsed and
// someone else took the pair, the status line says so and a grade is still
// accepted.
func TestLeaseRenewal(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 100, 30)
	p := d.curPair()
	expiry := func() int64 {
		var e int64
		f.st.DB().QueryRow(`SELECT expires_at FROM leases WHERE pair_id = ? AND labeler_id = ?`, p, d.m.me.ID).Scan(&e)
		return e
	}
	before := expiry()
	if before == 0 {
		t.Fatal("the pair on screen is not leased")
	}
	time.Sleep(5 * time.Millisecond)
	d.send(leaseTickMsg{})
	if after := expiry(); after <= before {
		t.Fatalf("lease not renewed: %d -> %d", before, after)
	}
	// The lease lapses and bob grades the pair meanwhile.
	if _, err := f.st.DB().Exec(`UPDATE leases SET expires_at = 1 WHERE pair_id = ?`, p); err != nil {
		t.Fatal(err)
	}
	f.grade(t, "bob", p, 0, "")
	d.send(leaseTickMsg{})
	if s := d.screen(); !strings.Contains(s, "reassigned") {
		t.Fatalf("no reassigned notice:\n%s", s)
	}
	d.keys("3")
	if j, ok := d.mine(p); !ok || j.Grade != 3 {
		t.Fatalf("grade on a reassigned pair not accepted: %+v", j)
	}
	if strings.Contains(d.screen(), "reassigned") {
		t.Error("reassigned notice stayed on the next pair")
	}
}

// ShutdownMsg shows the banner and quits once the pending grade is saved;
// the pairs held are given back.
func TestShutdownMsg(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 100, 30)
	_, gradeCmd := d.m.Update(keyMsg("2"))
	_, cmd := d.m.Update(ShutdownMsg{Reason: "server shutting down — your grades are saved"})
	d.run(cmd)
	if d.quit {
		t.Fatal("quit before the grade was saved")
	}
	s := d.screen()
	if !strings.Contains(s, "server shutting down — your grades are saved") || !strings.Contains(s, "saving 1 change") {
		t.Fatalf("no banner:\n%s", s)
	}
	d.run(gradeCmd)
	if !d.quit {
		t.Fatal("did not quit after the write")
	}
	if j, ok := d.mine(f.pairs[0]); !ok || j.Grade != 2 {
		t.Fatalf("grade lost: %+v", j)
	}
	if ls, _ := f.st.Leases(context.Background(), time.Time{}); len(ls) != 0 {
		t.Errorf("leases kept after quitting: %+v", ls)
	}
}

// Priority: the pair where teacher and student disagree most and the
// student is least sure comes first.
func TestPriority(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice", Priority: true}, 100, 30)
	if d.curPair() != f.pairs[4] {
		t.Fatalf("first pair %d, want %d (teacher 0, student 2 unsure)", d.curPair(), f.pairs[4])
	}
	plain := newDriver(t, f, Options{Annotator: "bob"}, 100, 30)
	if plain.curPair() == f.pairs[4] {
		t.Fatal("without priority the same pair came first")
	}
}

// Browse follows other people's new grades by itself: the cell changes and
// the filters see it at the next poll, without a key.
func TestBrowseFollowsNewGrades(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("2", "tab", "f", "f") // teacher ≠ student: p1, p4
	b := &d.m.browse
	if b.count() != 2 {
		t.Fatalf("teacher ≠ student: %d rows", b.count())
	}
	j := store.Judgment{PairID: f.pairs[5], LabelerID: f.teacher.ID, Grade: 1, Status: store.StatusOK} // student 2
	if err := f.st.PutJudgment(context.Background(), &j); err != nil {
		t.Fatal(err)
	}
	d.send(tickMsg{})
	if b.count() != 3 || b.idx.id(b.rowAt(2)) != f.pairs[5] {
		t.Fatalf("after the poll: %d rows", b.count())
	}
	if c := b.idx.cols[b.idx.teacher][b.idx.row(f.pairs[5])]; c != 1 {
		t.Fatalf("teacher's cell %d, want 1", c)
	}
}

// Stats shows Krippendorff's ordinal alpha over the humans, equal to the
// CLI's (benchmark.ComputeAgreement).
func TestStatsHumanAlpha(t *testing.T) {
	f := newFixture(t)
	for i, g := range []int{3, 0, 1, 0} {
		f.grade(t, "bob", f.pairs[i], g, "")
	}
	for i, g := range []int{2, 0, 1, 1, 2} {
		f.grade(t, "carol", f.pairs[i], g, "")
	}
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("3") // alice grades the one pair nobody has (K=1): pair 5
	d.keys("tab", "tab", "tab")
	if d.m.screen != scrStats {
		t.Fatalf("screen %v", d.m.screen)
	}
	ag, err := benchmark.ComputeAgreement(context.Background(), f.st)
	if err != nil || ag.HumanAlpha == nil {
		t.Fatalf("CLI alpha: %v %v", ag.HumanAlpha, err)
	}
	want := fmt.Sprintf("Humans α %.2f  Krippendorff's ordinal α, 3 humans, %d pairs", *ag.HumanAlpha, ag.HumanAlphaUnits)
	if s := d.screen(); !strings.Contains(s, want) {
		t.Fatalf("want %q in:\n%s", want, s)
	}
}

// adjFixture: bob and carol disagree on pairs 0 and 3, agree on pair 1;
// alice is an adjudicator.
func adjFixture(t testing.TB) *fixture {
	f := newFixture(t)
	f.grade(t, "bob", f.pairs[0], 3, "exact answer")
	f.grade(t, "carol", f.pairs[0], 1, "outdated portal")
	f.grade(t, "bob", f.pairs[1], 0, "")
	f.grade(t, "carol", f.pairs[1], 0, "")
	f.grade(t, "bob", f.pairs[3], 0, "")
	f.grade(t, "carol", f.pairs[3], 2, "mentions deadlines")
	ctx := context.Background()
	if _, err := f.st.EnsureLabeler(ctx, "human:alice", store.KindHuman); err != nil {
		t.Fatal(err)
	}
	if err := f.st.SetAdjudicator(ctx, "human:alice", true); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestAdjudicate(t *testing.T) {
	f := adjFixture(t)
	ctx := context.Background()
	// Not an adjudicator: no such tab.
	bob := newDriver(t, f, Options{Annotator: "bob"}, 120, 40)
	if strings.Contains(bob.screen(), "Adjudicate") {
		t.Fatalf("bob sees the Adjudicate tab:\n%s", bob.screen())
	}
	for i := 0; i < int(numScreens); i++ {
		bob.keys("tab")
		if bob.m.screen == scrAdjudicate {
			t.Fatal("tab reached Adjudicate for a non-adjudicator")
		}
	}

	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("tab", "tab", "tab", "tab")
	if d.m.screen != scrAdjudicate {
		t.Fatalf("screen %v after 4 tabs", d.m.screen)
	}
	s := d.screen()
	for _, want := range []string{"Adjudicate", "reset vpn password", "Resetting your VPN password", "@bob", "exact answer", "@carol", "outdated portal", "2 open · spread 2"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q not on the screen:\n%s", want, s)
		}
	}
	d.keys("n")
	d.typeText("the portal page is current")
	d.keys("enter")
	if !strings.Contains(d.screen(), "your note: the portal page is current") {
		t.Errorf("note not shown:\n%s", d.screen())
	}
	d.keys("3")
	gold, err := f.st.Labeler(ctx, store.GoldLabeler)
	if err != nil || gold.Kind != store.KindHuman {
		t.Fatalf("gold labeler %+v %v", gold, err)
	}
	j, ok, err := f.st.Judgment(ctx, f.pairs[0], gold.ID)
	if err != nil || !ok || j.Grade != 3 || j.Status != store.StatusOK || j.Note != "the portal page is current" || j.Reason != "adjudicated by human:alice" {
		t.Fatalf("gold judgment %+v %v %v", j, ok, err)
	}
	adj, err := f.st.Adjudications(ctx, f.pairs[0])
	if err != nil || len(adj) != 1 || adj[0].Adjudicator != "human:alice" || adj[0].Grade != 3 || adj[0].Note != "the portal page is current" {
		t.Fatalf("adjudications %+v %v", adj, err)
	}
	// The next disagreement is shown: q2 / d1.
	s = d.screen()
	if !strings.Contains(s, "expense deadline") || !strings.Contains(s, "mentions deadlines") || strings.Contains(s, "outdated portal") {
		t.Fatalf("next disagreement:\n%s", s)
	}
	d.keys("1")
	if j, ok, _ := f.st.Judgment(ctx, f.pairs[3], gold.ID); !ok || j.Grade != 1 || j.Note != "" {
		t.Fatalf("second gold judgment %+v", j)
	}
	if !strings.Contains(d.screen(), "No open disagreements") {
		t.Fatalf("done screen:\n%s", d.screen())
	}
	open, _ := f.st.Disagreements(ctx, store.DisagreementOptions{Unresolved: true})
	if len(open) != 0 {
		t.Errorf("%d disagreements left", len(open))
	}
	// Alice's own grades are untouched.
	if _, ok := d.mine(f.pairs[0]); ok {
		t.Error("adjudication wrote alice's own judgment")
	}
}

// A labeler unmarked as adjudicator meanwhile: the decision is refused and
// said so, nothing is written.
func TestAdjudicateRefused(t *testing.T) {
	f := adjFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("tab", "tab", "tab", "tab")
	f.st.SetAdjudicator(context.Background(), "human:alice", false)
	d.keys("2")
	if s := d.screen(); !strings.Contains(s, "NOT SAVED") || !strings.Contains(s, "not an adjudicator") {
		t.Fatalf("refusal not shown:\n%s", s)
	}
	if n, _ := f.st.Adjudications(context.Background(), f.pairs[0]); len(n) != 0 {
		t.Fatal("refused decision recorded")
	}
}

func TestAdjudicateGoldens(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		f := adjFixture(t)
		d := newDriver(t, f, Options{Annotator: "alice", Blind: true}, size[0], size[1])
		d.send(tea.BackgroundColorMsg{Color: nil})
		d.keys("tab", "tab", "tab", "tab")
		checkGolden(t, filepath.Join("testdata", fmt.Sprintf("adjudicate-%dx%d.golden", size[0], size[1])), d.screen(), size[0], size[1])
	}
}

// Issue 11.2: `u` on Adjudicate takes back the decision just made — not the
// adjudicator's older grade from the Grade screen — says which pair came
// back in words, and `u` on Grade still takes back the Grade screen's grade.
func TestAdjudicateUndoIsPerScreen(t *testing.T) {
	f := adjFixture(t)
	ctx := context.Background()
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	own := d.curPair()
	d.keys("2") // alice's own grade, on Grade
	if j, ok := d.mine(own); !ok || j.Grade != 2 {
		t.Fatalf("alice's grade: %+v %v", j, ok)
	}
	d.keys("tab", "tab", "tab", "tab")
	if d.m.screen != scrAdjudicate {
		t.Fatalf("screen %v", d.m.screen)
	}
	d.keys("3") // gold 3 on pair 0
	gold, err := f.st.Labeler(ctx, store.GoldLabeler)
	if err != nil {
		t.Fatal(err)
	}
	if j, ok, _ := f.st.Judgment(ctx, f.pairs[0], gold.ID); !ok || j.Grade != 3 {
		t.Fatalf("gold before undo: %+v %v", j, ok)
	}
	d.keys("u")
	if j, ok, _ := f.st.Judgment(ctx, f.pairs[0], gold.ID); ok {
		t.Fatalf("u on Adjudicate left the decision: %+v", j)
	}
	if j, ok := d.mine(own); !ok || j.Grade != 2 {
		t.Fatalf("u on Adjudicate took alice's Grade-screen grade: %+v %v", j, ok)
	}
	as, _ := f.st.Adjudications(ctx, f.pairs[0])
	if len(as) != 1 || !as[0].Undone {
		t.Fatalf("the decision is not on record as undone: %+v", as)
	}
	s := d.screen()
	for _, want := range []string{"undone: gold grade 3 on “reset vpn password” · “Resetting your VPN password” — open again", "decided 0", "2 open"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q not on the screen:\n%s", want, s)
		}
	}
	if d.m.adj.items[0].PairID != f.pairs[0] {
		t.Fatalf("the disagreement back on screen is %d, want %d", d.m.adj.items[0].PairID, f.pairs[0])
	}
	// Nothing more to undo on Adjudicate: the Grade screen's grade is not its.
	d.keys("u")
	if j, ok := d.mine(own); !ok || j.Grade != 2 {
		t.Fatalf("a second u on Adjudicate took alice's grade: %+v %v", j, ok)
	}
	if !strings.Contains(d.screen(), "nothing to undo on Adjudicate") {
		t.Errorf("no 'nothing to undo' notice:\n%s", d.screen())
	}
	// Decide again, then undo on Grade: the grade goes, the decision stays.
	d.keys("1")
	d.keys("ctrl+g")
	d.keys("u")
	if _, ok := d.mine(own); ok {
		t.Fatal("u on Grade did not take back the Grade screen's grade")
	}
	if j, ok, _ := f.st.Judgment(ctx, f.pairs[0], gold.ID); !ok || j.Grade != 1 {
		t.Fatalf("u on Grade touched the decision: %+v %v", j, ok)
	}
	if s := d.screen(); !strings.Contains(s, "undone: grade 2 (now ungraded) · “") {
		t.Errorf("undo on Grade not said in words:\n%s", s)
	}
}

// A grade given on Browse is Browse's to undo: `u` on Grade takes back the
// Grade screen's last grade even when a Browse grade came after it.
func TestUndoBrowseAndGradeApart(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	first := d.curPair()
	d.keys("2")      // Grade: pair 0
	d.keys("tab")    // Browse
	d.keys("G", "1") // Browse: the last row
	var browsed int64
	for _, p := range f.pairs {
		if j, ok := d.mine(p); ok && j.Grade == 1 {
			browsed = p
		}
	}
	if browsed == 0 || browsed == first {
		t.Fatalf("browse grade on %d (first %d)", browsed, first)
	}
	d.keys("shift+tab", "u")
	if _, ok := d.mine(first); ok {
		t.Fatal("u on Grade did not take back the Grade grade")
	}
	if j, ok := d.mine(browsed); !ok || j.Grade != 1 {
		t.Fatalf("u on Grade took the Browse grade: %+v %v", j, ok)
	}
	if d.curPair() != first {
		t.Fatalf("Grade shows %d after undo, want %d back", d.curPair(), first)
	}
	d.keys("tab", "u")
	if _, ok := d.mine(browsed); ok {
		t.Fatal("u on Browse did not take back the Browse grade")
	}
}

// A long note on Adjudicate wraps under the grade instead of being cut.
func TestAdjudicateNoteWraps(t *testing.T) {
	f := adjFixture(t)
	note := "the portal moved in March; the page still names the old address but the steps are the same, so it answers the question"
	f.grade(t, "dave", f.pairs[0], 2, note)
	d := newDriver(t, f, Options{Annotator: "alice"}, 80, 30)
	d.keys("tab", "tab", "tab", "tab")
	s := d.screen()
	if !strings.Contains(strings.Join(strings.Fields(s), " "), note) {
		t.Fatalf("the note is not shown whole at 80 columns:\n%s", s)
	}
}
