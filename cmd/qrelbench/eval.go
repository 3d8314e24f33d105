package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/store"
)

func init() {
	register("eval", "score labelers against a reference (agreement, ranking quality, cost), or search systems: eval runs", runEval)
}

func runEval(ctx context.Context, e *env, args []string) error {
	if len(args) > 0 && args[0] == "runs" {
		return runEvalRuns(ctx, e, args[1:])
	}
	const usageLine = "eval --reference LABELER [--labelers A,B,…|all] [--query ID…] [--threshold 2] [--bootstrap 1000] [--json] [--report FILE.md|.html] | --agreement | --cost | runs --qrels LABELER … (see eval runs -h)"
	fs := newFlags(e, "eval", usageLine)
	reference := fs.String("reference", "", "the labeler taken as truth (e.g. human:imported, human:gold)")
	var labelers, queries multiFlag
	fs.Var(&labelers, "labelers", "labelers to score (comma-separated, or all)")
	fs.Var(&queries, "query", "only these query ids")
	threshold := fs.Int("threshold", 0, "binary relevance threshold: grade >= threshold (default 2)")
	bootstrap := fs.Int("bootstrap", 1000, "bootstrap resamples over queries for 95% intervals (0: none)")
	seed := fs.Int64("seed", 1, "bootstrap seed")
	asJSON := fs.Bool("json", false, "print one JSON object")
	report := fs.String("report", "", "write a Markdown or HTML report with PNG pictures beside it")
	agreement := fs.Bool("agreement", false, "pairwise kappa between all labelers and Krippendorff's alpha over human annotators")
	cost := fs.Bool("cost", false, "throughput and cost per labeler from its runs, student vs teacher")
	st, _, err := fs.openRead(ctx, e, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	if *agreement || *cost {
		var v any
		if *agreement {
			if v, err = benchmark.ComputeAgreement(ctx, st); err != nil {
				return err
			}
		} else if v, err = benchmark.ComputeCosts(ctx, st); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(e.stdout, v)
		}
		switch x := v.(type) {
		case benchmark.Agreement:
			printAgreement(e.stdout, x)
		case benchmark.Costs:
			printCosts(e.stdout, x)
		}
		return nil
	}
	if *reference == "" {
		return fmt.Errorf("eval needs --reference LABELER (or --agreement / --cost)")
	}
	ev, err := benchmark.Evaluate(ctx, st, benchmark.EvalOptions{Reference: *reference, Labelers: labelers, Queries: queries,
		Threshold: *threshold, Bootstrap: *bootstrap, Seed: *seed})
	if err != nil {
		return err
	}
	if *report != "" {
		costs, err := benchmark.ComputeCosts(ctx, st)
		if err != nil {
			return err
		}
		files, err := benchmark.WriteReport(*report, ev, costs, st.Scale().Min())
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "wrote %s (%d pictures beside it)\n", *report, len(files))
	}
	if *asJSON {
		return printJSON(e.stdout, ev)
	}
	printEvaluation(e.stdout, ev)
	if ev.Reference == store.GoldLabeler {
		setters, err := st.GoldSetters(ctx)
		if err != nil {
			return err
		}
		printCircular(e.stdout, ev, setters)
	}
	return nil
}

