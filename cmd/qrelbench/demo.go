package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/demo"
	"github.com/qrelbench/qrelbench/store/ingest"
	"github.com/qrelbench/qrelbench/store/quote"
)

func init() {
	register("demo", "build the demo workspace, run the offline pipeline on it and open the workbench", runDemo)
}

// demoDB is where the demo lives unless --db says otherwise, so it never
// mixes with a real workspace in qrelbench.db.
const demoDB = "qrelbench-demo.db"

func runDemo(ctx context.Context, e *env, args []string) error {
	if e.db == defaultDB() && os.Getenv("QRELBENCH_DB") == "" {
		e.db = demoDB
	}
	fs := newFlags(e, "demo", "demo [--fresh] [--no-tui] [--as NAME]")
	fresh := fs.Bool("fresh", false, "delete the demo workspace and build it again")
	noTUI := fs.Bool("no-tui", false, "build and print, do not open the workbench")
	as := fs.String("as", "", "annotator name for the workbench (default: login name)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *fresh {
		// Only ever a workspace the demo built: --db or $QRELBENCH_DB may
		// name a team's workspace or another program's file.
		if err := store.RemoveDemo(ctx, e.db); err != nil {
			return err
		}
	}
	st, err := openDemo(ctx, e.db)
	if err != nil {
		return err
	}
	defer st.Close()
	out := e.stdout
	fmt.Fprintf(out, "demo workspace %s\n", e.db)

	// Every step is idempotent or resumable: rerunning the demo finishes
	// what an interrupted one left and changes nothing otherwise.
	sum, err := ingest.ImportDocsJSONL(ctx, st, "demo corpus (store/demo/corpus.jsonl)", bytes.NewReader(demo.JSONL()), false)
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "  1. corpus:", sum)
	pp := newProgressPrinter(e.stderr)
	srun, err := pipeline.Synthesize(ctx, st, pipeline.SynthOptions{Labeler: pipeline.OfflineSynthesizer, PerDoc: 2, Progress: pp.update})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  2. queries: built-in offline synthesizer seeded %s (2 queries each, deduplicated)\n", words.Count(srun.Done, "document"))
	mrun, err := pipeline.Mine(ctx, st, pipeline.MineOptions{Negatives: 8, Progress: pp.update})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  3. hard negatives: BM25 top-8 for %s\n", words.Count(mrun.Done, "query"))
	for _, name := range []string{"lexical", "bm25"} {
		lrun, err := pipeline.Label(ctx, st, pipeline.LabelOptions{Labeler: name, Progress: pp.update})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  4. labeled %s with the built-in %s grader (%.0f pairs/s)\n", words.Count(lrun.Done, "pair"), name, rate(lrun))
	}
	if err := demoStudent(ctx, e, st); err != nil {
		return err
	}
	if err := runStatsOn(ctx, e, st, false); err != nil {
		return err
	}
	if *noTUI || !isTerminal(e.stdout) {
		fmt.Fprintf(out, "\nopen the workbench with: %s\n", selfCommand(e))
		return nil
	}
	return openWorkbench(ctx, e, st, *as)
}

// openDemo opens the demo workspace, creating it (marked as the demo's)
// when there is none. An existing workspace the demo did not build is
// refused: the demo would pour its fictional corpus into it.
func openDemo(ctx context.Context, path string) (*store.Store, error) {
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		return store.CreateDemo(ctx, path, store.Scales["0-3"])
	}
	demo, err := store.IsDemo(ctx, path)
	if err != nil {
		return nil, err
	}
	if !demo {
		return nil, fmt.Errorf("%s is a workspace that `qrelbench demo` did not build: the demo builds its own (pass --db with a new file name)", quote.Path(path))
	}
	return store.Open(ctx, path)
}

func rate(r store.Run) float64 {
	if r.BusySeconds <= 0 {
		return 0
	}
	return float64(r.Done) / r.BusySeconds
}

func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
