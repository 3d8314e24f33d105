package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/pipeline/distill"
)

func init() {
	register("distill", "teach students from a teacher's grades: export fine-tuning data, run a fine-tuning job, or train the embedded student", runDistill)
}

const distillUsage = "distill export --teacher NAME --out DIR [flags] | finetune --train DIR --base-model MODEL --labeler NEWNAME [flags] | train --teacher NAME --labeler NEWNAME [flags]"

func runDistill(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: qrelbench %s", distillUsage)
	}
	switch args[0] {
	case "export":
		return distillExport(ctx, e, args[1:])
	case "finetune", "fine-tune":
		return distillFinetune(ctx, e, args[1:])
	case "train":
		return distillTrain(ctx, e, args[1:])
	}
	return fmt.Errorf("usage: qrelbench %s", distillUsage)
}

func distillExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "distill export", "distill export --teacher NAME --out DIR [--val-fraction 0.1] [--balance] [--seed N] [--student-labeler NAME] [--query IDS] [--include-human-graded]")
	teacher := fs.String("teacher", "", "labeler whose ok grades are the training targets")
	out := fs.String("out", "", "directory for train.jsonl, val.jsonl and manifest.json")
	valFrac := fs.Float64("val-fraction", distill.DefaultValFraction, "share of pairs held out for validation, in whole queries (0: none)")
	balance := fs.Bool("balance", false, "down-sample train.jsonl's grades to the count of its second most frequent grade (val.jsonl is left as is)")
	seed := fs.Int64("seed", 1, "seed of the query split, the balancing and the shuffle")
	studentLab := fs.String("student-labeler", "", "labeler whose prompt settings the student will be served with (default: json mode, default settings)")
	var queries multiFlag
	fs.Var(&queries, "query", "only these query ids (comma-separated or repeated)")
	withHuman := fs.Bool("include-human-graded", false, "also export pairs that humans graded (contaminates the human benchmark)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *withHuman {
		fmt.Fprintln(e.stderr, distill.HumanWarning)
	}
	vf := *valFrac
	if vf == 0 {
		vf = -1 // the flag's 0 means none; the API's 0 means the default
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	m, err := distill.Export(ctx, st, distill.ExportOptions{Teacher: *teacher, Out: *out, ValFraction: vf, Balance: *balance, Seed: *seed,
		StudentLabeler: *studentLab, Queries: queries, IncludeHumanGraded: *withHuman})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "exported teacher %s's grades to %s (prompt %s, %s mode)\n", m.Teacher, *out, m.PromptVersion, m.Student.Mode)
	for _, split := range []string{"train", "val"} {
		fmt.Fprintf(e.stdout, "  %-5s %6d examples from %s, grades %s\n", split, m.Counts[split], words.Count(m.Queries[split], "query"), gradeCounts(m.Grades[split], m.MinGrade))
	}
	fmt.Fprintf(e.stdout, "  left out: %d failed teacher judgments, %d human-graded pairs, %d by balancing\n",
		m.Excluded.TeacherNotOK, m.Excluded.HumanGraded, m.Excluded.Balanced)
	return nil
}

func gradeCounts(h []int, minGrade int) string {
	parts := make([]string, len(h))
	for i, n := range h {
		parts[i] = fmt.Sprintf("%d:%d", minGrade+i, n)
	}
	return strings.Join(parts, " ")
}

