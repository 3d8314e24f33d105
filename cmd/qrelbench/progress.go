package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/qrelbench/qrelbench/pipeline"
)

// progressPrinter draws a live bar on a terminal and plain lines elsewhere
// (logs, CI), at most a few times a second.
type progressPrinter struct {
	w        io.Writer
	tty      bool
	last     time.Time
	lastLine int
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	tty := false
	if f, ok := w.(*os.File); ok {
		tty = term.IsTerminal(int(f.Fd()))
	}
	return &progressPrinter{w: w, tty: tty}
}

func (pp *progressPrinter) update(p pipeline.Progress) {
	if p.Notice != "" {
		pp.clear()
		fmt.Fprintf(pp.w, "%s: %s\n", p.Kind, p.Notice)
		return
	}
	interval := 5 * time.Second
	if pp.tty {
		interval = 100 * time.Millisecond
	}
	if !p.Finished && time.Since(pp.last) < interval {
		return
	}
	pp.last = time.Now()
	line := formatProgress(p, pp.tty)
	if pp.tty {
		pad := ""
		if n := pp.lastLine - len(line); n > 0 {
			pad = strings.Repeat(" ", n)
		}
		fmt.Fprintf(pp.w, "\r%s%s", line, pad)
		pp.lastLine = len(line)
		if p.Finished {
			fmt.Fprintln(pp.w)
			pp.lastLine = 0
		}
		return
	}
	fmt.Fprintln(pp.w, line)
}

func (pp *progressPrinter) clear() {
	if pp.tty && pp.lastLine > 0 {
		fmt.Fprintf(pp.w, "\r%s\r", strings.Repeat(" ", pp.lastLine))
		pp.lastLine = 0
	}
}

func formatProgress(p pipeline.Progress, bar bool) string {
	var b strings.Builder
	name := p.Kind
	if p.Labeler != "" {
		name += " " + p.Labeler
	}
	b.WriteString(name)
	if bar && p.Total > 0 {
		const width = 24
		filled := min(width, p.Done*width/max(p.Total, 1))
		b.WriteString(" [" + strings.Repeat("█", filled) + strings.Repeat("·", width-filled) + "]")
	}
	fmt.Fprintf(&b, " %d/%d", p.Done, p.Total)
	switch {
	case p.Failed > 0 && p.Retried > 0:
		fmt.Fprintf(&b, " (%d failed, %d retried)", p.Failed, p.Retried)
	case p.Failed > 0:
		fmt.Fprintf(&b, " (%d failed)", p.Failed)
	case p.Retried > 0:
		fmt.Fprintf(&b, " (%d retried)", p.Retried)
	}
	fmt.Fprintf(&b, "  %.0f/s", p.Rate())
	if !p.Finished {
		if eta := p.ETA(); eta > 0 {
			fmt.Fprintf(&b, "  ETA %s", eta.Round(time.Second))
		}
	} else {
		fmt.Fprintf(&b, "  %s in %s", p.Status, p.Elapsed.Round(time.Millisecond))
	}
	if p.TokensIn+p.TokensOut > 0 {
		fmt.Fprintf(&b, "  tokens %d in / %d out  $%.4f", p.TokensIn, p.TokensOut, p.CostUSD)
	}
	return b.String()
}
