package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/qrelbench/qrelbench/store"
)

// displayName is a labeler as the tables name it: "me" for the annotator,
// "@name" for a human, the labeler's name otherwise.
func displayName(l store.Labeler, me int64) string {
	if l.ID == me && me != 0 {
		return "me"
	}
	if rest, ok := strings.CutPrefix(l.Name, "human:"); ok {
		return "@" + rest
	}
	return l.Name
}

// labelerLabels names labeler columns in at most w cells each, the same way
// on every screen: the display name when it fits, else its first w cells
// (the last one a digit where two would read the same). legend says what
// each shortened label stands for ("teach=teacher"); empty when none is.
func labelerLabels(labs []store.Labeler, me int64, w int) (labels []string, legend string) {
	w = max(w, 2)
	labels = make([]string, len(labs))
	used := map[string]bool{}
	var short []string
	for i, l := range labs {
		full := displayName(l, me)
		lab := full
		if ansi.StringWidth(full) > w {
			lab = ansi.Truncate(full, w, "")
			for n := 1; used[lab] && n < 100; n++ {
				d := fmt.Sprint(n)
				lab = ansi.Truncate(full, w-len(d), "") + d
			}
			short = append(short, lab+"="+full)
		}
		used[lab] = true
		labels[i] = lab
	}
	return labels, strings.Join(short, " ")
}

// maxLabel is the widest display name among labs.
func maxLabel(labs []store.Labeler, me int64) int {
	n := 0
	for _, l := range labs {
		n = max(n, ansi.StringWidth(displayName(l, me)))
	}
	return n
}
