package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// lineInput is a small modal one-line editor on the status line (notes,
// searches). Its cursor does not blink, so frames stay deterministic.
// Enter submits, esc cancels.
type lineInput struct {
	prompt string
	hint   string // keys shown after the input
	text   []rune
	pos    int
	width  int // cells for the text; longer text scrolls
	submit func(m *Model, text string) tea.Cmd
	// live, when set, is called on every edit (incremental search).
	live func(m *Model, text string) tea.Cmd
	// cancel, when set, is called on esc.
	cancel func(m *Model) tea.Cmd
}

func (m *Model) newInput(label, text string, submit func(m *Model, text string) tea.Cmd) *lineInput {
	r := []rune(text)
	in := &lineInput{prompt: label + ": ", hint: "enter save · esc cancel", text: r, pos: len(r), submit: submit}
	in.setWidth(m)
	return in
}

// setWidth fits the input between its prompt and its hint on the status
// line.
func (in *lineInput) setWidth(m *Model) {
	in.width = max(m.width-1-ansi.StringWidth(in.prompt)-3-ansi.StringWidth(in.hint)-1, 8)
}

func (in *lineInput) insert(s string) {
	s = strings.NewReplacer("\r\n", " ", "\n", " ", "\t", " ").Replace(s)
	r := []rune(s)
	in.text = append(in.text[:in.pos], append(r, in.text[in.pos:]...)...)
	in.pos += len(r)
}

func (in *lineInput) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.inputSave):
		m.input = nil
		return in.submit(m, strings.TrimSpace(string(in.text)))
	case key.Matches(k, m.keys.inputCancel):
		m.input = nil
		if in.cancel != nil {
			return in.cancel(m)
		}
		return nil
	}
	return in.update(m, k)
}

// update applies a key or a paste, then reports edits.
func (in *lineInput) update(m *Model, msg tea.Msg) tea.Cmd {
	before := string(in.text)
	switch msg := msg.(type) {
	case tea.PasteMsg:
		in.insert(msg.Content)
	case tea.KeyPressMsg:
		switch msg.String() {
		case "backspace":
			if in.pos > 0 {
				in.text = append(in.text[:in.pos-1], in.text[in.pos:]...)
				in.pos--
			}
		case "delete", "ctrl+d":
			if in.pos < len(in.text) {
				in.text = append(in.text[:in.pos], in.text[in.pos+1:]...)
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
			in.text, in.pos = in.text[:0], 0
		default:
			if msg.Text != "" && msg.Mod&^tea.ModShift == 0 {
				in.insert(msg.Text)
			}
		}
	}
	if in.live != nil && string(in.text) != before {
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
	// Keep the cursor in view: long text scrolls left.
	if w := ansi.StringWidth(before); w >= in.width {
		before = ansi.TruncateLeft(before, w-in.width+1, "")
	}
	field := s.text.Render(before) + s.sel.Reverse(true).Render(cur) + s.text.Render(after)
	field = fit(field, in.width+1)
	return " " + s.key.Render(in.prompt) + field + s.muted.Render("   "+in.hint)
}
