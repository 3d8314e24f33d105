package main

import (
	"context"
	"fmt"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/tui"
	"github.com/qrelbench/qrelbench/tui/jobs"
)

func init() {
	register("tui", "the workbench: grade pairs, browse grades, agreement stats, background runs (default)", runTUI)
}

func runTUI(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tui", "tui [--as NAME] [--blind=false] [--priority]")
	as := fs.String("as", "", "annotator name; grades are stored as labeler human:NAME (default: your login name)")
	blind := fs.Bool("blind", true, "hide other labelers' grades on a pair until you have graded it")
	priority := fs.Bool("priority", false, "grade first the pairs where the teacher and the student disagree most or are least certain")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("tui takes no arguments (got %q)", pos)
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	return runWorkbench(ctx, e, st, *as, *blind, *priority)
}

// openWorkbench opens the workbench after `demo` built its workspace.
func openWorkbench(ctx context.Context, e *env, st *store.Store, as string) error {
	return runWorkbench(ctx, e, st, as, true, false)
}

func runWorkbench(ctx context.Context, e *env, st *store.Store, as string, blind, priority bool) error {
	return tui.Run(ctx, st, tui.Options{Annotator: as, Blind: blind, Priority: priority, Jobs: jobs.Default(), Input: e.stdin, Output: e.stdout})
}
