package main

import (
	"context"
	"fmt"

	"github.com/qrelbench/qrelbench/pipeline"
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
	fmt.Fprintf(e.stdout, "mining run %d: %d queries searched\n", run.ID, run.Done)
	return nil
}

func runLabel(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "label", "label --labeler NAME [--all] [--retry-failed] [--limit N] [--query ID…] [--concurrency N] [--batch]")
	labeler := fs.String("labeler", "", "who grades (`NAME` from qrelbench labeler list)")
	all := fs.Bool("all", false, "regrade pairs already graded by this labeler")
	retry := fs.Bool("retry-failed", false, "also retry pairs whose answer was unparseable or refused")
	limit := fs.Int("limit", 0, "grade at most N pairs")
	var queries multiFlag
	fs.Var(&queries, "query", "only these query ids (comma-separated or repeated)")
	conc := fs.Int("concurrency", 0, "requests in flight (default: the labeler's setting)")
	batch := fs.Bool("batch", false, "use the OpenAI Batch API (half price, asynchronous; rerun to poll and ingest)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *labeler == "" {
		return fmt.Errorf("label needs --labeler NAME")
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	pp := newProgressPrinter(e.stderr)
	opt := pipeline.LabelOptions{Labeler: *labeler, All: *all, RetryFailed: *retry, Limit: *limit, Queries: queries, Concurrency: *conc, Progress: pp.update}
	if *batch {
		return runBatchLabel(ctx, e, st, opt)
	}
	run, err := pipeline.Label(ctx, st, opt)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintf(e.stderr, "stopped: %d pairs graded and saved in run %d; rerun the same command to finish the rest\n", run.Done, run.ID)
		}
		return err
	}
	if run.ID == 0 {
		fmt.Fprintf(e.stdout, "nothing to grade: every selected pair already has a judgment by %s (use --all to regrade, --retry-failed to retry failures)\n", *labeler)
		return nil
	}
	fmt.Fprintf(e.stdout, "labeling run %d (%s): %d pairs graded, %d failed, %d+%d tokens, $%.4f\n",
		run.ID, *labeler, run.Done, run.Failed, run.TokensIn, run.TokensOut, run.CostUSD)
	return nil
}
