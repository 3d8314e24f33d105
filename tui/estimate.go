package tui

import (
	"github.com/qrelbench/qrelbench/benchmark"
	"github.com/qrelbench/qrelbench/store"
)

// The embedded students' training-time estimates (store.StudentEstimate):
// what `distill train` expects of each on queries it has not seen, shown on
// Stats and beside the labeler chosen in the Runs form, so that nobody runs
// a student over a million pairs without knowing whether it beats lexical.

// studentEstimate is the estimate stored with labeler name (nil when it
// has none).
func studentEstimate(m *Model, name string) *store.StudentEstimate {
	for _, l := range m.labelers {
		if l.Name == name {
			return l.Config.Estimate
		}
	}
	return nil
}

// estimateSection is Stats' "Students" block: one line per student with
// an estimate, and its verdict wrapped to w cells.
func estimateSection(m *Model, w int) []string {
	st := m.sty
	var out []string
	for _, l := range m.labelers {
		e := l.Config.Estimate
		if e == nil {
			continue
		}
		if out == nil {
			out = append(out, " "+st.header.Render("Students")+st.muted.Render("  expected agreement with the teacher on new queries, measured at training"))
		}
		style := st.text
		if e.LexicalFallback || !e.BeatsLexical() || e.Unreliable != "" {
			style = st.warn
		}
		out = append(out, " "+pad(l.Name, 20)+style.Render(benchmark.EstimateShort(*e)))
		for _, line := range wrapText(benchmark.EstimateVerdict(*e, l.Name), max(w-4, 20)) {
			out = append(out, "   "+st.muted.Render(line))
		}
	}
	if out != nil {
		out = append(out, "")
	}
	return out
}

// estimateNote is the Runs form's line under the labeler field for a
// student with an estimate (nil otherwise).
func estimateNote(m *Model, name string) []string {
	e := studentEstimate(m, name)
	if e == nil {
		return nil
	}
	return []string{"    " + pad("", 12) + m.sty.muted.Render("at training: "+benchmark.EstimateShort(*e))}
}
