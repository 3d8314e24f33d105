package evalruns

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Table is one table of a report, rendered as aligned text for the
// terminal or as Markdown for --report.
type Table struct {
	Title  string
	Header []string
	Right  []bool // columns aligned right (numbers)
	Rows   [][]string
	Notes  []string // printed under the table
}

func num(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return strconv.FormatFloat(v, 'f', 4, 64)
}

func pval(p float64) string {
	switch {
	case math.IsNaN(p):
		return "—"
	case p < 0.0001:
		return "<0.0001"
	}
	return strconv.FormatFloat(p, 'f', 4, 64)
}

func ci(c [2]float64) string { return "[" + num(c[0]) + ", " + num(c[1]) + "]" }

// unreliableMark flags an estimate over n queries.
func unreliableMark(n int) string {
	if Unreliable(n) {
		return fmt.Sprintf("few queries (%d < %d)", n, FewQueries)
	}
	return ""
}

// Tables are the report's tables, in print order.
func (r Report) Tables(perQuery bool) []Table {
	var out []Table
	sys := Table{
		Title: fmt.Sprintf("systems under the grades of %s (%d queries, %d grades; binary measures count grade >= %d), ranked by %s",
			r.Qrels, r.QrelsQueries, r.QrelsGrades, r.Threshold, r.Measure),
		Header: append(append([]string{"#", "system", "queries"}, r.Measures...), ""),
		Right:  append(append([]bool{true, false, true}, repeat(true, len(r.Measures))...), false),
	}
	anyFew := false
	for i, s := range r.Systems {
		row := []string{strconv.Itoa(i + 1), s.System, strconv.Itoa(s.Queries)}
		for _, m := range r.Measures {
			row = append(row, num(s.Mean[m]))
		}
		mark := unreliableMark(s.Queries)
		anyFew = anyFew || mark != ""
		sys.Rows = append(sys.Rows, append(row, mark))
	}
	if anyFew {
		sys.Notes = append(sys.Notes, fmt.Sprintf("Means over fewer than %d queries are unreliable: a different sample of queries could order the systems differently.", FewQueries))
	}
	sys.Notes = append(sys.Notes, r.Notes...)
	out = append(out, sys)

	if len(r.Pairs) > 0 {
		t := Table{
			Title:  fmt.Sprintf("paired tests on %s (difference A − B over the queries both were scored on)", r.Measure),
			Header: []string{"A", "B", "queries", "mean diff", "95% bootstrap CI", "t-test p", "randomisation p", ""},
			Right:  []bool{false, false, true, true, false, true, true, false},
		}
		for _, p := range r.Pairs {
			flag := ""
			if p.Valid && p.TTestP < 0.05 && p.RandP < 0.05 {
				flag = "*"
			}
			if Unreliable(p.Queries) {
				flag = strings.TrimSpace(flag + " few queries")
			}
			rp := pval(p.RandP)
			if p.Valid && p.Exact {
				rp += " (exact)"
			}
			t.Rows = append(t.Rows, []string{p.A, p.B, strconv.Itoa(p.Queries), num(p.MeanDiff), ci(p.CI), pval(p.TTestP), rp, flag})
		}
		t.Notes = append(t.Notes, "* p < 0.05 under both the paired t-test and the randomisation test. Tests are not corrected for multiple comparisons.")
		out = append(out, t)
	}

	if len(r.Compare) > 0 {
		t := Table{
			Title: fmt.Sprintf("does another labeler give the same verdict? system rankings by %s under each labeler's grades against %s's, over the queries both graded",
				r.Measure, r.Qrels),
			Header: []string{"labeler", "queries", "kendall_tau", "tau_ap", "spearman", "flipped pairs", "significance disagreements", ""},
			Right:  []bool{false, true, true, true, true, true, true, false},
		}
		for _, c := range r.Compare {
			t.Rows = append(t.Rows, []string{c.Labeler, strconv.Itoa(c.Queries), num(c.KendallTau), num(c.TauAP), num(c.Spearman),
				fmt.Sprintf("%d of %d", c.FlippedPairs, c.SystemPairs), strconv.Itoa(c.SignificanceDisagreements), unreliableMark(c.Queries)})
		}
		t.Notes = append(t.Notes, "significance disagreements: system pairs the paired t-test finds different (p < 0.05) under one labeler's grades and not the other's.")
		out = append(out, t)
	}

	if r.CorrectWith != "" {
		t := Table{
			Title: fmt.Sprintf("%s under %s's grades, estimated from %s's by prediction-powered inference, beside the estimate from %s's queries alone",
				r.Measure, r.CorrectWith, r.Qrels, r.CorrectWith),
			Header: []string{"system", r.Qrels + " mean", "PPI estimate", "95% CI", "human-only", "95% CI (t)", "n both", "N model only", ""},
			Right:  []bool{false, true, true, false, true, false, true, true, false},
		}
		for _, s := range r.Systems {
			if s.PPI == nil {
				t.Rows = append(t.Rows, []string{s.System, num(s.Mean[r.Measure]), "—", "", "—", "", "", "", s.PPIErr})
				continue
			}
			p := s.PPI
			t.Rows = append(t.Rows, []string{s.System, num(s.Mean[r.Measure]), num(p.Estimate), ci(p.CI), num(p.HumanOnly.Estimate), ci(p.HumanOnly.CI),
				strconv.Itoa(p.Humans()), strconv.Itoa(p.N), unreliableMark(p.Humans())})
		}
		t.Notes = append(t.Notes, fmt.Sprintf("n: queries graded by both %s and %s; N: queries only %s graded. The PPI interval is a normal approximation; with few human-graded queries (n < %d) both intervals are rough.",
			r.Qrels, r.CorrectWith, r.Qrels, FewQueries))
		out = append(out, t)
	}

	if perQuery {
		for _, s := range r.Systems {
			t := Table{
				Title:  fmt.Sprintf("%s per query, worst %s first", s.System, r.Measure),
				Header: append([]string{"query"}, r.Measures...),
				Right:  append([]bool{false}, repeat(true, len(r.Measures))...),
			}
			for _, q := range WorstFirst(s, r.Measure) {
				row := []string{q}
				for _, m := range r.Measures {
					row = append(row, num(s.PerQuery[q][m]))
				}
				t.Rows = append(t.Rows, row)
			}
			out = append(out, t)
		}
	}
	return out
}

