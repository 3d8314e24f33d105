package tui

import (
	"strings"

	tea "charm.land/bubbletea/v2"
)

// lineInput is a small modal one-line editor on the status line (notes,
// searches). It has no blinking cursor, so frames stay deterministic.
type lineInput struct {
	label  string
	text   []rune
	pos    int
	submit func(m *Model, text string) tea.Cmd
	// live, when set, is called on every edit (incremental search).
	live func(m *Model, text string) tea.Cmd
}

func newInput(label, text string, submit func(m *Model, text string) tea.Cmd) *lineInput {
	r := []rune(text)
	return &lineInput{label: label, text: r, pos: len(r), submit: submit}
}

func (in *lineInput) insert(s string) {
	s = strings.ReplaceAll(s, "\n", " ")
	r := []rune(s)
	in.text = append(in.text[:in.pos], append(r, in.text[in.pos:]...)...)
	in.pos += len(r)
}

func (in *lineInput) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
	edited := false
	switch k.String() {
	case "enter":
		m.input = nil
		return in.submit(m, strings.TrimSpace(string(in.text)))
	case "esc":
		m.input = nil
		return nil
	case "backspace":
		if in.pos > 0 {
			in.text = append(in.text[:in.pos-1], in.text[in.pos:]...)
			in.pos--
			edited = true
		}
	case "delete", "ctrl+d":
		if in.pos < len(in.text) {
			in.text = append(in.text[:in.pos], in.text[in.pos+1:]...)
			edited = true
		}
	case "left", "ctrl+b":
		in.pos = max(in.pos-1, 0)
	case "right", "ctrl+f":
		in.pos = min(in.pos+1, len(in.text))
	case "home", "ctrl+a":
		in.pos = 0
	case "end", "ctrl+e":
		in.pos = len(in.text)
	case "ctrl+u":
		in.text, in.pos, edited = in.text[:0], 0, true
	default:
		if k.Text != "" && k.Mod&^tea.ModShift == 0 {
			in.insert(k.Text)
			edited = true
		}
	}
	if edited && in.live != nil {
		return in.live(m, string(in.text))
	}
	return nil
}

func (in *lineInput) render(m *Model) string {
	s := m.sty
	before := string(in.text[:in.pos])
	cur, after := " ", ""
	if in.pos < len(in.text) {
		cur, after = string(in.text[in.pos]), string(in.text[in.pos+1:])
	}
	return " " + s.key.Render(in.label+":") + " " + s.text.Render(before) + s.sel.Reverse(true).Render(cur) + s.text.Render(after) +
		s.muted.Render("   enter save · esc cancel")
}
