package tui

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
)

// helpSections lists every key. These keys are stable: scripts and users
// rely on them.
func (m *Model) helpSections() [][]string {
	digits := m.gradeKeys()
	return [][]string{
		{"Everywhere",
			"tab / shift+tab", "next / previous screen",
			"ctrl+g ctrl+b ctrl+s ctrl+r", "go to Grade, Browse, Stats, Runs",
			"?", "this help (again: back)",
			"b", "blind mode on/off (hide others' grades until you grade)",
			"u", "undo your last change (repeat to walk back)",
			"q / ctrl+c", "quit (waits until every grade is saved)",
		},
		{"Grade",
			digits, "grade the pair and go to the next",
			"x", "unsure / judge later (no grade; it comes back at the end)",
			"s", "skip (comes back after the others)",
			"n", "note on this pair (saved with the grade)",
			"j/k ↑/↓ space pgup", "scroll the document",
			"enter", "open the pair's details (Pair screen)",
			"r", "look again for pairs to grade",
		},
		{"Browse",
			"j/k ↑/↓ pgup/pgdn g/G", "move",
			"enter", "open the pair",
			digits, "grade the selected pair",
			"f / F", "next / previous filter",
			"/", "search query text (enter keeps, esc clears)",
			"←/→ h/l", "select a column",
			"o", "sort by the selected column (again: reverse)",
			"= then " + digits, "only pairs the selected labeler graded so",
			"esc", "clear search, filters and sort",
			"r", "re-apply filters to the latest grades",
		},
		{"Pair",
			digits + " x n u", "grade, unsure, note, undo",
			"j/k", "scroll",
			"esc", "back",
		},
		{"Stats",
			"←/→", "labeler on the heatmap's rows",
			"↑/↓", "labeler on the heatmap's columns",
			"j/k", "scroll",
			"r", "recompute now",
		},
		{"Adjudicate (adjudicators only)",
			digits, "decide the final (gold) grade and go to the next",
			"n", "note for the decision (before the digit)",
			"s", "leave this disagreement for later",
			"enter", "open the pair's details",
			"r", "read the open disagreements again",
		},
		{"Runs",
			"n", "new run: ↑/↓ field, ←/→ choose, digits limit, enter start, esc cancel",
			"j/k", "select a run",
			"c", "cancel the selected run",
			"r", "refresh the list",
		},
	}
}

func (m *Model) helpView(w, h int) []string {
	s := m.sty
	var lines []string
	for _, sec := range m.helpSections() {
		lines = append(lines, " "+s.header.Render(sec[0]))
		for i := 1; i+1 < len(sec); i += 2 {
			lines = append(lines, fmt.Sprintf("   %s %s", s.key.Render(pad(sec[i], 28)), s.text.Render(sec[i+1])))
		}
		lines = append(lines, "")
	}
	m.helpScroll = min(m.helpScroll, max(len(lines)-h, 0))
	return lines[m.helpScroll:]
}

func (m *Model) helpKey(key string) (tea.Cmd, bool) {
	switch key {
	case "j", "down":
		m.helpScroll++
		return nil, true
	case "k", "up":
		m.helpScroll = max(m.helpScroll-1, 0)
		return nil, true
	}
	return nil, false
}
