package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
	"github.com/qrelbench/qrelbench/tui"
	"github.com/qrelbench/qrelbench/tui/jobs"
)

func init() {
	register("tui", "the workbench: grade pairs, browse grades, agreement stats, background runs (default)", runTUI)
}

// tuiUsage is also the usage of the bare command, which opens the workbench.
const tuiUsage = "tui [--as NAME] [--k N] [--blind=false] [--priority]"

func runTUI(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "tui", tuiUsage)
	as := fs.String("as", "", "annotator name; grades are stored as labeler human:NAME (default: your login name)")
	k := kFlag(fs)
	blind := fs.Bool("blind", true, "hide other labelers' grades on a pair until you have graded it")
	priority := fs.Bool("priority", false, "grade first the pairs where the teacher and the student disagree most or are least certain")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("tui takes no arguments (got %s)", quote.Input(strings.Join(pos, " ")))
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := applyK(ctx, st, *k); err != nil {
		return err
	}
	relaunch := selfCommand(e) + " tui"
	if *as != "" {
		relaunch += " --as " + shellQuote(*as)
	}
	return openTUI(ctx, e, st, tui.Options{Annotator: *as, Blind: *blind, Priority: *priority, Relaunch: relaunch, Command: selfCommand(e)})
}

// kFlag is the --k flag of tui and serve.
func kFlag(fs *cmdFlags) *int {
	return fs.Int("k", 0, "humans who should grade each pair; stored in the workspace (0: keep the workspace's setting, 1 when never set)")
}

// applyK stores --k in the workspace when given and returns the K in force.
func applyK(ctx context.Context, st *store.Store, k int) (int, error) {
	if k != 0 {
		if err := st.SetAssignK(ctx, k); err != nil {
			return 0, err
		}
	}
	return st.AssignK(ctx)
}

// openWorkbench opens the workbench after `demo` built its workspace.
func openWorkbench(ctx context.Context, e *env, st *store.Store, as string) error {
	relaunch := selfCommand(e) + " tui"
	if as != "" {
		relaunch += " --as " + shellQuote(as)
	}
	return openTUI(ctx, e, st, tui.Options{Annotator: as, Blind: true, Relaunch: relaunch, Command: selfCommand(e)})
}

// openTUI runs the workbench in this terminal (a variable: the tests look
// at the options instead).
var openTUI = func(ctx context.Context, e *env, st *store.Store, opts tui.Options) error {
	opts.Jobs, opts.Input, opts.Output = jobs.Default(), e.stdin, e.stdout
	return tui.Run(ctx, st, opts)
}

// shellQuote quotes a word for a shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:@=+,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
