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

// demoStudentNote is what the demo says wherever it shows its student.
const demoStudentNote = "student trained on lexical: the demo has no teacher"

// demoStudentDescription says plainly what the demo student is: the demo
// has no LLM teacher, so it learns from the built-in lexical grader and is
// a copy of it, not an independent labeler.
const demoStudentDescription = "Demo only: " + demoStudentNote + ". An embedded student (pure Go) distilled from the built-in " +
	"lexical grader's grades, so it is a copy of lexical, not an independent labeler: it shows the distillation workflow and cannot be better than lexical. " +
	"For a real student: `qrelbench distill train --teacher YOUR_LLM --labeler NAME`."

// demoStudent trains the embedded student student-demo from the lexical
// grades (once: an already trained one is kept), says what it is with its
// training-time estimate, and labels the pairs it has not graded yet.
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
	fmt.Fprintf(e.stdout, "  5. %s: %s; it is a copy of lexical, not an independent labeler\n", demoStudentName, demoStudentNote)
	if est := lab.Config.Estimate; est != nil {
		fmt.Fprintf(e.stdout, "     training-time estimate: agreement with lexical on new queries κ %.2f [%.2f, %.2f], quadratic κ %.2f (%d queries, %s pairs, %s)\n",
			est.Student.Kappa, est.Student.KappaCI[0], est.Student.KappaCI[1], est.Student.QuadKappa, est.Queries, words.Int(est.Pairs),
			map[bool]string{true: "grades exactly like lexical", false: "departs from lexical"}[est.LexicalFallback])
	}
	pp := newProgressPrinter(e.stderr)
	run, err := pipeline.Label(ctx, st, pipeline.LabelOptions{Labeler: demoStudentName, Progress: pp.update})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "     labeled %s with %s (%.0f pairs/s)\n", words.Count(run.Done, "pair"), demoStudentName, rate(run))
	return nil
}
