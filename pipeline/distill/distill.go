// Package distill turns a teacher labeler's grades into students:
//
//   - Export writes the teacher's grades as chat fine-tuning data (OpenAI
//     chat fine-tuning JSONL, which Azure OpenAI, TRL/PEFT, Axolotl and
//     LLaMA-Factory read unchanged), split by query into train and
//     validation files, with a manifest;
//   - Finetune uploads those files to an OpenAI-compatible endpoint, runs a
//     fine-tuning job (resumable: the job id lives in a run of kind
//     "finetune"), and registers the fine-tuned model as a served student
//     labeler;
//   - Train fits the embedded pure-Go student (pipeline/student) on the
//     teacher's grades in seconds and stores the model in the workspace, so
//     `label --labeler NAME` runs it in-process.
//
// Both Export and Train leave out, by default, every pair that carries a
// grade from a human labeler (kind human): the human benchmark stays unseen
// by the student. IncludeHumanGraded overrides that; then the caller must
// keep training and evaluation apart some other way (by query: Train's
// Queries / ExcludeQueries).
package distill

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/qrelbench/qrelbench/store"
)

// humanGraded returns the pairs that have an ok grade from any labeler of
// kind human.
func humanGraded(ctx context.Context, st *store.Store) (map[int64]bool, error) {
	labs, err := st.Labelers(ctx)
	if err != nil {
		return nil, err
	}
	out := map[int64]bool{}
	for _, l := range labs {
		if l.Kind != store.KindHuman {
			continue
		}
		gs, err := st.Grades(ctx, l.ID)
		if err != nil {
			return nil, err
		}
		for _, g := range gs {
			out[g.PairID] = true
		}
	}
	return out, nil
}

// teacherGrades returns the teacher's ok grades by pair id and how many of
// its judgments are not ok (failed, refused, unparseable, unsure).
func teacherGrades(ctx context.Context, st *store.Store, teacher store.Labeler) (map[int64]int, int, error) {
	gs, err := st.Grades(ctx, teacher.ID)
	if err != nil {
		return nil, 0, err
	}
	out := make(map[int64]int, len(gs))
	for _, g := range gs {
		out[g.PairID] = g.Grade
	}
	p, err := st.LabelerProgress(ctx, teacher.ID)
	if err != nil {
		return nil, 0, err
	}
	return out, p.Unsure + p.Other, nil
}

// selectQueries returns the workspace's queries, sorted by external id,
// restricted to only (when given) and without exclude. Unknown ids are an
// error, so a typo cannot silently train on everything.
func selectQueries(ctx context.Context, st *store.Store, only, exclude []string) ([]store.Query, error) {
	if len(only) > 0 && len(exclude) > 0 {
		return nil, fmt.Errorf("give --query or --exclude-query, not both")
	}
	qs, err := st.Queries(ctx)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, q := range qs {
		have[q.ExtID] = true
	}
	var missing []string
	for _, id := range append(slices.Clone(only), exclude...) {
		if !have[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("unknown query id(s): %s", strings.Join(missing, ", "))
	}
	in, out := set(only), set(exclude)
	var sel []store.Query
	for _, q := range qs {
		if (len(in) > 0 && !in[q.ExtID]) || out[q.ExtID] {
			continue
		}
		sel = append(sel, q)
	}
	slices.SortFunc(sel, func(a, b store.Query) int { return strings.Compare(a.ExtID, b.ExtID) })
	return sel, nil
}

func set(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// teacherLabeler loads the teacher and checks it can teach.
func teacherLabeler(ctx context.Context, st *store.Store, name string) (store.Labeler, error) {
	if name == "" {
		return store.Labeler{}, fmt.Errorf("no teacher: give --teacher NAME")
	}
	return st.Labeler(ctx, name)
}

// HumanWarning is the warning printed when human-graded pairs are used.
const HumanWarning = "warning: --include-human-graded: pairs graded by humans are used for the student; " +
	"evaluate it against humans only on other queries, or the benchmark is contaminated"
