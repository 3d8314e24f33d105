package benchmark

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// WriteReport writes an evaluation as Markdown (or HTML when path ends in
// .html) with a confusion heatmap per labeler and a grade-distribution chart
// as PNG files beside it. It returns the pictures written.
func WriteReport(path string, ev Evaluation, costs Costs, minGrade int) ([]string, error) {
	dir := filepath.Dir(path)
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	isHTML := strings.EqualFold(filepath.Ext(path), ".html") || strings.EqualFold(filepath.Ext(path), ".htm")
	var pics []string
	dist := map[string][]int{}
	var b strings.Builder
	title := fmt.Sprintf("Agreement with %s", ev.Reference)
	if isHTML {
		fmt.Fprintf(&b, "<!doctype html><meta charset=utf-8><title>%s</title><style>body{font-family:sans-serif;max-width:72em;margin:2em auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:right}th:first-child,td:first-child{text-align:left}</style>\n<h1>%s</h1>\n", html.EscapeString(title), html.EscapeString(title))
	} else {
		fmt.Fprintf(&b, "# %s\n\n", title)
	}
	para(&b, isHTML, fmt.Sprintf("Scale %s; %d pairs graded by the reference; binary relevance at grade ≥ %d. Intervals: 95%% bootstrap over queries.", ev.Scale, ev.RefPairs, ev.Threshold))
	cols := [][2]string{{"n", ""}, {"κ", "cohen_kappa"}, {"quadratic κ", "quadratic_kappa"}, {"ordinal α", "krippendorff_alpha_ordinal"},
		{"binary κ", "binary_kappa"}, {"accuracy", "accuracy"}, {"Spearman", "spearman"}, {"nDCG@10", "ndcg_at_10"}, {"pairwise acc.", "pairwise_accuracy"}}
	var header []string
	header = append(header, "labeler")
	for _, c := range cols {
		header = append(header, c[0])
	}
	var rows [][]string
	for _, r := range ev.Labelers {
		row := []string{r.Labeler, fmt.Sprint(r.N)}
		for _, c := range cols[1:] {
			row = append(row, r.Cell(c[1]))
		}
		rows = append(rows, row)
		counts := make([]int, len(r.Confusion))
		refCounts := make([]int, len(r.Confusion))
		for i, cr := range r.Confusion {
			for j, n := range cr {
				counts[j] += n
				refCounts[i] += n
			}
		}
		dist[r.Labeler] = counts
		if _, ok := dist[ev.Reference]; !ok {
			dist[ev.Reference] = refCounts
		}
	}
	table(&b, isHTML, header, rows)
	para(&b, isHTML, "— undefined on this data. "+UnreliableNote+".")
	heading(&b, isHTML, "Grade distributions")
	distFile := base + "-distribution.png"
	if err := WriteDistributionPNG(filepath.Join(dir, distFile), dist, minGrade); err != nil {
		return pics, err
	}
	pics = append(pics, distFile)
	picture(&b, isHTML, distFile, "grade distributions")
	heading(&b, isHTML, "Confusion matrices")
	for _, r := range ev.Labelers {
		file := fmt.Sprintf("%s-confusion-%s.png", base, safeName(r.Labeler))
		if err := WriteHeatmapPNG(filepath.Join(dir, file), r.Confusion, ev.Reference, r.Labeler, minGrade); err != nil {
			return pics, err
		}
		pics = append(pics, file)
		para(&b, isHTML, fmt.Sprintf("%s (rows: %s, columns: %s)", r.Labeler, ev.Reference, r.Labeler))
		picture(&b, isHTML, file, "confusion "+r.Labeler)
	}
	if len(costs.Rows) > 0 {
		heading(&b, isHTML, "Throughput and cost")
		var crow [][]string
		for _, c := range costs.Rows {
			rate := "—"
			if c.PairsPerSecond != nil {
				rate = fmt.Sprintf("%.1f", *c.PairsPerSecond)
			}
			crow = append(crow, []string{c.Labeler, c.Role, fmt.Sprint(c.Pairs), rate, fmt.Sprintf("%.1f", c.TokensInPair), fmt.Sprintf("%.1f", c.TokensOutPair), fmt.Sprintf("%.4f", c.USDPer1000)})
		}
		table(&b, isHTML, []string{"labeler", "role", "pairs", "pairs/s", "tokens in/pair", "tokens out/pair", "USD per 1,000 pairs"}, crow)
		for _, cmp := range costs.Comparisons {
			s := fmt.Sprintf("Student %s vs teacher %s:", cmp.Student, cmp.Teacher)
			if cmp.ThroughputRatio != nil {
				s += fmt.Sprintf(" %.1f× the throughput", *cmp.ThroughputRatio)
			}
			if cmp.CostRatio != nil {
				s += fmt.Sprintf(", %.3f× the cost", *cmp.CostRatio)
			}
			para(&b, isHTML, s+".")
		}
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return pics, err
	}
	return pics, nil
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func safeName(s string) string { return unsafeChars.ReplaceAllString(s, "_") }

func para(b *strings.Builder, isHTML bool, s string) {
	if isHTML {
		fmt.Fprintf(b, "<p>%s</p>\n", html.EscapeString(s))
	} else {
		fmt.Fprintf(b, "%s\n\n", s)
	}
}

func heading(b *strings.Builder, isHTML bool, s string) {
	if isHTML {
		fmt.Fprintf(b, "<h2>%s</h2>\n", html.EscapeString(s))
	} else {
		fmt.Fprintf(b, "## %s\n\n", s)
	}
}

func picture(b *strings.Builder, isHTML bool, file, alt string) {
	if isHTML {
		fmt.Fprintf(b, "<p><img src=\"%s\" alt=\"%s\"></p>\n", html.EscapeString(file), html.EscapeString(alt))
	} else {
		fmt.Fprintf(b, "![%s](%s)\n\n", alt, file)
	}
}

func table(b *strings.Builder, isHTML bool, header []string, rows [][]string) {
	if isHTML {
		b.WriteString("<table><tr>")
		for _, h := range header {
			fmt.Fprintf(b, "<th>%s</th>", html.EscapeString(h))
		}
		b.WriteString("</tr>\n")
		for _, r := range rows {
			b.WriteString("<tr>")
			for _, c := range r {
				fmt.Fprintf(b, "<td>%s</td>", html.EscapeString(c))
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</table>\n")
		return
	}
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for range header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range rows {
		esc := make([]string, len(r))
		for i, c := range r {
			esc[i] = strings.ReplaceAll(c, "|", `\|`)
		}
		b.WriteString("| " + strings.Join(esc, " | ") + " |\n")
	}
	b.WriteString("\n")
}
