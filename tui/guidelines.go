package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/store"
)

// guidelinesState is the Guidelines screen: the workspace's annotation
// guidelines (set with `init --guidelines` or `guidelines set`) and the
// grade scale, one key (i) away from every screen.
type guidelinesState struct {
	g       store.Guidelines
	loaded  bool
	err     error
	scroll  int
	lines   []string // rendered for wrapFor
	wrapFor int
}

type guidelinesMsg struct {
	g   store.Guidelines
	err error
}

// loadCmd reads the guidelines again (someone may have set them since).
func (gs *guidelinesState) loadCmd(m *Model) tea.Cmd {
	st, ctx := m.st, m.ctx
	return func() tea.Msg {
		g, err := st.Guidelines(ctx)
		return guidelinesMsg{g: g, err: err}
	}
}

func (gs *guidelinesState) update(m *Model, msg tea.Msg) (tea.Cmd, bool) {
	if msg, ok := msg.(guidelinesMsg); ok {
		if msg.g != gs.g || !gs.loaded {
			gs.wrapFor = 0
		}
		gs.g, gs.err, gs.loaded = msg.g, msg.err, true
		return nil, true
	}
	return nil, false
}

func (gs *guidelinesState) key(m *Model, k tea.KeyPressMsg) (tea.Cmd, bool) {
	km := &m.keys
	page := max(m.height-4, 1)
	switch {
	case key.Matches(k, km.down):
		gs.scroll++
	case key.Matches(k, km.up):
		gs.scroll = max(gs.scroll-1, 0)
	case key.Matches(k, km.pageDown):
		gs.scroll += page
	case key.Matches(k, km.pageUp):
		gs.scroll = max(gs.scroll-page, 0)
	case key.Matches(k, km.top):
		gs.scroll = 0
	default:
		return nil, false
	}
	return nil, true
}

func (gs *guidelinesState) view(m *Model, w, h int) []string {
	s := m.sty
	if gs.err != nil {
		return []string{"", s.bad.Render("  guidelines: " + gs.err.Error())}
	}
	if !gs.loaded {
		return []string{"", s.muted.Render("  loading the guidelines…")}
	}
	if gs.wrapFor != w {
		gs.lines = gs.render(m, w)
		gs.wrapFor = w
	}
	gs.scroll = min(gs.scroll, max(len(gs.lines)-h, 0))
	return gs.lines[gs.scroll:]
}

func (gs *guidelinesState) render(m *Model, w int) []string {
	s := m.sty
	var out []string
	if gs.g.Text == "" {
		cmd := m.opts.Command
		if cmd == "" {
			cmd = "qrelbench"
		}
		out = append(out, "", " "+s.header.Render("No guidelines in this workspace yet."), "")
		for _, ln := range wrapText("Whoever runs the workspace can add them (a Markdown file) with `"+cmd+" guidelines set FILE.md`, or `init --guidelines FILE.md` when creating it. Until then, the grade scale below is the rule.", max(w-4, 20)) {
			out = append(out, "  "+s.muted.Render(ln))
		}
	} else {
		src := ""
		if gs.g.Source != "" {
			src = "  from " + gs.g.Source
		}
		if !gs.g.UpdatedAt.IsZero() {
			src += ", set " + gs.g.UpdatedAt.UTC().Format("2006-01-02")
		}
		out = append(out, " "+s.header.Render("Guidelines")+s.muted.Render(src), "")
		out = append(out, renderMarkdown(s, gs.g.Text, w)...)
	}
	out = append(out, "", " "+s.header.Render("Grade scale"))
	out = append(out, scaleLines(m, w, -1)...)
	return out
}

// renderMarkdown shows Markdown as a terminal reads it: headings bold,
// paragraphs and list items wrapped (items with a hanging indent), code
// blocks as they are, emphasis markers dropped.
func renderMarkdown(s styles, text string, w int) []string {
	var out []string
	var para []string
	flush := func() {
		if len(para) == 0 {
			return
		}
		for _, ln := range wrapText(strings.Join(para, " "), max(w-3, 10)) {
			out = append(out, "  "+s.text.Render(ln))
		}
		para = para[:0]
	}
	inCode := false
	for _, raw := range strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n") {
		line := strings.TrimRight(raw, " \t")
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "```") {
			flush()
			inCode = !inCode
			continue
		}
		if inCode {
			out = append(out, "    "+s.muted.Render(clip(strings.ReplaceAll(line, "\t", "    "), max(w-5, 10))))
			continue
		}
		switch {
		case trimmed == "":
			flush()
			if len(out) > 0 && out[len(out)-1] != "" {
				out = append(out, "")
			}
		case strings.HasPrefix(trimmed, "#"):
			flush()
			h := strings.TrimSpace(strings.TrimLeft(trimmed, "#"))
			if len(out) > 0 && out[len(out)-1] != "" {
				out = append(out, "")
			}
			out = append(out, " "+s.header.Render(plainInline(h)))
		case isListItem(trimmed):
			flush()
			mark, body := listItem(trimmed)
			mw := ansi.StringWidth(mark)
			indent := strings.Repeat(" ", len(line)-len(strings.TrimLeft(line, " \t")))
			for i, ln := range wrapText(plainInline(body), max(w-4-len(indent)-mw, 10)) {
				lead := "  " + indent + s.accent.Render(mark)
				if i > 0 {
					lead = "  " + indent + strings.Repeat(" ", mw)
				}
				out = append(out, lead+s.text.Render(ln))
			}
		default:
			para = append(para, plainInline(trimmed))
		}
	}
	flush()
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func isListItem(line string) bool { mark, _ := listItem(line); return mark != "" }

// listItem splits a Markdown list item into the marker to show ("• ",
// "1. ") and its text; mark is "" for a line that is not one.
func listItem(line string) (mark, body string) {
	for _, m := range []string{"- ", "* ", "+ "} {
		if strings.HasPrefix(line, m) {
			return "• ", strings.TrimSpace(line[len(m):])
		}
	}
	i := 0
	for i < len(line) && line[i] >= '0' && line[i] <= '9' {
		i++
	}
	if i > 0 && i+1 < len(line) && (line[i] == '.' || line[i] == ')') && line[i+1] == ' ' {
		return line[:i+2], strings.TrimSpace(line[i+2:])
	}
	return "", ""
}

// plainInline drops the emphasis markers a terminal cannot show.
func plainInline(s string) string {
	return strings.NewReplacer("**", "", "__", "").Replace(s)
}
