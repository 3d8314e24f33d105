package tui

import (
	"context"
	"strings"
	"testing"
)

// Issue 12.15: the guidelines are one key (i) from Grade, listed in Help,
// rendered from the workspace (read again on each visit), and esc or i goes
// back to the pair being graded, which stays as it was.
func TestGuidelinesScreen(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{Annotator: "alice", Command: "qrelbench --db w.db"}, 100, 24)
	p := d.curPair()
	if !strings.Contains(d.screen(), "i guidelines") {
		t.Errorf("the Grade footer does not offer the guidelines:\n%s", d.screen())
	}
	d.keys("i")
	s := d.screen()
	if d.m.screen != scrGuidelines || !strings.Contains(s, "No guidelines in this workspace yet.") ||
		!strings.Contains(strings.Join(strings.Fields(s), " "), "qrelbench --db w.db guidelines set FILE.md") || !strings.Contains(s, "3 Perfectly relevant") {
		t.Fatalf("guidelines screen without guidelines:\n%s", s)
	}
	d.keys("esc")
	if d.m.screen != scrGrade || d.curPair() != p {
		t.Fatalf("esc: screen %v pair %d", d.m.screen, d.curPair())
	}
	text := "# How we grade\n\nGrade what the document **answers**, not its topic. A page that only links to the answer is at most\n1 (Related).\n\n- Outdated policies: grade as if current, add a note.\n- Duplicates: grade each copy.\n\n1. Read the query.\n2. Read the document.\n"
	if err := f.st.SetGuidelines(context.Background(), text, "team-guidelines.md"); err != nil {
		t.Fatal(err)
	}
	d.keys("i")
	s = d.screen()
	for _, want := range []string{"Guidelines  from team-guidelines.md", "How we grade", "Grade what the document answers, not its topic.",
		"• Outdated policies: grade as if current, add a note.", "1. Read the query.", "Guidelines"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q not on the guidelines screen:\n%s", want, s)
		}
	}
	if strings.Contains(s, "**") {
		t.Errorf("emphasis markers shown:\n%s", s)
	}
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, "…") {
			t.Errorf("a cut line: %q", l)
		}
	}
	d.keys("2") // not a grade here
	if _, ok := d.mine(p); ok {
		t.Fatal("a digit on the guidelines graded the pair")
	}
	d.keys("i")
	if d.m.screen != scrGrade {
		t.Fatalf("i again: screen %v", d.m.screen)
	}
	d.keys("?")
	if s := d.screen(); !strings.Contains(s, "the guidelines and the grade scale") {
		t.Errorf("Help does not list the guidelines:\n%s", s)
	}
	// Tab order does not include it.
	for _, sc := range d.m.tabs() {
		if sc == scrGuidelines {
			t.Fatal("Guidelines is a tab")
		}
	}
}