func distillFinetune(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "distill finetune", "distill finetune --train DIR --base-model MODEL --labeler NEWNAME [--endpoint LABELER | --base-url URL --api-key-env VAR] [--epochs N] [--poll 30s] [--restart]")
	train := fs.String("train", "", "`DIR` written by distill export")
	base := fs.String("base-model", "", "model to fine-tune, e.g. gpt-4o-mini-2024-07-18")
	labeler := fs.String("labeler", "", "name of the student labeler to register when the job succeeds")
	endpoint := fs.String("endpoint", "", "labeler whose base URL, API key variable and Azure settings to use")
	baseURL := fs.String("base-url", "", "OpenAI-compatible endpoint (default "+distill.DefaultBaseURL+", when no --endpoint)")
	keyEnv := fs.String("api-key-env", "", "environment variable holding the API key (default "+distill.DefaultAPIKeyEnv+")")
	epochs := fs.Int("epochs", 0, "n_epochs (0: the service's choice)")
	suffix := fs.String("suffix", "", "fine-tuned model name suffix (default: from --labeler)")
	pollEvery := fs.Duration("poll", 30*time.Second, "polling interval")
	restart := fs.Bool("restart", false, "abandon an unfinished fine-tuning run for this labeler and start a new job")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *labeler == "" {
		return fmt.Errorf("distill finetune needs --labeler NEWNAME")
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := distill.Finetune(ctx, st, distill.FinetuneOptions{TrainDir: *train, BaseModel: *base, Labeler: *labeler,
		Endpoint: *endpoint, BaseURL: *baseURL, APIKeyEnv: *keyEnv, Epochs: *epochs, Suffix: *suffix, PollInterval: *pollEvery,
		Restart: *restart, Log: func(s string) { fmt.Fprintln(e.stderr, "finetune:", s) }})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "fine-tuning run %d: job %s succeeded; model %s registered as student labeler %s (grade with `qrelbench label --labeler %s`)\n",
		res.Run.ID, res.JobID, res.Model, res.Labeler.Name, res.Labeler.Name)
	return nil
}

func distillTrain(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "distill train", "distill train --teacher NAME --labeler NEWNAME [--query IDS | --exclude-query IDS] [--include-human-graded]")
	teacher := fs.String("teacher", "", "labeler whose ok grades are the training targets")
	labeler := fs.String("labeler", "", "embedded student labeler to create (or retrain)")
	var queries, exclude multiFlag
	fs.Var(&queries, "query", "train only on these query ids (comma-separated or repeated)")
	fs.Var(&exclude, "exclude-query", "train on every query but these")
	withHuman := fs.Bool("include-human-graded", false, "also train on pairs that humans graded; then evaluate only on other queries (--query/--exclude-query)")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	if *labeler == "" {
		return fmt.Errorf("distill train needs --labeler NEWNAME")
	}
	if *withHuman {
		fmt.Fprintln(e.stderr, distill.HumanWarning)
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := distill.Train(ctx, st, distill.TrainOptions{Teacher: *teacher, Labeler: *labeler, Queries: queries,
		ExcludeQueries: exclude, IncludeHumanGraded: *withHuman})
	if err != nil {
		return err
	}
	s := res.Model.Summary
	fmt.Fprintf(e.stdout, "training run %d: student %s learned from teacher %s: %s of %s, grades %s, train kappa %.3f, %v\n",
		res.Run.ID, res.Labeler.Name, *teacher, words.Count(s.N, "pair"), words.Count(res.Queries, "query"), gradeCounts(s.PerGrade, res.Model.MinGrade), s.TrainKappa, s.Duration.Round(time.Millisecond))
	if res.HumanSkipped > 0 {
		fmt.Fprintf(e.stdout, "  left out %s humans graded (the human benchmark stays unseen)\n", words.Count(res.HumanSkipped, "pair"))
	}
	if res.Estimate != nil {
		for _, line := range benchmark.EstimateLines(*res.Estimate, res.Labeler.Name) {
			fmt.Fprintln(e.stdout, "  "+line)
		}
	} else {
		fmt.Fprintf(e.stdout, "  no estimate of its agreement on new queries: it needs teacher grades on at least two queries (it has %d)\n", res.Queries)
	}
	if res.Retrained {
		fmt.Fprintf(e.stdout, "  replaced %s's model: its old judgments remain until you relabel with `qrelbench label --labeler %s --all`\n", res.Labeler.Name, res.Labeler.Name)
	} else {
		fmt.Fprintf(e.stdout, "  grade with `qrelbench label --labeler %s`\n", res.Labeler.Name)
	}
	return nil
}
