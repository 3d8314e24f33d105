package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// TestStatsTellsTheTruth: small samples are marked, the gold set by an
// adjudicator is called circular, long labeler names are abbreviated with
// a legend (never cut silently), the distribution reads without colour, and
// one grade's speed is not shown as a fact.
func TestStatsTellsTheTruth(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	bob := f.grade(t, "bob", f.pairs[0], 3, "")
	f.grade(t, "bob", f.pairs[1], 0, "")
	if err := f.st.SetAdjudicator(ctx, "human:bob", true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Adjudicate(ctx, f.pairs[0], bob.ID, 3, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.Adjudicate(ctx, f.pairs[1], bob.ID, 0, ""); err != nil {
		t.Fatal(err)
	}
	long := store.Labeler{Name: "student-distilled-v2", Kind: store.KindStudent}
	if err := f.st.AddLabeler(ctx, &long); err != nil {
		t.Fatal(err)
	}
	for _, p := range f.pairs {
		if err := f.st.PutJudgment(ctx, &store.Judgment{PairID: p, LabelerID: long.ID, Grade: 1, Status: store.StatusOK}); err != nil {
			t.Fatal(err)
		}
	}
	d := newDriver(t, f, Options{Annotator: "alice"}, 120, 40)
	d.clock = d.clock.Add(4 * 1e9)
	d.keys("2", "ctrl+s")
	if d.m.screen != scrStats {
		d.run(d.m.show(scrStats))
	}
	s := d.screen()
	for _, want := range []string{
		"1.00*†", // gold vs bob: 2 pairs, and circular
		"* unreliable: from fewer than 30 pairs",
		"† circular: an adjudicator against the gold grades they set",
		"studen1=student-distilled-v2", // abbreviated (student is taken), with the legend
		"░ 0 Irrelevant",               // the glyph legend
		"0:0 1:6 2:0 3:0",              // counts labelled by grade
		"* unreliable: speed from fewer than 30 pairs",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("Stats lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "student-") && !strings.Contains(s, "=student-distilled-v2") {
		t.Errorf("a name cut without a legend:\n%s", s)
	}
}
