package tui

import (
	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
)

// helpView is the Help screen: every key, from the same bindings the
// handlers match (see keyMap), scrolled by j/k.
func (m *Model) helpView(w, h int) []string {
	lines := m.helpLines(w)
	m.helpScroll = min(m.helpScroll, max(len(lines)-h, 0))
	return lines[m.helpScroll:]
}

func (m *Model) helpKey(k tea.KeyPressMsg) (tea.Cmd, bool) {
	switch {
	case key.Matches(k, m.keys.down):
		m.helpScroll++
		return nil, true
	case key.Matches(k, m.keys.up):
		m.helpScroll = max(m.helpScroll-1, 0)
		return nil, true
	}
	return nil, false
}
