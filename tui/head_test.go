package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

// oneDocWorkspace is a workspace with one query and the documents given.
func oneDocWorkspace(t testing.TB, query string, docs ...store.Document) *fixture {
	t.Helper()
	ctx := context.Background()
	st := emptyStore(t)
	f := &fixture{st: st}
	q := store.Query{ExtID: "q1", Text: query}
	if _, err := st.PutQuery(ctx, &q, false); err != nil {
		t.Fatal(err)
	}
	for i := range docs {
		if _, err := st.PutDocument(ctx, &docs[i], false); err != nil {
			t.Fatal(err)
		}
		p := store.Pair{QueryID: q.ID, DocID: docs[i].ID, Source: store.SourceImported}
		if _, err := st.PutPair(ctx, &p); err != nil {
			t.Fatal(err)
		}
		f.pairs = append(f.pairs, p.ID)
	}
	return f
}

// Issue 12.10/12.11: the document header names each distinct thing once,
// and a long URL wraps instead of being cut.
func TestDocumentHeader(t *testing.T) {
	url := "https://intranet.example.com/wiki/it/networking/remote-access/vpn-setup-for-new-laptops.html"
	f := oneDocWorkspace(t, "vpn setup",
		store.Document{ExtID: "vpn-setup.txt", Title: "vpn-setup", Body: "Install the client.", Meta: map[string]any{"path": "vpn-setup.txt"}},
		store.Document{ExtID: "kb-17", Title: "VPN setup for new laptops", Body: "Install the client.", URL: url, Author: "IT Helpdesk", Type: "page"},
	)
	d := newDriver(t, f, Options{}, 80, 24)
	s := d.screen()
	if n := strings.Count(s, "vpn-setup.txt"); n != 1 {
		t.Errorf("vpn-setup.txt shown %d times:\n%s", n, s)
	}
	if !strings.Contains(s, "vpn-setup · vpn-setup.txt") {
		t.Errorf("title and id not shown:\n%s", s)
	}
	d.keys("2")
	s = d.screen()
	if joined := strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "")), ""); !strings.Contains(joined, url) {
		t.Errorf("the URL is cut at 80 columns:\n%s", s)
	}
	for _, want := range []string{"VPN setup for new laptops · kb-17 · IT Helpdesk", "page"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q not in the header:\n%s", want, s)
		}
	}
	// The Pair screen shows the same header.
	d.keys("enter")
	if s := strings.Join(strings.Fields(strings.ReplaceAll(d.screen(), "\n", "")), ""); !strings.Contains(s, url) {
		t.Errorf("the URL is cut on the Pair screen:\n%s", d.screen())
	}
}

// Issue 12.15: the status line shows the annotator's progress as a bar and
// a percentage, and the time left at their own pace (the median time on
// task, so a long pause does not swing it), marked rough until 30 grades.
func TestProgressBarAndPace(t *testing.T) {
	var docs []store.Document
	for i := 0; i < 40; i++ {
		docs = append(docs, store.Document{ExtID: fmt.Sprintf("d%d", i), Title: fmt.Sprintf("Doc %d", i), Body: "text"})
	}
	f := oneDocWorkspace(t, "some query", docs...)
	d := newDriver(t, f, Options{}, 200, 30)
	if st := statusOf(d); !strings.Contains(st, "0%  graded by me 0 · left 40 · 40 pairs") || strings.Contains(st, "pace") {
		t.Fatalf("before any grade: %q", st)
	}
	grade := func(n int, each time.Duration) {
		for i := 0; i < n; i++ {
			d.clock = d.clock.Add(each)
			d.keys("1")
		}
	}
	grade(4, 10*time.Second)
	if st := statusOf(d); !strings.Contains(st, "10%  graded by me 4 · left 36 · ≈6m00s at your pace (rough: 4 grades)") {
		t.Fatalf("after 4 grades: %q", st)
	}
	grade(1, time.Hour) // a lunch break on one pair
	grade(25, 10*time.Second)
	st := statusOf(d)
	if !strings.Contains(st, "75%  graded by me 30 · left 10 · about 1m40s at your pace") || strings.Contains(st, "rough") {
		t.Fatalf("after 30 grades: %q", st)
	}
	if !strings.Contains(st, "▕█████████") {
		t.Errorf("no bar: %q", st)
	}
	// The pace is the annotator's own, read back when they come again.
	again := newDriver(t, f, Options{}, 200, 30)
	if st := statusOf(again); !strings.Contains(st, "about 1m40s at your pace") {
		t.Fatalf("reopened: %q", st)
	}
	bob := newDriver(t, f, Options{Annotator: "bob"}, 200, 30)
	if st := statusOf(bob); strings.Contains(st, "pace") {
		t.Fatalf("bob has no pace yet: %q", st)
	}
}

