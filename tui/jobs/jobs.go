// Package jobs connects the workbench's Runs screen to package pipeline:
// query synthesis, hard-negative mining and labeling, started in the
// background and reporting progress.
package jobs

import (
	"context"
	"strings"

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
			Labelers:  gradingLabelers,
			LimitName: "pairs", Limit: 0,
			Start: func(ctx context.Context, st *store.Store, labeler string, limit int, progress func(tui.Progress)) error {
				_, err := pipeline.Label(ctx, st, pipeline.LabelOptions{Labeler: labeler, Limit: limit, Progress: progress})
				return err
			},
		},
		{
			Kind: store.RunMining, Title: "mining",
			LimitName: "per query", Limit: 10,
			Start: func(ctx context.Context, st *store.Store, _ string, limit int, progress func(tui.Progress)) error {
				_, err := pipeline.Mine(ctx, st, pipeline.MineOptions{Negatives: limit, Progress: progress})
				return err
			},
		},
		{
			Kind: store.RunSynthesis, Title: "synthesis",
			Labelers:  synthLabelers,
			LimitName: "documents", Limit: 100,
			Start: func(ctx context.Context, st *store.Store, labeler string, limit int, progress func(tui.Progress)) error {
				_, err := pipeline.Synthesize(ctx, st, pipeline.SynthOptions{Labeler: labeler, Docs: limit, Progress: progress})
				return err
			},
		},
		{
			Kind: store.RunTraining, Title: "student training",
			Labelers:  teacherLabelers,
			LimitName: "", Limit: 0,
			Start: func(ctx context.Context, st *store.Store, teacher string, _ int, progress func(tui.Progress)) error {
				name := StudentName(teacher)
				progress(tui.Progress{Kind: store.RunTraining, Labeler: name, Total: 1, Notice: "training " + name + " on " + teacher + "'s grades"})
				res, err := distill.Train(ctx, st, distill.TrainOptions{Teacher: teacher, Labeler: name})
				p := tui.Progress{RunID: res.Run.ID, Kind: store.RunTraining, Labeler: name, Total: 1, Finished: true, Status: store.RunDone}
				if err != nil {
					p.Status, p.LastError = store.RunFailed, err.Error()
				} else {
					p.Done = 1
				}
				progress(p)
				return err
			},
		},
	}
}

// StudentName is the embedded student the Runs screen trains from a teacher.
func StudentName(teacher string) string { return "student-" + strings.ReplaceAll(teacher, ":", "-") }

// teacherLabelers are those whose grades a student can learn from: models
// and imported judges (not humans: their grades are the benchmark).
func teacherLabelers(ls []store.Labeler) []string {
	var out []string
	for _, l := range ls {
		if l.Kind == store.KindLLM || l.Kind == store.KindImported || l.Role == "teacher" && l.Kind != store.KindHuman {
			out = append(out, l.Name)
		}
	}
	return out
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
