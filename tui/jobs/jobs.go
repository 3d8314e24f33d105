// Package jobs connects the workbench's Runs screen to package pipeline:
// query synthesis, hard-negative mining, labeling and student training,
// started in the background and reporting progress — and, when a run has
// nothing to do, why.
package jobs

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/distill"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/tui"
)

// Default returns the pipeline's runs.
func Default() []tui.Job {
	return []tui.Job{
		{
			Kind: store.RunLabeling, Title: "labeling",
			About:       "a labeler grades every pair it has not graded yet; rerun to resume, nothing is paid twice",
			Labelers:    gradingLabelers,
			LabelerHint: "who grades: the built-ins lexical and bm25 (free), an embedded student, or a model endpoint added with `qrelbench labeler add`",
			NoLabelers:  "add a model endpoint with `qrelbench labeler add NAME --base-url URL --model M`, or train a student",
			LimitName:   "pairs", Limit: 0,
			LimitHint: "grade at most this many pairs (0: every pair left)",
			Start: func(ctx context.Context, st *store.Store, a tui.JobArgs, progress func(tui.Progress)) error {
				run, err := pipeline.Label(ctx, st, pipeline.LabelOptions{Labeler: a.Labeler, Limit: a.Limit, Progress: progress})
				return ended(ctx, st, store.RunLabeling, a.Labeler, progress, run, err)
			},
		},
		{
			Kind: store.RunMining, Title: "mining",
			About:     "BM25 finds hard negatives (candidate documents) for every query that has none yet, as new pairs to grade",
			LimitName: "per query", Limit: 10,
			LimitHint: "how many BM25 documents each query gets as pairs",
			Start: func(ctx context.Context, st *store.Store, a tui.JobArgs, progress func(tui.Progress)) error {
				run, err := pipeline.Mine(ctx, st, pipeline.MineOptions{Negatives: a.Limit, Progress: progress})
				return ended(ctx, st, store.RunMining, "", progress, run, err)
			},
		},
		{
			Kind: store.RunPooling, Title: "pooling",
			About:     "the top documents of every imported search system for each query become pairs to grade, in the order the metrics use, so grading fills exactly what evaluation looks at",
			LimitName: "depth", Limit: 20,
			LimitHint: "how many of each system's top documents per query go into the pool",
			Start:     startPool,
		},
		{
			Kind: store.RunSynthesis, Title: "synthesis",
			About:       "writes queries from seed documents: each document not seeded yet by this writer gets a few",
			Labelers:    synthLabelers,
			LabelerName: "writer",
			LabelerHint: "who writes the queries: offline (built-in, extractive, free) or a model endpoint",
			LimitName:   "documents", Limit: 100,
			LimitHint: "seed at most this many documents not seeded yet (0: all of them)",
			Start: func(ctx context.Context, st *store.Store, a tui.JobArgs, progress func(tui.Progress)) error {
				run, err := pipeline.Synthesize(ctx, st, pipeline.SynthOptions{Labeler: a.Labeler, Docs: a.Limit, Progress: progress})
				return ended(ctx, st, store.RunSynthesis, a.Labeler, progress, run, err)
			},
		},
		{
			Kind: store.RunTraining, Title: "student training",
			About:       "fits an embedded student (in-process, no GPU) to a teacher's grades; then label with it to grade every pair",
			Labelers:    teacherLabelers,
			NeedsGrades: true,
			LabelerName: "teacher",
			LabelerHint: "whose grades the student learns: a model, an imported judge or a built-in that has graded pairs (a built-in teacher only teaches its baseline; humans' grades are the benchmark and are left out)",
			NoLabelers: "a teacher must have graded pairs, and no model, imported judge or built-in has yet: run labeling with one, " +
				"add a model with `qrelbench labeler add`, or import a judge's grades with `qrelbench import qrels FILE --labeler NAME`",
			NewName:  StudentName,
			NameHint: "the name of the student labeler to create (or retrain, if an embedded student of that name exists); no spaces or commas",
			Start: func(ctx context.Context, st *store.Store, a tui.JobArgs, progress func(tui.Progress)) error {
				progress(tui.Progress{Kind: store.RunTraining, Labeler: a.Name, Total: 1, Notice: "training " + a.Name + " on " + a.Labeler + "'s grades"})
				res, err := distill.Train(ctx, st, distill.TrainOptions{Teacher: a.Labeler, Labeler: a.Name})
				p := tui.Progress{RunID: res.Run.ID, Kind: store.RunTraining, Labeler: a.Name, Total: 1, Finished: true, Status: store.RunDone}
				if err != nil {
					p.Status, p.LastError = store.RunFailed, err.Error()
				} else {
					p.Done = 1
					p.Notice = fmt.Sprintf("%s learned from %s of %s; grade with it: labeling → %s", a.Name, words.Count(res.Pairs, "pair"), words.Count(res.Queries, "query"), a.Name)
				}
				progress(p)
				return err
			},
		},
	}
}