// Issue 12.11/12.12 on the Pair screen: the probability bars are labelled
// per grade with a legend, long labeler names are shortened the same way
// as elsewhere with what they stand for, and nothing in the table is cut at
// 120 or 80 columns.
func TestPairTableLabelled(t *testing.T) {
	f := newFixture(t)
	long := store.Labeler{Name: "student-distilled-from-gpt4o-mini", Kind: store.KindStudent}
	if err := f.st.AddLabeler(context.Background(), &long); err != nil {
		t.Fatal(err)
	}
	j := store.Judgment{PairID: f.pairs[0], LabelerID: long.ID, Grade: 2, Status: store.StatusOK, Probs: []float64{0.05, 0.15, 0.5, 0.3}, Expected: 2.05, HasExpected: true}
	if err := f.st.PutJudgment(context.Background(), &j); err != nil {
		t.Fatal(err)
	}
	for _, w := range []int{120, 80} {
		d := newDriver(t, f, Options{}, w, 40)
		d.keys("enter")
		s := d.screen()
		for _, want := range []string{"P(0) P(1) P(2) P(3)", "P(g): probability of grade g (a full bar is 100%)", "exp: expected grade",
			"student-distilled-from-gpt4o-mini", "██··"} {
			if !strings.Contains(strings.Join(strings.Fields(s), " "), strings.Join(strings.Fields(want), " ")) {
				t.Errorf("%d columns: %q not on the Pair screen:\n%s", w, want, s)
			}
		}
		// The long name: whole at 120 columns, shortened with a legend at 80.
		if w == 80 && !strings.Contains(s, "student-distille=student-distilled-from-gpt4o-mini") ||
			w == 120 && !strings.Contains(s, " student-distilled-from-gpt4o-mini student ") {
			t.Errorf("%d columns: the long labeler name:\n%s", w, s)
		}
		lines := strings.Split(s, "\n")
		for _, l := range lines[:12] {
			if strings.Contains(l, "…") {
				t.Errorf("%d columns: a cut line %q", w, l)
			}
		}
	}
}

// A count read while a grade was on its way (a refresh tick) does not take
// back what the status line shows; the counts are read again once the
// grade is saved.
func TestStaleCountIgnored(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{}, 120, 30)
	early := d.m.grade.progressCmd(d.m) // a refresh, read before the grade
	_, write := d.m.Update(keyMsg("2"))
	if st := statusOf(d); !strings.Contains(st, "graded by me 1 · left 5") {
		t.Fatalf("after the key: %q", st)
	}
	d.send(early()) // counts from before the grade: graded 0, left 6
	if st := statusOf(d); !strings.Contains(st, "graded by me 1 · left 5") {
		t.Fatalf("a stale count took back the grade: %q", st)
	}
	d.run(write)
	if st := statusOf(d); !strings.Contains(st, "graded by me 1 · left 5") {
		t.Fatalf("after the write and the recount: %q", st)
	}
	if d.m.grade.recount {
		t.Error("the recount is still pending")
	}
}
