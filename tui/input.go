package tui

import (
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// lineInput is a modal one-line editor on the status line (notes,
// searches): a textinput bubble with a static cursor, so frames stay
// deterministic. Enter submits, esc cancels.
type lineInput struct {
	textinput.Model
	hint   string // keys shown after the input
	submit func(m *Model, text string) tea.Cmd
	// live, when set, is called on every edit (incremental search).
	live func(m *Model, text string) tea.Cmd
	// cancel, when set, is called on esc.
	cancel func(m *Model) tea.Cmd
}

func (m *Model) newInput(label, text string, submit func(m *Model, text string) tea.Cmd) *lineInput {
	in := &lineInput{Model: textinput.New(), hint: "enter save · esc cancel", submit: submit}
	in.Prompt = label + ": "
	in.setStyles(m.sty)
	in.SetValue(text)
	in.CursorEnd()
	in.Focus()
	in.setWidth(m)
	return in
}

// setStyles styles the input like the rest of the workbench.
func (in *lineInput) setStyles(s styles) {
	st := textinput.DefaultStyles(s.dark)
	st.Focused.Prompt = s.key
	st.Focused.Text = s.text
	st.Blurred.Prompt = s.key
	st.Cursor.Color = s.text.GetForeground()
	st.Cursor.Blink = false // a static cursor: no ticks, deterministic frames
	in.SetStyles(st)
}

// setWidth fits the input between its prompt and its hint on the status
// line; longer text scrolls.
func (in *lineInput) setWidth(m *Model) {
	in.SetWidth(max(m.width-1-ansi.StringWidth(in.Prompt)-3-ansi.StringWidth(in.hint)-1, 8))
}

func (in *lineInput) key(m *Model, k tea.KeyPressMsg) tea.Cmd {
	switch {
	case key.Matches(k, m.keys.inputSave):
		m.input = nil
		return in.submit(m, strings.TrimSpace(in.Value()))
	case key.Matches(k, m.keys.inputCancel):
		m.input = nil
		if in.cancel != nil {
			return in.cancel(m)
		}
		return nil
	}
	return in.update(m, k)
}

// update passes a key or a paste to the text input, then reports edits.
func (in *lineInput) update(m *Model, msg tea.Msg) tea.Cmd {
	before := in.Value()
	var cmd tea.Cmd
	in.Model, cmd = in.Model.Update(msg)
	if in.live != nil && in.Value() != before {
		return tea.Batch(cmd, in.live(m, in.Value()))
	}
	return cmd
}

func (in *lineInput) render(m *Model) string {
	return " " + in.View() + m.sty.muted.Render("   "+in.hint)
}