// startPool pools every system at the form's depth and ends with a notice
// saying what the pool holds and how much of it is graded.
func startPool(ctx context.Context, st *store.Store, a tui.JobArgs, progress func(tui.Progress)) error {
	if a.Limit <= 0 {
		return fmt.Errorf("the depth must be at least 1")
	}
	systems, err := st.Systems(ctx)
	if err != nil {
		return err
	}
	if len(systems) == 0 {
		progress(tui.Progress{Kind: store.RunPooling, Finished: true, Status: store.RunDone,
			Notice: "nothing to do: no search systems yet; import their ranked lists with `qrelbench import run FILE`"})
		return nil
	}
	res, err := pipeline.Pool(ctx, st, pipeline.PoolOptions{Depth: a.Limit, Progress: progress})
	if err != nil {
		return err
	}
	var graded []string
	for name, n := range res.Graded {
		graded = append(graded, fmt.Sprintf("%s %s", name, words.Int(n)))
	}
	slices.Sort(graded)
	summary := fmt.Sprintf("pool of %s from %s at depth %d", words.Count(res.Pool, "pair"), words.Count(res.Systems, "system"), a.Limit)
	if len(graded) > 0 {
		summary += "; graded: " + strings.Join(graded, ", ")
	} else {
		summary += "; none graded yet"
	}
	p := tui.Progress{RunID: res.Run.ID, Kind: store.RunPooling, Finished: true, Status: store.RunDone}
	if res.Run.ID == 0 {
		p.Notice = "nothing to do: already pooled — " + summary
	} else {
		p.Notice = fmt.Sprintf("%s added — %s", words.Count(res.Added, "new pair"), summary)
	}
	progress(p)
	return nil
}

// StudentName is the name the Runs screen proposes for a student trained
// from a teacher.
func StudentName(teacher string) string {
	if teacher == "" {
		return "student"
	}
	return "student-" + strings.ReplaceAll(teacher, ":", "-")
}

// ended is the job's end from the pipeline's: a run that found no work
// (the pipeline recorded none) ends with a notice saying why.
func ended(ctx context.Context, st *store.Store, kind, labeler string, progress func(tui.Progress), run store.Run, err error) error {
	if err != nil || run.ID != 0 {
		return err
	}
	return nothingToDo(ctx, st, kind, labeler, progress)
}

// nothingToDo ends a run that found no work with a notice saying why, from
// what the workspace holds.
func nothingToDo(ctx context.Context, st *store.Store, kind, labeler string, progress func(tui.Progress)) error {
	s, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	var why string
	switch kind {
	case store.RunLabeling:
		why = fmt.Sprintf("every pair already has a judgment by %s (regrade with `qrelbench label --labeler %s --all`)", labeler, labeler)
		if s.Pairs == 0 {
			why = "the workspace has no pairs yet: import pairs, or mine them for your queries (mining)"
		}
	case store.RunMining:
		why = "every query already has BM25 negatives"
		if s.Queries == 0 {
			why = "the workspace has no queries yet: import them, or write some from documents (synthesis)"
		} else if s.Documents == 0 {
			why = "the workspace has no documents to search: import documents first"
		}
	case store.RunSynthesis:
		why = fmt.Sprintf("every document already has queries written by %s; import more documents, or choose another writer", labeler)
		if s.Documents == 0 {
			why = "the workspace has no documents to write queries from: import documents first (`qrelbench import docs`)"
		}
	}
	progress(tui.Progress{Kind: kind, Labeler: labeler, Finished: true, Status: store.RunDone, Notice: "nothing to do: " + why})
	return nil
}

// teacherLabelers are those whose grades a student can learn from: models
// and imported judges first, then built-ins (not humans: their grades are
// the benchmark; not students: a student learns from a teacher).
func teacherLabelers(ls []store.Labeler) []string {
	var out, builtins []string
	for _, l := range ls {
		switch {
		case l.Kind == store.KindLLM || l.Kind == store.KindImported || l.Role == "teacher" && l.Kind != store.KindHuman:
			out = append(out, l.Name)
		case l.Kind == store.KindBuiltin:
			builtins = append(builtins, l.Name)
		}
	}
	return append(out, builtins...)
}

// gradingLabelers are those `label` can run: built-ins, students with an
// embedded model, and model endpoints.
func gradingLabelers(ls []store.Labeler) []string {
	var out []string
	for _, l := range ls {
		switch {
		case l.Kind == store.KindBuiltin,
			l.Kind == store.KindStudent && len(l.Config.Student) > 0,
			(l.Kind == store.KindLLM || l.Kind == store.KindStudent) && (l.BaseURL != "" || l.Model != ""):
			out = append(out, l.Name)
		}
	}
	return out
}

func synthLabelers(ls []store.Labeler) []string {
	out := []string{pipeline.OfflineSynthesizer}
	for _, l := range ls {
		if l.Kind == store.KindLLM && (l.BaseURL != "" || l.Model != "") {
			out = append(out, l.Name)
		}
	}
	return out
}
