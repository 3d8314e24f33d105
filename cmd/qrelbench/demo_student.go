package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/distill"
	"github.com/qrelbench/qrelbench/store"
)

// demoStudentName is the demo's embedded student.
const demoStudentName = "student-demo"

// demoStudentDescription says plainly what the demo student is: the demo
// has no LLM teacher, so it learns from the built-in lexical grader.
const demoStudentDescription = "Demo only: an embedded student (pure Go) distilled from the built-in lexical grader, " +
	"because the offline demo has no LLM teacher. It shows the distillation workflow; it cannot be better than lexical. " +
	"For a real student: `qrelbench distill train --teacher YOUR_LLM --labeler NAME`."

// demoStudent trains the embedded student student-demo from the lexical
// grades (once: an already trained one is kept) and labels the pairs it has
// not graded yet.
func demoStudent(ctx context.Context, e *env, st *store.Store) error {
	lab, err := st.Labeler(ctx, demoStudentName)
	trained := err == nil && len(lab.Config.Student) > 0
	if err != nil && !errors.Is(err, store.ErrNoLabeler) {
		return err
	}
	if !trained {
		res, err := distill.Train(ctx, st, distill.TrainOptions{Teacher: "lexical", Labeler: demoStudentName})
		if err != nil {
			return fmt.Errorf("demo student: %w", err)
		}
		lab = res.Labeler
		lab.Description = demoStudentDescription + " " + lab.Description
		if err := st.UpdateLabeler(ctx, lab); err != nil {
			return err
		}
	}
	pp := newProgressPrinter(e.stderr)
	run, err := pipeline.Label(ctx, st, pipeline.LabelOptions{Labeler: demoStudentName, Progress: pp.update})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "  5. labeled %s with %s, an embedded student distilled from the lexical grader for demo purposes (%.0f pairs/s)\n",
		words.Count(run.Done, "pair"), demoStudentName, rate(run))
	return nil
}
