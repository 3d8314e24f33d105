package distill

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/features"
	"github.com/qrelbench/qrelbench/pipeline/lexical"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// DefaultStudentOptions are the embedded student's training settings on the
// workspace scale: student.Tuned, the lexical grader plus a correction the
// teacher's grades must earn by cross-validation by query.
func DefaultStudentOptions(scale store.Scale) student.TrainOptions {
	return student.Tuned(scale.Min(), scale.Max())
}

// TrainOptions configure Train.
type TrainOptions struct {
	Teacher string // labeler whose ok grades are the targets
	Labeler string // the student labeler to create or retrain
	// Queries restricts training to these query ids; ExcludeQueries leaves
	// these out. At most one of the two.
	Queries, ExcludeQueries []string
	// IncludeHumanGraded also trains on pairs that carry a human grade
	// (left out by default so the human benchmark stays unseen). Use it with
	// a query split when the teacher graded only human-graded pairs.
	IncludeHumanGraded bool
	// Student overrides DefaultStudentOptions when non-nil.
	Student *student.TrainOptions
	// SkipEstimate skips the cross-validated estimate of the student's
	// agreement on new queries (for callers that retrain many times).
	SkipEstimate bool

	// foldTrain trains the estimate's fold students; nil is
	// student.TrainForGrades (tests compare it with student.Train).
	foldTrain foldTrainer
}

// TrainResult reports a training.
type TrainResult struct {
	Run          store.Run
	Labeler      store.Labeler
	Model        *student.Model
	Pairs        int // training examples
	Queries      int // queries they came from
	HumanSkipped int // teacher-graded pairs left out for their human grade
	Retrained    bool
	// Estimate is the student's expected agreement on new queries (nil
	// with SkipEstimate or fewer than two training queries); it is also
	// stored in the labeler's config.
	Estimate *store.StudentEstimate
}

// trainParams are recorded with the training run.
type trainParams struct {
	Teacher            string               `json:"teacher"`
	Queries            []string             `json:"queries,omitempty"`
	ExcludeQueries     []string             `json:"exclude_queries,omitempty"`
	IncludeHumanGraded bool                 `json:"include_human_graded,omitempty"`
	TrainQueries       []string             `json:"train_queries"`
	Options            student.TrainOptions `json:"options"`
}

