package tui

import (
	"image/color"
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
)

// styles are the workbench's few styles, chosen for the terminal's
// background: calm, low-chroma colors that read on light and dark terminals.
type styles struct {
	dark      bool
	title     lipgloss.Style // app name
	tab       lipgloss.Style
	tabActive lipgloss.Style
	header    lipgloss.Style // section headings, table headers
	text      lipgloss.Style
	muted     lipgloss.Style
	accent    lipgloss.Style
	hl        lipgloss.Style // query terms in documents
	sel       lipgloss.Style // selected row
	ok        lipgloss.Style
	warn      lipgloss.Style
	bad       lipgloss.Style
	key       lipgloss.Style // key names in the footer and help
	footer    lipgloss.Style
	grade     []color.Color // one color per grade level, low to high
	heat      []color.Color // heatmap ramp, light to strong
}

func newStyles(dark bool, levels int) styles {
	ld := lipgloss.LightDark(dark)
	c := func(light, dark string) color.Color { return ld(lipgloss.Color(light), lipgloss.Color(dark)) }
	fg := c("#2b2b2b", "#d8d8d8")
	muted := c("#767676", "#8a8a8a")
	accent := c("#2f5f8f", "#8cb4d8")
	s := styles{dark: dark}
	s.title = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.tab = lipgloss.NewStyle().Foreground(muted)
	s.tabActive = lipgloss.NewStyle().Bold(true).Foreground(fg).Underline(true)
	s.header = lipgloss.NewStyle().Bold(true).Foreground(fg)
	s.text = lipgloss.NewStyle().Foreground(fg)
	s.muted = lipgloss.NewStyle().Foreground(muted)
	s.accent = lipgloss.NewStyle().Foreground(accent)
	s.hl = lipgloss.NewStyle().Bold(true).Foreground(c("#7a4b00", "#f0c674")).Background(c("#fbefc8", "#3a3320"))
	s.sel = lipgloss.NewStyle().Background(c("#dde6ef", "#2c3a48")).Foreground(fg)
	s.ok = lipgloss.NewStyle().Foreground(c("#2e6b3a", "#8fc79a"))
	s.warn = lipgloss.NewStyle().Foreground(c("#8a5a00", "#e0b060"))
	s.bad = lipgloss.NewStyle().Foreground(c("#9a2f2f", "#e08a8a"))
	s.key = lipgloss.NewStyle().Bold(true).Foreground(accent)
	s.footer = lipgloss.NewStyle().Foreground(muted)
	ramp := []string{"#9a2f2f", "#a86a1f", "#6f7f2a", "#2e6b3a", "#1f5f6f"}
	rampD := []string{"#e08a8a", "#e0b060", "#c5c86a", "#8fc79a", "#7fc4d0"}
	for i := 0; i < levels; i++ {
		j := 0
		if levels > 1 {
			j = i * (len(ramp) - 1) / (levels - 1)
		}
		s.grade = append(s.grade, c(ramp[j], rampD[j]))
	}
	for _, p := range [][2]string{{"#f3f3f3", "#262626"}, {"#dfe8f1", "#23384c"}, {"#bcd0e4", "#2c5378"}, {"#8fb2d4", "#3a6fa3"}, {"#5d8fc0", "#4f8ccc"}} {
		s.heat = append(s.heat, c(p[0], p[1]))
	}
	return s
}

// gradeStyle colors a grade by its level.
func (s styles) gradeStyle(level int) lipgloss.Style {
	if level < 0 || level >= len(s.grade) {
		return s.muted
	}
	return lipgloss.NewStyle().Bold(true).Foreground(s.grade[level])
}

// fit truncates a styled line to w cells and pads it to exactly w.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if n := w - ansi.StringWidth(s); n > 0 {
		s += strings.Repeat(" ", n)
	}
	return s
}

// clip shortens plain text to w cells.
func clip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// pad pads plain or styled text on the right to w cells (truncating).
func pad(s string, w int) string { return fit(s, w) }

// padLeft right-aligns text in w cells.
func padLeft(s string, w int) string {
	s = clip(s, w)
	if n := w - ansi.StringWidth(s); n > 0 {
		return strings.Repeat(" ", n) + s
	}
	return s
}

// bar draws a horizontal bar of frac (0..1) in w cells with eighth blocks.
func bar(frac float64, w int) string {
	if w <= 0 {
		return ""
	}
	frac = min(max(frac, 0), 1)
	eighths := int(frac*float64(w*8) + 0.5)
	full := eighths / 8
	var b strings.Builder
	b.WriteString(strings.Repeat("█", full))
	if rest := eighths % 8; rest > 0 && full < w {
		b.WriteRune([]rune("▏▎▍▌▋▊▉")[rest-1])
		full++
	}
	b.WriteString(strings.Repeat(" ", w-full))
	return b.String()
}
