package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/selection"
)

func init() {
	register("synth", "write queries from seed documents (LLM, or the built-in offline synthesizer)", runSynth)
	register("mine", "add BM25 hard negatives for queries that have none", runMine)
	register("label", "grade pairs with a labeler (model endpoint, built-in or embedded student)", runLabel)
}

func runSynth(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "synth", "synth [--labeler NAME|offline] [--docs N | --doc IDS] [--per-doc K]")
	labeler := fs.String("labeler", pipeline.OfflineSynthesizer, "model labeler that writes queries, or offline")
	docs := fs.Int("docs", 0, "seed this many documents not seeded yet (0: all)")
	var docIDs multiFlag
	fs.Var(&docIDs, "doc", "seed exactly these document ids (comma-separated or repeated)")
	perDoc := fs.Int("per-doc", 3, "queries per seed document")
	st, _, err := fs.open(ctx, e, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	pp := newProgressPrinter(e.stderr)
	run, err := pipeline.Synthesize(ctx, st, pipeline.SynthOptions{Labeler: *labeler, Docs: *docs, DocIDs: docIDs, PerDoc: *perDoc, Progress: pp.update})
	if err != nil {
		return err
	}
	if run.ID == 0 {
		fmt.Fprintln(e.stdout, "nothing to do: every selected document already has queries from this synthesizer")
		return nil
	}
	fmt.Fprintf(e.stdout, "synthesis run %d: %d seed documents, %d failed\n", run.ID, run.Done, run.Failed)
	return nil
}

func runMine(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "mine", "mine [--negatives K]")
	k := fs.Int("negatives", 10, "BM25 documents per query")
	st, _, err := fs.open(ctx, e, args, 0)
	if err != nil {
		return err
	}
	defer st.Close()
	pp := newProgressPrinter(e.stderr)
	run, err := pipeline.Mine(ctx, st, pipeline.MineOptions{Negatives: *k, Progress: pp.update})
	if err != nil {
		return err
	}
	if run.ID == 0 {
		fmt.Fprintln(e.stdout, "nothing to do: every query already has BM25 negatives")
		return nil
	}
	fmt.Fprintf(e.stdout, "mining run %d: %s searched\n", run.ID, words.Count(run.Done, "query"))
	return nil
}

func runLabel(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "label", "label --labeler NAME [--all] [--limit N [--select student-uncertain|diverse|random [--select-student NAME] [--seed N]]] [--query ID…] [--concurrency N] [--drain DURATION] [--batch]")
	labeler := fs.String("labeler", "", "who grades (`NAME` from qrelbench labeler list)")
	all := fs.Bool("all", false, "regrade pairs already graded by this labeler")
	retry := fs.Bool("retry-failed", false, "deprecated: every run now retries pairs whose last attempt failed")
	limit := fs.Int("limit", 0, "grade at most N pairs")
	var queries multiFlag
	fs.Var(&queries, "query", "only these query ids (comma-separated or repeated)")
	conc := fs.Int("concurrency", 0, "requests in flight (default: the labeler's setting)")
	drain := fs.Duration("drain", pipeline.DefaultDrainTimeout, "on Ctrl-C, how long to wait for the answers already asked for (0: do not wait)")
	batch := fs.Bool("batch", false, "use the OpenAI Batch API (half price, asynchronous; rerun to poll and ingest)")
	sel := fs.String("select", "", "which --limit pairs to grade: "+strings.Join(selection.Strategies(), ", ")+
		" (the embedded student's most uncertain pairs; spread over queries and the student's grades; a random sample)")
	selStudent := fs.String("select-student", "", "the embedded student guiding --select (default: the one trained on this labeler's grades, else lexical's probabilities)")
	seed := fs.Int64("seed", 1, "seed of --select")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *labeler == "" {
		return fmt.Errorf("label needs --labeler NAME")
	}
	if *retry {
		fmt.Fprintln(e.stderr, "label: --retry-failed is no longer needed: a failure is not a grade, so every run asks again the pairs whose last attempt failed (the flag is ignored)")
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	pp := newProgressPrinter(e.stderr)
	dt := *drain
	if dt <= 0 {
		dt = -1 // LabelOptions: negative means do not wait
	}
	opt := pipeline.LabelOptions{Labeler: *labeler, All: *all, Limit: *limit, Queries: queries, Concurrency: *conc, DrainTimeout: dt, Progress: pp.update}
	if *sel != "" {
		if *batch {
			return fmt.Errorf("--select chooses pairs for a synchronous run; it does not combine with --batch")
		}
		opt.Select, opt.SelectStudent, opt.SelectSeed = *sel, *selStudent, *seed
		if *sel == selection.StudentUncertain {
			guide, err := pipeline.SelectionGuide(ctx, st, *labeler, *selStudent)
			if err != nil {
				return err
			}
			if guide == "" {
				// Measured (pipeline/student TestSelectionExperiment): a student
				// trained only on the pairs lexical is least sure of can fall
				// below lexical on other pairs.
				fmt.Fprintf(e.stderr, "label: no student learns from %s yet, so lexical's uncertainty chooses; a teacher set of only those pairs can teach a student that is worse than lexical elsewhere: start with --select diverse, train, then --select student-uncertain\n", *labeler)
			} else {
				fmt.Fprintf(e.stderr, "label: choosing the pairs embedded student %s is least sure of\n", guide)
			}
		}
	}
	if *batch {
		return runBatchLabel(ctx, e, st, opt)
	}
	run, err := pipeline.Label(ctx, st, opt)
	if err != nil {
		if ctx.Err() != nil && run.ID != 0 {
			fmt.Fprintf(e.stderr, "labeling run %d %s\n", run.ID, run.Error)
		}
		return err
	}
	if run.ID == 0 {
		fmt.Fprintf(e.stdout, "nothing to grade: every selected pair already has a grade by %s (use --all to regrade)\n", *labeler)
		return nil
	}
	retried := ""
	if run.Retried > 0 {
		retried = fmt.Sprintf(" (%s asked again)", words.Count(run.Retried, "unparseable answer"))
	}
	fmt.Fprintf(e.stdout, "labeling run %d (%s): %s graded, %s failed%s, %s+%s tokens, $%.4f\n",
		run.ID, *labeler, words.Count(run.Done, "pair"), words.Int(run.Failed), retried, words.Int(int(run.TokensIn)), words.Int(int(run.TokensOut)), run.CostUSD)
	return nil
}