// printCircular warns about labelers scored against gold grades they set
// themselves as adjudicators.
func printCircular(w io.Writer, ev benchmark.Evaluation, setters map[string]int) {
	for _, r := range ev.Labelers {
		if n := setters[r.Labeler]; n > 0 {
			fmt.Fprintf(w, "\ncircular: %s decided %d of the %d gold grades as adjudicator; scoring them against %s measures their own decisions, not agreement\n",
				r.Labeler, n, ev.RefPairs, ev.Reference)
		}
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// evalColumns are the terminal table's columns: header and JSON metric name.
var evalColumns = [][2]string{
	{"kappa", "cohen_kappa"}, {"lin κ", "linear_kappa"}, {"quad κ", "quadratic_kappa"}, {"α ord", "krippendorff_alpha_ordinal"},
	{"bin κ", "binary_kappa"}, {"acc", "accuracy"}, {"±1 acc", "within_one_accuracy"}, {"MAE", "mae"},
	{"F1", "f1"}, {"ρ", "spearman"}, {"τb", "kendall_tau_b"}, {"nDCG@10", "ndcg_at_10"}, {"pair acc", "pairwise_accuracy"},
}

func printEvaluation(w io.Writer, ev benchmark.Evaluation) {
	fmt.Fprintf(w, "reference %s (%d graded pairs), scale %s, relevant = grade >= %d\n", ev.Reference, ev.RefPairs, ev.Scale, ev.Threshold)
	// Metrics are rows and labelers columns, so the table stays within a
	// terminal's width for the usual handful of labelers.
	const cellWidth = 21
	fmt.Fprintf(w, "\n%-10s", "")
	for _, r := range ev.Labelers {
		fmt.Fprintf(w, " %*s", cellWidth, clipName(r.Labeler, cellWidth))
	}
	fmt.Fprintf(w, "\n%-10s", "n (cover)")
	for _, r := range ev.Labelers {
		fmt.Fprintf(w, " %*s", cellWidth, fmt.Sprintf("%d (%.0f%%)", r.N, r.Coverage*100))
	}
	fmt.Fprintln(w)
	unreliable := false
	for _, c := range evalColumns {
		fmt.Fprintf(w, "%-10s", c[0])
		for _, r := range ev.Labelers {
			fmt.Fprintf(w, " %*s", cellWidth, r.Cell(c[1]))
			unreliable = unreliable || r.Unreliable(c[1])
		}
		fmt.Fprintln(w)
	}
	if len(ev.Labelers) > 0 && ev.Labelers[0].Bootstrap > 0 {
		fmt.Fprintf(w, "[lo, hi]: 95%% bootstrap interval over queries (%d resamples)\n", ev.Labelers[0].Bootstrap)
	}
	fmt.Fprintln(w, "— undefined on this data")
	if unreliable {
		fmt.Fprintln(w, benchmark.UnreliableNote)
	}
	for _, r := range ev.Labelers {
		fmt.Fprintf(w, "\n%s vs %s: confusion (rows: reference grade, columns: %s)\n", r.Labeler, ev.Reference, r.Labeler)
		for i, row := range r.Confusion {
			fmt.Fprintf(w, "  %d |", r.MinGrade+i)
			for _, n := range row {
				fmt.Fprintf(w, " %6d", n)
			}
			g := r.MinGrade + i
			switch {
			case slices.Contains(r.Undefined, fmt.Sprintf("per_grade_accuracy[%d]", g)):
				fmt.Fprintf(w, "   recall —  (no reference pair has grade %d)\n", g)
			case r.GradeRecallUnreliable(i):
				fmt.Fprintf(w, "   recall %.2f%s\n", r.PerGradeAccuracy[i], benchmark.UnreliableMark)
			default:
				fmt.Fprintf(w, "   recall %.2f\n", r.PerGradeAccuracy[i])
			}
		}
		var undef []string
		for _, u := range r.Undefined {
			if !strings.HasPrefix(u, "per_grade_accuracy[") {
				undef = append(undef, u)
			}
		}
		if len(undef) > 0 {
			fmt.Fprintf(w, "  undefined on this data: %s\n", strings.Join(undef, ", "))
		}
	}
	for _, s := range ev.Skipped {
		fmt.Fprintf(w, "\nskipped %s\n", s)
	}
}

func clipName(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func printAgreement(w io.Writer, a benchmark.Agreement) {
	fmt.Fprintln(w, "pairwise Cohen's kappa (unweighted) over the pairs both labelers graded; — where undefined or no overlap")
	fmt.Fprintf(w, "%-20s", "")
	for _, n := range a.Labelers {
		fmt.Fprintf(w, " %10s", clipName(n, 10))
	}
	fmt.Fprintln(w)
	small := false
	for i, n := range a.Labelers {
		fmt.Fprintf(w, "%-20s", clipName(n, 20))
		for j := range a.Labelers {
			cell := "—"
			if k := a.Kappa[i][j]; k != nil {
				cell = fmt.Sprintf("%.3f", *k)
				if i != j && a.Overlap[i][j] < benchmark.MinReliableN {
					cell += benchmark.UnreliableMark
					small = true
				}
			}
			fmt.Fprintf(w, " %10s", cell)
		}
		fmt.Fprintln(w)
	}
	if small {
		fmt.Fprintf(w, "%s unreliable: from fewer than %d pairs both graded\n", benchmark.UnreliableMark, benchmark.MinReliableN)
	}
	switch {
	case len(a.Humans) < 2:
		fmt.Fprintf(w, "\nKrippendorff's alpha over human annotators: needs at least two humans (have %d)\n", len(a.Humans))
	case a.HumanAlpha == nil:
		fmt.Fprintf(w, "\nKrippendorff's alpha over %s: undefined (%d pairs graded by two or more)\n", strings.Join(a.Humans, ", "), a.HumanAlphaUnits)
	default:
		mark := ""
		if a.HumanAlphaUnits < benchmark.MinReliableN {
			mark = fmt.Sprintf(" %s unreliable: fewer than %d pairs", benchmark.UnreliableMark, benchmark.MinReliableN)
		}
		fmt.Fprintf(w, "\nKrippendorff's ordinal alpha over %s: %.3f (%d pairs graded by two or more)%s\n", strings.Join(a.Humans, ", "), *a.HumanAlpha, a.HumanAlphaUnits, mark)
	}
}

func printCosts(w io.Writer, c benchmark.Costs) {
	if len(c.Rows) == 0 {
		fmt.Fprintln(w, "no labeling runs recorded yet")
		return
	}
	fmt.Fprintf(w, "%-22s %-8s %-8s %9s %10s %10s %10s %12s\n", "labeler", "kind", "role", "pairs", "pairs/s", "tok in/p", "tok out/p", "USD/1k pairs")
	for _, r := range c.Rows {
		rate := "—"
		if r.PairsPerSecond != nil {
			rate = fmt.Sprintf("%.1f", *r.PairsPerSecond)
		}
		fmt.Fprintf(w, "%-22s %-8s %-8s %9d %10s %10.1f %10.1f %12.4f\n", clipName(r.Labeler, 22), r.Kind, r.Role, r.Pairs, rate, r.TokensInPair, r.TokensOutPair, r.USDPer1000)
	}
	for _, cmp := range c.Comparisons {
		tr, cr := "—", "—"
		if cmp.ThroughputRatio != nil {
			tr = fmt.Sprintf("%.1fx the throughput", *cmp.ThroughputRatio)
		}
		if cmp.CostRatio != nil {
			cr = fmt.Sprintf("%.3fx the cost (1/%.1f)", *cmp.CostRatio, 1 / *cmp.CostRatio)
			if *cmp.CostRatio == 0 {
				cr = "no cost (in-process)"
			}
		}
		fmt.Fprintf(w, "\nstudent %s vs teacher %s: %s, %s\n", cmp.Student, cmp.Teacher, tr, cr)
	}
	// What the embedded students were expected to be worth when trained:
	// cheap is only useful if it is not worse than lexical.
	for _, r := range c.Rows {
		if r.Estimate != nil {
			fmt.Fprintf(w, "\n%s at training: %s\n  %s\n", r.Labeler, benchmark.EstimateShort(*r.Estimate), benchmark.EstimateVerdict(*r.Estimate, r.Labeler))
		}
	}
}
