package tui

import (
	"strings"
	"testing"
)

// Issue 12.5, from Browse: j/k walk the Browse rows, a digit grades the
// pair shown and moves on to the next row.
func TestPairWalksBrowseList(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("tab") // Browse
	b := &d.m.browse
	rowPair := func(i int) int64 { return b.idx.id(b.rowAt(int(i))) }
	d.keys("enter")
	if d.m.screen != scrPair || d.m.pair.id != rowPair(0) {
		t.Fatalf("enter: screen %v pair %d", d.m.screen, d.m.pair.id)
	}
	d.keys("j")
	if d.m.pair.id != rowPair(1) || b.cursor != 1 {
		t.Fatalf("j: pair %d (row 1 is %d), cursor %d", d.m.pair.id, rowPair(1), b.cursor)
	}
	d.keys("k", "k") // back to row 0, then nothing before it
	if d.m.pair.id != rowPair(0) || !strings.Contains(d.screen(), "this is the first pair of the Browse list") {
		t.Fatalf("k k: pair %d\n%s", d.m.pair.id, d.screen())
	}
	first := d.m.pair.id
	d.keys("2")
	if j, ok := d.mine(first); !ok || j.Grade != 2 {
		t.Fatalf("digit on Pair: %+v %v", j, ok)
	}
	if d.m.pair.id != rowPair(1) || !strings.Contains(d.screen(), "graded 2 — next pair of the Browse list") {
		t.Fatalf("after the digit: pair %d, want %d\n%s", d.m.pair.id, rowPair(1), d.screen())
	}
	second := d.m.pair.id
	d.keys("x")
	if j, ok := d.mine(second); !ok || j.Status != "unsure" {
		t.Fatalf("x on Pair: %+v %v", j, ok)
	}
	// u on Pair takes back the unsure mark and shows that pair again.
	d.keys("u")
	if _, ok := d.mine(second); ok || d.m.pair.id != second {
		t.Fatalf("u on Pair: judgment kept %v, pair %d want %d", ok, d.m.pair.id, second)
	}
	if j, ok := d.mine(first); !ok || j.Grade != 2 {
		t.Fatalf("u on Pair took the earlier grade: %+v %v", j, ok)
	}
	d.keys("esc")
	if d.m.screen != scrBrowse || b.cursor != 1 {
		t.Fatalf("esc: screen %v cursor %d", d.m.screen, b.cursor)
	}
}

// Issue 12.5, from Grade: a digit on Pair grades the Grade screen's pair
// and both screens move on to the next pair drawn; k walks back over the
// pairs served, u brings the pair back on both.
func TestPairFollowsGrade(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	p0 := d.curPair()
	d.keys("enter", "3")
	if j, ok := d.mine(p0); !ok || j.Grade != 3 {
		t.Fatalf("digit on Pair: %+v %v", j, ok)
	}
	p1 := d.curPair()
	if p1 == 0 || p1 == p0 || d.m.screen != scrPair || d.m.pair.id != p1 {
		t.Fatalf("after the digit: Grade on %d, Pair on %d (screen %v), first %d", p1, d.m.pair.id, d.m.screen, p0)
	}
	if d.m.grade.last == nil || d.m.grade.last.data.view.ID != p0 {
		t.Error("the Grade screen does not reveal the pair graded on Pair")
	}
	d.keys("k")
	if d.m.pair.id != p0 || !strings.Contains(d.screen(), " me      human") {
		t.Fatalf("k: pair %d, want %d\n%s", d.m.pair.id, p0, d.screen())
	}
	d.keys("j")
	if d.m.pair.id != p1 {
		t.Fatalf("j: pair %d, want %d", d.m.pair.id, p1)
	}
	d.keys("j")
	if d.m.pair.id != p1 || !strings.Contains(d.screen(), "this is the last pair") {
		t.Fatalf("j past the end: pair %d\n%s", d.m.pair.id, d.screen())
	}
	d.keys("u")
	if _, ok := d.mine(p0); ok {
		t.Fatal("u on Pair did not take back the grade")
	}
	if d.m.pair.id != p0 || d.curPair() != p0 {
		t.Fatalf("after u: Pair on %d, Grade on %d, want %d on both", d.m.pair.id, d.curPair(), p0)
	}
	// Grading it again from Pair moves on again, to the pair held ahead.
	d.keys("1")
	if j, ok := d.mine(p0); !ok || j.Grade != 1 || d.curPair() != p1 || d.m.pair.id != p1 {
		t.Fatalf("grade again: %+v %v, Grade on %d, Pair on %d", j, ok, d.curPair(), d.m.pair.id)
	}
	d.keys("esc")
	if d.m.screen != scrGrade || d.curPair() != p1 {
		t.Fatalf("esc: screen %v, pair %d", d.m.screen, d.curPair())
	}
}

// b on the Pair screen shows (and hides again) the other grades at once.
func TestPairBlindToggle(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice", Blind: true}, 120, 40)
	d.keys("enter")
	if s := d.screen(); !strings.Contains(s, "hidden until you grade") || strings.Contains(s, "teacher says 3") {
		t.Fatalf("blind Pair screen:\n%s", s)
	}
	d.keys("b")
	if s := d.screen(); strings.Contains(s, "hidden until you grade") || !strings.Contains(s, "teacher says 3") {
		t.Fatalf("b on the Pair screen did not show the grades:\n%s", s)
	}
	d.keys("b")
	if s := d.screen(); !strings.Contains(s, "hidden until you grade") {
		t.Fatalf("b again did not hide them:\n%s", s)
	}
}

// Issue 12.5, from Adjudicate: j/k walk the open disagreements.
func TestPairWalksDisagreements(t *testing.T) {
	f := adjFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.keys("tab", "tab", "tab", "tab", "enter")
	if d.m.screen != scrPair || d.m.pair.id != f.pairs[0] {
		t.Fatalf("enter on Adjudicate: screen %v pair %d", d.m.screen, d.m.pair.id)
	}
	d.keys("j")
	if d.m.pair.id != f.pairs[3] || !strings.Contains(d.screen(), "expense deadline") {
		t.Fatalf("j: pair %d, want %d\n%s", d.m.pair.id, f.pairs[3], d.screen())
	}
	d.keys("esc")
	if d.m.screen != scrAdjudicate {
		t.Fatalf("esc: screen %v", d.m.screen)
	}
}

// A regrade on the Pair screen taken back leaves the earlier grade: the
// Grade screen does not take the pair back as if it were ungraded.
func TestPairUndoRegrade(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	p0 := d.curPair()
	d.keys("1")
	p1 := d.curPair()
	d.keys("enter", "k", "3") // regrade p0 on Pair, move on
	if j, _ := d.mine(p0); j.Grade != 3 {
		t.Fatalf("regrade: %+v", j)
	}
	d.keys("u")
	if j, ok := d.mine(p0); !ok || j.Grade != 1 {
		t.Fatalf("undo of the regrade: %+v %v", j, ok)
	}
	if d.curPair() != p1 || d.m.pair.id != p0 {
		t.Fatalf("after undo: Grade on %d (want %d), Pair on %d (want %d)", d.curPair(), p1, d.m.pair.id, p0)
	}
	if s := d.screen(); !strings.Contains(s, "undone: grade 3 (back to grade 1)") {
		t.Errorf("undo not said:\n%s", s)
	}
}
