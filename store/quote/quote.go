// Package quote puts input into error messages safely: an id, a text or a
// path that came from a file or a command line is quoted, shortened and has
// its control characters escaped, so that a 10 MB id does not make a 10 MB
// error and an escape sequence in an id never reaches the terminal raw.
package quote

import (
	"strconv"
	"unicode/utf8"
)

// MaxRunes is how much of a quoted input an error shows.
const MaxRunes = 60

// Input quotes s for an error message the way %q does (control characters,
// invisible and non-printable runes and invalid UTF-8 escaped), shortened to
// MaxRunes runes; a shortened input ends in … and says its full length.
func Input(s string) string {
	short, cut := shorten(s)
	q := strconv.Quote(short)
	if cut {
		return q + "… (" + strconv.Itoa(len(s)) + " bytes)"
	}
	return q
}

// Path is a file name for an error message: as it is when it is printable
// and short (the usual case, so messages read "docs.jsonl:3: ..."), quoted
// like Input otherwise.
func Path(p string) string {
	if utf8.RuneCountInString(p) <= 4*MaxRunes && printable(p) {
		return p
	}
	short, cut := shortenTo(p, 4*MaxRunes)
	q := strconv.Quote(short)
	if cut {
		return q + "…"
	}
	return q
}

// Text is free text (an error body, a line of a file) for a message:
// unquoted, shortened to n runes, with control characters escaped so it
// cannot move the cursor or start an escape sequence.
func Text(s string, n int) string {
	short, cut := shortenTo(s, n)
	if !printable(short) {
		q := strconv.Quote(short)
		short = q[1 : len(q)-1]
	}
	if cut {
		short += "…"
	}
	return short
}

func shorten(s string) (string, bool) { return shortenTo(s, MaxRunes) }

func shortenTo(s string, n int) (string, bool) {
	if len(s) <= n { // bytes >= runes: certainly short enough
		return s, false
	}
	i, runes := 0, 0
	for i < len(s) && runes < n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		runes++
	}
	if i >= len(s) {
		return s, false
	}
	return s[:i], true
}

// printable reports whether s is valid UTF-8 made of printable runes and
// plain spaces only.
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r != ' ' && !strconv.IsPrint(r) {
			return false
		}
	}
	return true
}
