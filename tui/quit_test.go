package tui

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// Issue 12.3: q while a run started here is going asks first, says where
// the run is and how it resumes; n keeps working, y stops it (with a cause
// a person can read) and quits once it has stopped.
func TestQuitAsksWhileARunGoes(t *testing.T) {
	f := newFixture(t)
	var cause error
	job := Job{Kind: store.RunLabeling, Title: "labeling",
		Start: func(ctx context.Context, _ *store.Store, _ JobArgs, _ func(Progress)) error {
			<-ctx.Done()
			cause = context.Cause(ctx)
			return ctx.Err()
		}}
	d := newDriver(t, f, Options{Jobs: []Job{job}, Command: "qrelbench --db w.db"}, 100, 30)
	run := d.m.runs.start(d.m, job, JobArgs{Labeler: "teacher"})
	// (Not d.send: the command it returns waits for the next snapshot.)
	d.m.Update(runProgressMsg{key: 0, ok: true, p: Progress{Kind: store.RunLabeling, Labeler: "teacher", Done: 1054, Total: 2123}})

	d.keys("q")
	if d.quit || d.m.quitting {
		t.Fatal("q quit at once while a run was going")
	}
	s := d.screen()
	for _, want := range []string{"a labeling run is at 1,054/2,123 — quit and stop it?  y yes · n no",
		"it resumes with `qrelbench --db w.db label --labeler teacher`"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q not on the screen:\n%s", want, s)
		}
	}
	d.keys("n")
	if d.m.quitting || d.m.runs.active() != 1 || cause != nil {
		t.Fatalf("n stopped something: quitting %v, %d active", d.m.quitting, d.m.runs.active())
	}
	if !strings.Contains(d.screen(), "still working: the run goes on") {
		t.Errorf("no notice after n:\n%s", d.screen())
	}
	// The answer is not taken as a grade.
	if _, ok := d.mine(f.pairs[0]); ok {
		t.Fatal("the answer key graded a pair")
	}
	d.keys("q", "y")
	if !d.m.quitting || d.quit {
		t.Fatalf("after y: quitting %v, quit %v (the run has not stopped yet)", d.m.quitting, d.quit)
	}
	d.run(run) // the run sees its context canceled and returns
	if !d.quit {
		t.Fatal("did not quit once the run stopped")
	}
	if !errors.Is(cause, errQuitStopped) || !strings.Contains(cause.Error(), "workbench was closed") {
		t.Fatalf("the run was stopped with cause %v", cause)
	}
}

// Without a run, q quits at once (after the writes), as before.
func TestQuitWithoutRunsDoesNotAsk(t *testing.T) {
	f := newFixture(t)
	d := newDriver(t, f, Options{}, 100, 30)
	d.keys("q")
	if !d.quit {
		t.Fatalf("q did not quit:\n%s", d.screen())
	}
}
