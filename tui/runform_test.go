package tui

import (
	"context"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// TestRunFormSaysWhatItNeeds: each field shows what it needs when
// selected, an empty list says why and refuses to start, the new
// labeler's name is proposed from the teacher and editable, and the name
// typed is the one the run gets.
func TestRunFormSaysWhatItNeeds(t *testing.T) {
	f := newFixture(t)
	var got JobArgs
	started := 0
	teachers := func(ls []store.Labeler) []string {
		var out []string
		for _, l := range ls {
			if l.Kind == store.KindImported {
				out = append(out, l.Name)
			}
		}
		return out
	}
	job := Job{Kind: store.RunTraining, Title: "student training", About: "fits a student to a teacher's grades",
		Labelers: teachers, NeedsGrades: true, LabelerName: "teacher", LabelerHint: "whose grades the student learns",
		NoLabelers: "a teacher needs grades: import a judge's qrels",
		NewName:    func(t string) string { return "student-" + t }, NameHint: "the student's labeler name",
		Start: func(_ context.Context, _ *store.Store, a JobArgs, _ func(Progress)) error {
			got, started = a, started+1
			return nil
		}}
	d := newDriver(t, f, Options{Annotator: "alice", Jobs: []Job{job}}, 120, 40)
	d.keys("ctrl+r", "n")
	if s := d.screen(); !strings.Contains(s, "fits a student to a teacher's grades") {
		t.Fatalf("the job's field does not say what it does:\n%s", s)
	}
	d.keys("down")
	s := d.screen()
	if !strings.Contains(s, "teacher     ") || !strings.Contains(s, "none yet — see below") || !strings.Contains(s, "none available: a teacher needs grades: import a judge's qrels") {
		t.Fatalf("empty teacher list without a reason:\n%s", s)
	}
	d.keys("enter")
	if started != 0 || !strings.Contains(d.screen(), "cannot start: a teacher needs grades") || d.m.runs.form == nil {
		t.Fatalf("started without a teacher (%d):\n%s", started, d.screen())
	}
	// A judge appears (another process imports qrels): the form offers it
	// once it has grades.
	other := otherProcess(t, f)
	judge := store.Labeler{Name: "judge", Kind: store.KindImported}
	if err := other.AddLabeler(context.Background(), &judge); err != nil {
		t.Fatal(err)
	}
	d.send(tickMsg{})
	if s := d.screen(); strings.Contains(s, "‹ judge ›") {
		t.Fatalf("a teacher without grades is offered:\n%s", s)
	}
	if err := other.PutJudgment(context.Background(), &store.Judgment{PairID: f.pairs[0], LabelerID: judge.ID, Grade: 2, Status: store.StatusOK}); err != nil {
		t.Fatal(err)
	}
	d.send(tickMsg{})
	s = d.screen()
	if !strings.Contains(s, "‹ judge ›") || !strings.Contains(s, "whose grades the student learns") {
		t.Fatalf("teacher field:\n%s", s)
	}
	d.keys("down")
	s = d.screen()
	if !strings.Contains(s, "new labeler") || !strings.Contains(s, "student-judge") || !strings.Contains(s, "the student's labeler name") {
		t.Fatalf("name field:\n%s", s)
	}
	// Letters are the name here (j and k too); backspace edits.
	for range len("judge") {
		d.keys("backspace")
	}
	d.typeText("jk v2")
	d.keys("enter")
	if started != 0 || !strings.Contains(d.screen(), "without spaces or commas") {
		t.Fatalf("a name with a space was accepted: %+v", got)
	}
	d.keys("backspace", "backspace", "backspace")
	d.typeText("-v2")
	d.keys("enter")
	if started != 1 || got.Name != "student-jk-v2" || got.Labeler != "judge" {
		t.Fatalf("started %d with %+v", started, got)
	}
}

// TestRunNothingToDo: a run that found no work says "nothing to do" and
// why, not "done 0/0".
func TestRunNothingToDo(t *testing.T) {
	f := newFixture(t)
	job := Job{Kind: store.RunMining, Title: "mining", LimitName: "per query", Limit: 10,
		Start: func(_ context.Context, _ *store.Store, _ JobArgs, progress func(Progress)) error {
			progress(Progress{Kind: store.RunMining, Finished: true, Status: store.RunDone, Notice: "nothing to do: every query already has BM25 negatives"})
			return nil
		}}
	d := newDriver(t, f, Options{Annotator: "alice", Jobs: []Job{job}}, 120, 40)
	d.keys("ctrl+r", "n", "enter")
	s := d.screen()
	if !strings.Contains(s, "mining") || !strings.Contains(s, "nothing to do") || !strings.Contains(s, "every query already has BM25 negatives") || strings.Contains(s, "0/0") {
		t.Fatalf("runs screen:\n%s", s)
	}
}
