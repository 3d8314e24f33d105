package main

import (
	"context"
	"fmt"

	"github.com/qrelbench/qrelbench/store/ingest"
)

func init() {
	register("import", "import docs, queries, pairs, qrels or a search system's run (all-or-nothing)", runImport)
}

func runImport(ctx context.Context, e *env, args []string) error {
	const usageLine = "import docs FILE|DIR | queries FILE | pairs FILE [--grades-as NAME] | qrels FILE --labeler NAME [--skip-unknown] | run FILE [--system NAME] [--skip-unknown] [--replace]  [--update]"
	fs := newFlags(e, "import", usageLine)
	update := fs.Bool("update", false, "replace stored records whose content differs instead of failing")
	gradesAs := fs.String("grades-as", "human:imported", "pairs: labeler that human_grade is recorded as")
	labeler := fs.String("labeler", "", "qrels: labeler whose grades these are")
	skipUnknown := fs.Bool("skip-unknown", false, "qrels, run: skip lines whose query or document is not in the workspace")
	system := fs.String("system", "", "run: file every line under this system name instead of its tag")
	replace := fs.Bool("replace", false, "run: replace the results of a stored system whose results differ")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 {
		return fmt.Errorf("usage: qrelbench %s", usageLine)
	}
	kind, path := pos[0], pos[1]
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	var sum *ingest.Summary
	switch kind {
	case "docs", "documents":
		sum, err = ingest.ImportDocs(ctx, st, path, *update)
	case "queries":
		sum, err = ingest.ImportQueries(ctx, st, path, *update)
	case "pairs":
		sum, err = ingest.ImportPairs(ctx, st, path, *gradesAs, *update)
	case "qrels":
		if *labeler == "" {
			return fmt.Errorf("import qrels needs --labeler NAME")
		}
		sum, err = ingest.ImportQrels(ctx, st, path, ingest.QrelsOptions{Labeler: *labeler, SkipUnknown: *skipUnknown, Update: *update})
	case "run":
		sum, err = ingest.ImportRun(ctx, st, path, ingest.RunOptions{System: *system, SkipUnknown: *skipUnknown, Replace: *replace})
	default:
		return fmt.Errorf("import what? %q is not docs, queries, pairs, qrels or run", kind)
	}
	if err != nil {
		return fmt.Errorf("%w\nnothing was imported", err)
	}
	fmt.Fprintln(e.stdout, sum)
	return nil
}
