package benchmark

import (
	"fmt"
	"strings"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/store"
)

// RemedyHint is what to do when a student is not expected to beat lexical.
const RemedyHint = "more teacher grades over more queries: `qrelbench synth` + `qrelbench mine` + `qrelbench label --labeler TEACHER`, then retrain"

// EstimateLines renders a student's training-time estimate (see
// store.StudentEstimate) for a terminal: the expected agreement with the
// teacher on new queries beside lexical and bm25, the same against humans
// where there are any, whether it is reliable, and a plain verdict with the
// remedy when the student is not expected to beat lexical.
func EstimateLines(e store.StudentEstimate, student string) []string {
	cv := "leave-one-query-out"
	if e.Folds != e.Queries {
		cv = fmt.Sprintf("%d folds of queries", e.Folds)
	}
	lines := []string{fmt.Sprintf("expected agreement with teacher %s on new queries: κ %s, quadratic κ %s; lexical %s / %s, bm25 %s / %s (%d queries, %s pairs, %s)",
		e.Teacher, withCI(e.Student.Kappa, e.Student.KappaCI), withCI(e.Student.QuadKappa, e.Student.QuadKappaCI),
		withCI(e.Lexical.Kappa, e.Lexical.KappaCI), withCI(e.Lexical.QuadKappa, e.Lexical.QuadKappaCI),
		withCI(e.BM25.Kappa, e.BM25.KappaCI), withCI(e.BM25.QuadKappa, e.BM25.QuadKappaCI),
		e.Queries, words.Int(e.Pairs), cv)}
	if h := e.Human; h != nil {
		lines = append(lines, fmt.Sprintf("  with humans (%s, %d queries, %s pairs): κ %s, quadratic κ %s; lexical %s / %s, bm25 %s / %s",
			h.Reference, h.Queries, words.Int(h.Pairs), withCI(h.Student.Kappa, h.Student.KappaCI), withCI(h.Student.QuadKappa, h.Student.QuadKappaCI),
			withCI(h.Lexical.Kappa, h.Lexical.KappaCI), withCI(h.Lexical.QuadKappa, h.Lexical.QuadKappaCI),
			withCI(h.BM25.Kappa, h.BM25.KappaCI), withCI(h.BM25.QuadKappa, h.BM25.QuadKappaCI)))
	}
	if e.Unreliable != "" {
		lines = append(lines, "  unreliable: "+e.Unreliable+"; the intervals are 95% bootstrap intervals over queries")
	}
	return append(lines, "  "+EstimateVerdict(e, student))
}

// EstimateVerdict says in one sentence whether the student is expected to
// beat lexical, and what to do when it is not.
func EstimateVerdict(e store.StudentEstimate, student string) string {
	switch {
	case e.Teacher == "lexical" || e.Teacher == "bm25":
		return fmt.Sprintf("%s was trained on the built-in %s grader's grades, not a teacher's: it is a copy of %s, not an independent labeler.",
			student, e.Teacher, e.Teacher)
	case e.LexicalFallback:
		return fmt.Sprintf("%s grades exactly like lexical: its teacher's grades (%d queries) did not earn a correction. For a better student: %s.",
			student, e.Queries, remedy(e))
	case !e.BeatsLexical():
		return fmt.Sprintf("%s is NOT expected to beat lexical on new queries: use lexical, or get %s.", student, remedy(e))
	case e.Unreliable != "":
		return fmt.Sprintf("%s is expected to agree with the teacher better than lexical, but the estimate is unreliable.", student)
	}
	return fmt.Sprintf("%s is expected to agree with the teacher better than lexical on new queries.", student)
}

// EstimateShort is a one-line summary for tables and the workbench.
func EstimateShort(e store.StudentEstimate) string {
	s := fmt.Sprintf("new-query κ %s vs lexical %.2f (%d queries)", withCI(e.Student.Kappa, e.Student.KappaCI), e.Lexical.Kappa, e.Queries)
	switch {
	case e.LexicalFallback:
		s += ", grades like lexical"
	case !e.BeatsLexical():
		s += ", not better than lexical"
	}
	if e.Unreliable != "" {
		s += ", unreliable"
	}
	return s
}

func remedy(e store.StudentEstimate) string {
	if e.Teacher == "" {
		return RemedyHint
	}
	return strings.ReplaceAll(RemedyHint, "TEACHER", e.Teacher)
}

func withCI(v float64, ci [2]float64) string {
	if ci == [2]float64{} {
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.2f [%.2f, %.2f]", v, ci[0], ci[1])
}
