package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

func TestProbUncertainty(t *testing.T) {
	cases := map[string]uint8{
		"[1,0,0,0]":           0,
		"[0.3,0.2,0.3,0.2]":   250, // two grades tie
		"[0.1,0.6,0.2,0.1]":   150, // margin 0.4
		"[0.2,0.3,0.35,0.15]": 238, // margin 0.05: broad, but not the broadest
		"":                    noProbs,
		"[x]":                 noProbs,
		"[0,0,0,0]":           noProbs,
	}
	for in, want := range cases {
		if got := probUncertainty(in); got != want {
			t.Errorf("%q: %d, want %d", in, got, want)
		}
	}
}

// TestUncertainSelectsAMinority: on a student whose distributions are all
// broad (as the embedded student's are: the old "spread ≥ 0.5" rule took
// nearly every pair), "student uncertain" takes the least certain tenth,
// says its threshold, and never takes a confident pair.
func TestUncertainSelectsAMinority(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// 8 more queries × 3 documents = 24 pairs: margins 0.01, 0.02, … 0.24.
	docs := make([]int64, 3)
	for i := range docs {
		d, err := f.st.DocumentByExtID(ctx, fmt.Sprintf("d%d", i+1))
		if err != nil {
			t.Fatal(err)
		}
		docs[i] = d.ID
	}
	n := 0
	var least []int64
	for q := 0; q < 8; q++ {
		qq := store.Query{ExtID: fmt.Sprintf("u%d", q), Text: fmt.Sprintf("uncertain query %d", q)}
		if _, err := f.st.PutQuery(ctx, &qq, false); err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			p := store.Pair{QueryID: qq.ID, DocID: d, Source: store.SourceImported}
			if _, err := f.st.PutPair(ctx, &p); err != nil {
				t.Fatal(err)
			}
			n++
			m := float64(n) / 100
			probs := []float64{0.2, (0.6 - m) / 2, (0.6 + m) / 2, 0.2}
			if err := f.st.PutJudgment(ctx, &store.Judgment{PairID: p.ID, LabelerID: f.student.ID, Grade: 2, Status: store.StatusOK, Probs: probs}); err != nil {
				t.Fatal(err)
			}
			if n <= 2 {
				least = append(least, p.ID)
			}
		}
	}
	d := newDriver(t, f, Options{Annotator: "alice"}, 140, 40)
	d.keys("tab", "F") // previous filter from "all": student uncertain
	b := &d.m.browse
	if b.filter != fUncertain {
		t.Fatalf("filter %d", b.filter)
	}
	// 30 pairs with probabilities: the tenth is 3 — p4 (margin 0) and the
	// two new pairs of margin 0.01 and 0.02.
	var got []int64
	for i := range b.count() {
		got = append(got, b.idx.id(b.rowAt(i)))
	}
	want := append([]int64{f.pairs[4]}, least...)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("uncertain rows %v, want %v", got, want)
	}
	if s := d.screen(); !strings.Contains(s, "student uncertain: top-2 margin ≤ 0.02 (least certain 10% of 30 with probabilities)") {
		t.Fatalf("threshold not shown:\n%s", s)
	}
}

// TestUncertainNeverConfident: when every distribution is confident, the
// filter selects nothing and says why.
func TestUncertainNeverConfident(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, p := range f.pairs {
		if err := f.st.PutJudgment(ctx, &store.Judgment{PairID: p, LabelerID: f.student.ID, Grade: 1, Status: store.StatusOK, Probs: []float64{0.05, 0.9, 0.05, 0}}); err != nil {
			t.Fatal(err)
		}
	}
	d := newDriver(t, f, Options{Annotator: "alice"}, 140, 40)
	d.keys("tab", "F")
	if d.m.browse.count() != 0 || !strings.Contains(d.screen(), "none of 6 pairs has a top-2 margin ≤ 0.50") {
		t.Fatalf("%d rows:\n%s", d.m.browse.count(), d.screen())
	}
}