// Train fits the embedded student on the teacher's ok grades and stores it
// as labeler opt.Labeler (kind student, role student), replacing the model
// of an existing embedded student of that name. Features are extracted per
// query over the query's whole candidate set, exactly as `label` will, and
// only the pairs the teacher graded become examples. A run of kind
// "training" records it.
func Train(ctx context.Context, st *store.Store, opt TrainOptions) (TrainResult, error) {
	var res TrainResult
	started := time.Now()
	if err := store.ValidateLabelerName(opt.Labeler); err != nil {
		return res, err
	}
	teacher, err := teacherLabeler(ctx, st, opt.Teacher)
	if err != nil {
		return res, err
	}
	if teacher.Name == opt.Labeler {
		return res, fmt.Errorf("the student cannot be its own teacher (%s)", quote.Input(opt.Labeler))
	}
	prev, err := st.Labeler(ctx, opt.Labeler)
	exists := err == nil
	switch {
	case err != nil && !errors.Is(err, store.ErrNoLabeler):
		return res, err
	case exists && (prev.Kind != store.KindStudent || prev.BaseURL != "" || prev.Model != ""):
		return res, fmt.Errorf("labeler %q exists and is not an embedded student (kind %s): choose another name", prev.Name, prev.Kind)
	}
	topt := DefaultStudentOptions(st.Scale())
	if opt.Student != nil {
		topt = *opt.Student
		topt.MinGrade, topt.MaxGrade = st.Scale().Min(), st.Scale().Max()
	}
	qs, err := selectQueries(ctx, st, opt.Queries, opt.ExcludeQueries)
	if err != nil {
		return res, err
	}
	tgrades, _, err := teacherGrades(ctx, st, teacher)
	if err != nil {
		return res, err
	}
	if len(tgrades) == 0 {
		return res, fmt.Errorf("teacher %q has no grades: label with it (or import its qrels) first", teacher.Name)
	}
	human := map[int64]bool{}
	if !opt.IncludeHumanGraded {
		if human, err = humanGraded(ctx, st); err != nil {
			return res, err
		}
	}
	humanRef, humanGrades, err := humanReference(ctx, st)
	if err != nil {
		return res, err
	}
	lo, hi := st.Scale().Min(), st.Scale().Max()

	var ex []student.Example
	var est []estPair
	var trainQueries []string
	for _, q := range qs {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		views, err := st.PairViews(ctx, store.PairFilter{QueryID: q.ID})
		if err != nil {
			return res, err
		}
		keep := false
		for _, v := range views {
			if _, ok := tgrades[v.ID]; ok {
				keep = true
				break
			}
		}
		if !keep {
			continue
		}
		fps, _, err := pipeline.CandidateFeatures(ctx, st, views)
		if err != nil {
			return res, err
		}
		xs := features.ExtractGroup(fps, nil)
		n := 0
		var qest []estPair
		for i, v := range views {
			g, isTeacher := tgrades[v.ID]
			train := isTeacher && !human[v.ID]
			if isTeacher && !train {
				res.HumanSkipped++
			}
			if train {
				ex = append(ex, student.Example{X: xs[i], Grade: g, Query: q.ExtID})
				n++
			}
			hg, hasHuman := humanGrades[v.ID]
			if train || hasHuman {
				p := estPair{pairID: v.ID, query: q.ExtID, x: xs[i], teacher: g, train: train, human: hg, hasHuman: hasHuman}
				p.lex, p.lexExp = lexical.Grade(fps[i], lo, hi)
				p.bm, p.bmExp = pipeline.BM25Grade(fps[i], lo, hi)
				qest = append(qest, p)
			}
		}
		if n > 0 {
			trainQueries = append(trainQueries, q.ExtID)
			est = append(est, qest...)
		}
	}
	if len(ex) == 0 {
		msg := fmt.Sprintf("no training pairs: teacher %q has no grades on the selected queries", teacher.Name)
		if res.HumanSkipped > 0 {
			msg += fmt.Sprintf(" outside the %d pairs humans graded (they are left out so the human benchmark stays unseen; "+
				"use --include-human-graded with --query/--exclude-query to train on other queries than you evaluate on)", res.HumanSkipped)
		}
		return res, errors.New(msg)
	}
	m, err := student.Train(ex, topt)
	if err != nil {
		return res, err
	}
	var estimated *store.StudentEstimate
	if !opt.SkipEstimate {
		foldTrain := opt.foldTrain
		if foldTrain == nil {
			foldTrain = student.TrainForGrades
		}
		if estimated, err = estimate(ctx, est, m.Options, teacher.Name, humanRef, foldTrain); err != nil {
			return res, err
		}
		if estimated != nil {
			estimated.LexicalFallback = m.Summary.LexicalFallback
		}
	}
	model, err := json.Marshal(m)
	if err != nil {
		return res, err
	}
	pj, err := json.Marshal(trainParams{Teacher: teacher.Name, Queries: opt.Queries, ExcludeQueries: opt.ExcludeQueries,
		IncludeHumanGraded: opt.IncludeHumanGraded, TrainQueries: trainQueries, Options: m.Options})
	if err != nil {
		return res, err
	}

	lab := prev
	if !exists {
		lab = store.Labeler{Name: opt.Labeler, Kind: store.KindStudent}
	}
	lab.Role = "student"
	lab.PromptVersion = "student/" + m.FeatureVersion
	lab.Config.Student = model
	lab.Config.Estimate = estimated
	lab.Description = describe(teacher.Name, m, trainQueries, opt.IncludeHumanGraded)
	run := store.Run{Kind: store.RunTraining, Params: pj, Total: len(ex)}
	err = st.Tx(ctx, func(tx *store.Store) error {
		if exists {
			if err := tx.UpdateLabeler(ctx, lab); err != nil {
				return err
			}
		} else if err := tx.AddLabeler(ctx, &lab); err != nil {
			return err
		}
		run.LabelerID = lab.ID
		if err := tx.StartRun(ctx, &run); err != nil {
			return err
		}
		if err := tx.AddRunProgress(ctx, run.ID, store.RunDelta{Done: len(ex), BusySeconds: time.Since(started).Seconds()}); err != nil {
			return err
		}
		return tx.FinishRun(ctx, run.ID, store.RunDone, nil)
	})
	if err != nil {
		return res, err
	}
	if run, err = st.Run(ctx, run.ID); err != nil {
		return res, err
	}
	res.Run, res.Labeler, res.Model = run, lab, m
	res.Pairs, res.Queries, res.Retrained = len(ex), len(trainQueries), exists
	res.Estimate = estimated
	return res, nil
}

// describe is the student labeler's description: what it learned from.
func describe(teacher string, m *student.Model, queries []string, withHuman bool) string {
	qs := strings.Join(queries, ",")
	if len(queries) > 12 {
		qs = strings.Join(queries[:12], ",") + fmt.Sprintf(",… (%d in all)", len(queries))
	}
	method := m.Method
	if m.Options.Calibrate {
		method += ", calibrated"
	}
	s := fmt.Sprintf("Embedded student (pure Go, %s model on %s) distilled from teacher %s: %d pairs from %d queries (%s); train kappa %.3f.",
		method, m.FeatureVersion, teacher, m.Summary.N, len(queries), qs, m.Summary.TrainKappa)
	if m.Summary.LexicalFallback {
		s += " It grades exactly like lexical: the teacher's grades earned no correction."
	}
	if withHuman {
		s += " Trained on pairs humans also graded: evaluate it against humans only on other queries."
	}
	return s
}
