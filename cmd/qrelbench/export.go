package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/qrelbench/qrelbench/store/ingest"
	"github.com/qrelbench/qrelbench/store/quote"
)

func init() {
	register("export", "export qrels of a labeler, or all pairs with every grade", runExport)
}

func runExport(ctx context.Context, e *env, args []string) error {
	const usageLine = "export qrels --labeler NAME [--out FILE] | pairs [--format jsonl|csv|tsv] [--out FILE]"
	fs := newFlags(e, "export", usageLine)
	labeler := fs.String("labeler", "", "qrels: whose grades")
	format := fs.String("format", "jsonl", "pairs: jsonl (re-importable), or csv / tsv (one row per pair, columns grade:, expected:, note: per labeler)")
	out := fs.String("out", "", "output file (default standard output)")
	st, pos, err := fs.openRead(ctx, e, args, 1)
	if err != nil {
		return err
	}
	defer st.Close()
	pf, err := ingest.ParseFormat(*format)
	if err != nil {
		return err
	}
	return writeOutput(*out, e.stdout, func(w io.Writer) error {
		var n int
		var err error
		switch pos[0] {
		case "qrels":
			if *labeler == "" {
				return fmt.Errorf("export qrels needs --labeler NAME")
			}
			n, err = ingest.ExportQrels(ctx, st, *labeler, w)
		case "pairs":
			n, err = ingest.ExportPairs(ctx, st, w, pf)
		default:
			return fmt.Errorf("export what? %s is not qrels or pairs", quote.Input(pos[0]))
		}
		if err == nil && *out != "" {
			what := "lines"
			if pos[0] == "pairs" {
				what = "pairs"
			}
			if n == 1 {
				what = what[:len(what)-1]
			}
			fmt.Fprintf(e.stderr, "wrote %d %s to %s\n", n, what, *out)
		}
		return err
	})
}

// writeOutput runs write against a file written atomically (temp file then
// rename, so a failed export never leaves half a file) or stdout.
func writeOutput(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path == "" || path == "-" {
		return write(stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
