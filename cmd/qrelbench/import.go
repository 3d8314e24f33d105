package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/qrelbench/qrelbench/store/ingest"
	"github.com/qrelbench/qrelbench/store/quote"
)

func init() {
	register("import", "import docs, queries, pairs, qrels or a search system's run (all-or-nothing)", runImport)
}

func runImport(ctx context.Context, e *env, args []string) error {
	const usageLine = "import docs FILE|DIR [--max-file-size 16MiB] | queries FILE | pairs FILE [--grades-as NAME] | qrels FILE --labeler NAME [--skip-unknown] | run FILE [--system NAME] [--skip-unknown] [--replace]  [--update]"
	fs := newFlags(e, "import", usageLine)
	update := fs.Bool("update", false, "replace stored records whose content differs instead of failing")
	gradesAs := fs.String("grades-as", "human:imported", "pairs: labeler that human_grade is recorded as")
	labeler := fs.String("labeler", "", "qrels: labeler whose grades these are")
	skipUnknown := fs.Bool("skip-unknown", false, "qrels, run: skip lines whose query or document is not in the workspace")
	system := fs.String("system", "", "run: file every line under this system name instead of its tag")
	replace := fs.Bool("replace", false, "run: replace the results of a stored system whose results differ")
	maxFile := byteSize(ingest.DefaultMaxFileBytes)
	fs.Var(&maxFile, "max-file-size", "docs DIR: skip (and report) files larger than this (e.g. 16MiB, 500KiB)")
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
		sum, err = ingest.ImportDocsWith(ctx, st, path, ingest.DocOptions{Update: *update, MaxFileBytes: int64(maxFile)})
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
		return fmt.Errorf("import what? %s is not docs, queries, pairs, qrels or run", quote.Input(kind))
	}
	if err != nil {
		return fmt.Errorf("%w\nnothing was imported", err)
	}
	fmt.Fprintln(e.stdout, sum)
	return nil
}

// byteSize is a flag holding a number of bytes, written with an optional
// binary suffix: 500KiB, 16MiB, 1GiB (K, M, G and KB, MB, GB mean the same).
type byteSize int64

func (b *byteSize) String() string {
	switch n := int64(*b); {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	default:
		return strconv.FormatInt(n, 10)
	}
}

func (b *byteSize) Set(v string) error {
	s := strings.ToUpper(strings.TrimSpace(v))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GIB", 1 << 30}, {"MIB", 1 << 20}, {"KIB", 1 << 10}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("not a size: %s (write e.g. 16MiB or 500KiB)", quote.Input(v))
	}
	*b = byteSize(n * mult)
	return nil
}
