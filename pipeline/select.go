package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/qrelbench/qrelbench/pipeline/selection"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
)

// Choosing the pairs a labeling run grades (LabelOptions.Select): of the
// pairs the labeler has not graded, the Limit that package selection ranks
// first, by the probabilities of the embedded student that learns from this
// labeler (LabelOptions.SelectStudent, else the one whose estimate names
// this labeler as teacher, else the untrained lexical prior, which grades
// like lexical). The chosen ids are stored with the run, so a rerun after a
// crash or Ctrl-C resumes the same pairs instead of choosing new ones.

// selectForRun returns the pairs a run with opt.Select grades (never nil:
// an empty list grades nothing).
func selectForRun(ctx context.Context, st *store.Store, lab store.Labeler, opt LabelOptions) ([]int64, error) {
	if opt.Limit <= 0 {
		return nil, fmt.Errorf("--select %s needs --limit N: the number of pairs to choose", opt.Select)
	}
	if !slices.Contains(selection.Strategies(), opt.Select) {
		_, err := selection.Select(nil, 0, opt.Select, 0)
		return nil, err
	}
	// an interrupted run of the same selection: its pairs, not new ones
	if prev, ok, err := st.UnfinishedRun(ctx, store.RunLabeling, lab.ID); err != nil {
		return nil, err
	} else if ok {
		var p labelParams
		if json.Unmarshal(prev.Params, &p) == nil && p.Select == opt.Select && p.Limit == opt.Limit && p.SelectSeed == opt.SelectSeed &&
			p.SelectStudent == opt.SelectStudent && slices.Equal(p.Queries, opt.Queries) && p.Pairs != nil {
			return p.Pairs, nil
		}
	}
	m, err := selectionModel(ctx, st, lab, opt.SelectStudent)
	if err != nil {
		return nil, err
	}
	queryIDs, err := queryIDs(ctx, st, opt.Queries)
	if err != nil {
		return nil, err
	}
	var cands []selection.Candidate
	for _, qid := range queryIDs {
		views, err := st.PairViews(ctx, store.PairFilter{QueryID: qid, UngradedBy: lab.ID, Regrade: opt.All})
		if err != nil {
			return nil, err
		}
		if len(views) == 0 {
			continue
		}
		if opt.Select == selection.Random {
			for _, v := range views {
				cands = append(cands, selection.Candidate{PairID: v.ID, Query: v.QueryExtID})
			}
			continue
		}
		fps, idx, err := CandidateFeatures(ctx, st, views)
		if err != nil {
			return nil, err
		}
		xs, err := m.Extract(fps, nil)
		if err != nil {
			return nil, err
		}
		for i, v := range views {
			g, _, probs := m.Predict(xs[idx[i]], nil)
			cands = append(cands, selection.Candidate{PairID: v.ID, Query: v.QueryExtID, Probs: probs, Grade: g})
		}
	}
	ids, err := selection.Select(cands, opt.Limit, opt.Select, opt.SelectSeed)
	if ids == nil && err == nil {
		ids = []int64{}
	}
	return ids, err
}

// SelectionGuide names the embedded student whose probabilities guide
// `label --labeler LABELER --select` (student as given, or the newest one
// taught by the labeler); "" means none: lexical's probabilities do.
func SelectionGuide(ctx context.Context, st *store.Store, labeler, student string) (string, error) {
	lab, err := st.Labeler(ctx, labeler)
	if err != nil {
		return "", err
	}
	pick, err := guideLabeler(ctx, st, lab, student)
	if err != nil || pick == nil {
		return "", err
	}
	return pick.Name, nil
}

// guideLabeler finds the guiding student labeler (nil: none).
func guideLabeler(ctx context.Context, st *store.Store, teacher store.Labeler, name string) (*store.Labeler, error) {
	labs, err := st.Labelers(ctx)
	if err != nil {
		return nil, err
	}
	var pick *store.Labeler
	for i, l := range labs {
		if l.Kind != store.KindStudent || len(l.Config.Student) == 0 {
			continue
		}
		if name != "" && l.Name == name || name == "" && l.Config.Estimate != nil && l.Config.Estimate.Teacher == teacher.Name {
			pick = &labs[i] // the last such (labelers are listed by id): the newest
		}
	}
	if pick == nil && name != "" {
		return nil, fmt.Errorf("--select-student %s: no embedded student of that name (train one with `qrelbench distill train`)", name)
	}
	return pick, nil
}

// selectionModel is the student whose uncertainty guides the selection.
func selectionModel(ctx context.Context, st *store.Store, teacher store.Labeler, name string) (*student.Model, error) {
	pick, err := guideLabeler(ctx, st, teacher, name)
	switch {
	case err != nil:
		return nil, err
	case pick == nil:
		return student.Lexical(st.Scale().Min(), st.Scale().Max()), nil
	}
	g, err := newStudentGrader(st.Scale(), *pick)
	if err != nil {
		return nil, err
	}
	return g.model, nil
}

// selectFlags are the command-line flags of a selection, for the resume
// command.
func selectFlags(p labelParams) string {
	c := " --select " + p.Select
	if p.SelectStudent != "" {
		c += " --select-student " + p.SelectStudent
	}
	if p.SelectSeed != 0 {
		c += fmt.Sprintf(" --seed %d", p.SelectSeed)
	}
	return c
}