// WorstFirst lists a system's queries by measure, lowest first, ties by id.
func WorstFirst(s System, measure string) []string {
	qids := make([]string, 0, len(s.PerQuery))
	for q := range s.PerQuery {
		qids = append(qids, q)
	}
	slices.SortFunc(qids, func(a, b string) int {
		x, y := s.PerQuery[a][measure], s.PerQuery[b][measure]
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return strings.Compare(a, b)
	})
	return qids
}

func repeat(v bool, n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// WriteText prints the tables with aligned columns.
func WriteText(w io.Writer, tables []Table) {
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w, t.Title)
		widths := make([]int, len(t.Header))
		for _, row := range append([][]string{t.Header}, t.Rows...) {
			for c, cell := range row {
				widths[c] = max(widths[c], utf8.RuneCountInString(cell))
			}
		}
		line := func(row []string) {
			var b strings.Builder
			for c, cell := range row {
				if c > 0 {
					b.WriteString("  ")
				}
				pad := strings.Repeat(" ", widths[c]-utf8.RuneCountInString(cell))
				if t.Right[c] {
					b.WriteString(pad + cell)
				} else {
					b.WriteString(cell + pad)
				}
			}
			fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
		}
		line(t.Header)
		for _, row := range t.Rows {
			line(row)
		}
		for _, n := range t.Notes {
			fmt.Fprintln(w, n)
		}
	}
}

// WriteMarkdown writes the tables as a Markdown document.
func WriteMarkdown(w io.Writer, title string, tables []Table) {
	fmt.Fprintf(w, "# %s\n", title)
	esc := strings.NewReplacer("|", `\|`, "\n", " ")
	for _, t := range tables {
		fmt.Fprintf(w, "\n## %s\n\n", esc.Replace(t.Title))
		cells := func(row []string) {
			out := make([]string, len(row))
			for i, c := range row {
				out[i] = esc.Replace(c)
			}
			fmt.Fprintf(w, "| %s |\n", strings.Join(out, " | "))
		}
		cells(t.Header)
		sep := make([]string, len(t.Header))
		for i := range sep {
			sep[i] = "---"
			if t.Right[i] {
				sep[i] = "---:"
			}
		}
		fmt.Fprintf(w, "|%s|\n", strings.Join(sep, "|"))
		for _, row := range t.Rows {
			cells(row)
		}
		for _, n := range t.Notes {
			fmt.Fprintf(w, "\n%s\n", n)
		}
	}
}
