package distill

import (
	"context"
	"reflect"
	"testing"

	"github.com/qrelbench/qrelbench/pipeline"
	"github.com/qrelbench/qrelbench/pipeline/student"
	"github.com/qrelbench/qrelbench/store"
)

// sameEstimate trains a student of teacher twice, its estimate's fold
// students by student.TrainForGrades (as Train does) and by student.Train,
// and requires the same estimate, every number bit for bit.
func sameEstimate(t *testing.T, name string, st *store.Store, teacher string, includeHuman bool) {
	t.Helper()
	ctx := context.Background()
	fast, err := Train(ctx, st, TrainOptions{Teacher: teacher, Labeler: "est-fast", IncludeHumanGraded: includeHuman})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	full, err := Train(ctx, st, TrainOptions{Teacher: teacher, Labeler: "est-full", IncludeHumanGraded: includeHuman, foldTrain: student.Train})
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if fast.Estimate == nil || !reflect.DeepEqual(fast.Estimate, full.Estimate) {
		t.Errorf("%s: estimate with TrainForGrades folds\n%+v\nwith Train folds\n%+v", name, fast.Estimate, full.Estimate)
	}
}

// TestEstimateFoldsTrainForGrades: the estimate is the same whether its
// fold students are trained by student.TrainForGrades or student.Train:
// leave one query out (12 queries) and ten folds (25 queries), with inner
// cross-validation in every fold, a teacher lexical disagrees with and
// lexical itself as the teacher.
func TestEstimateFoldsTrainForGrades(t *testing.T) {
	for _, nq := range []int{12, 25} {
		f := newFixture(t, nq, 8)
		f.addStrictTeacher(t)
		sameEstimate(t, "strict teacher", f.st, "strict", false)
		if _, err := pipeline.Label(context.Background(), f.st, pipeline.LabelOptions{Labeler: "lexical"}); err != nil {
			t.Fatal(err)
		}
		sameEstimate(t, "lexical as teacher", f.st, "lexical", false)
	}
}

// TestEstimateFoldsTrainForGradesOnSharedData: the same on
// llmjudge/test-visible.jsonl with the GPT-4o judge Olz-gpt4o as teacher
// on all 13 queries (leave one query out, 12 training queries and inner
// cross-validation in every fold), and with lexical as teacher.
func TestEstimateFoldsTrainForGradesOnSharedData(t *testing.T) {
	st := testVisibleWorkspace(t)
	sameEstimate(t, "test-visible, teacher gpt4o", st, "gpt4o", true)
	sameEstimate(t, "test-visible, teacher lexical", st, "lexical", true)
}
