package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/qrelbench/qrelbench/benchmark/evalruns"
)

func runEvalRuns(ctx context.Context, e *env, args []string) error {
	const usageLine = "eval runs --qrels LABELER [--systems A,B,…] [--query ID…] [--threshold N] [--ndcg-cut 5,20] [--measure M] " +
		"[--pairs all|adjacent|none] [--compare A,B,…] [--correct-with HUMAN] [--json] [--per-query] [--report FILE.md]"
	fs := newFlags(e, "eval runs", usageLine)
	qrels := fs.String("qrels", "", "labeler whose current grades are the qrels (e.g. human:imported, student)")
	var systems, queries, compare multiFlag
	fs.Var(&systems, "systems", "systems to score (comma-separated; default all)")
	fs.Var(&queries, "query", "only these query ids (comma-separated or repeated)")
	fs.Var(&compare, "compare", "labelers whose system ranking is compared with the --qrels one (comma-separated)")
	threshold := fs.Int("threshold", 0, "binary measures count grade >= N as relevant, as trec_eval -l (default 2, or the scale's top when lower)")
	cuts := fs.String("ndcg-cut", "", "nDCG cutoffs, comma-separated (default 10)")
	measure := fs.String("measure", "", "measure that ranks systems, for the tests, --compare and --correct-with (default ndcg_cut_10)")
	pairs := fs.String("pairs", evalruns.PairsAll, "paired tests between systems: all pairs, adjacent in the ranking, or none")
	correctWith := fs.String("correct-with", "", "human labeler whose grades correct the --qrels estimates (prediction-powered inference)")
	seed := fs.Uint64("seed", 1, "seed of the randomisation test and the bootstrap")
	asJSON := fs.Bool("json", false, "print one JSON object")
	perQuery := fs.Bool("per-query", false, "also print every system's per-query values")
	report := fs.String("report", "", "write a Markdown report to FILE")
	st, _, err := fs.open(ctx, e, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if *qrels == "" {
		return fmt.Errorf("eval runs needs --qrels LABELER (the labeler whose grades are the qrels, e.g. human:imported)")
	}
	var ndcgCuts []int
	for _, c := range strings.Split(*cuts, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		k, err := strconv.Atoi(c)
		if err != nil || k <= 0 {
			return fmt.Errorf("--ndcg-cut: %q is not a positive number", c)
		}
		ndcgCuts = append(ndcgCuts, k)
	}
	rep, err := evalruns.Evaluate(ctx, st, evalruns.Options{Qrels: *qrels, Systems: systems, Queries: queries, Threshold: *threshold,
		NDCGCuts: ndcgCuts, Measure: *measure, Pairs: *pairs, Compare: compare, CorrectWith: *correctWith, Seed: *seed})
	if err != nil {
		return err
	}
	tables := rep.Tables(*perQuery)
	if *report != "" {
		var b bytes.Buffer
		evalruns.WriteMarkdown(&b, "Search systems under "+rep.Qrels+"'s grades", tables)
		if err := os.WriteFile(*report, b.Bytes(), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s\n", *report)
	}
	if *asJSON {
		raw, err := rep.JSON(*perQuery)
		if err != nil {
			return err
		}
		var out bytes.Buffer
		if err := json.Indent(&out, raw, "", "  "); err != nil {
			return err
		}
		out.WriteByte('\n')
		_, err = e.stdout.Write(out.Bytes())
		return err
	}
	evalruns.WriteText(e.stdout, tables)
	return nil
}
