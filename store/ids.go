package store

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/qrelbench/qrelbench/store/quote"
)

// CheckID refuses an external id (of a document, a query, a run's system…)
// that would not survive a round trip through the files the workbench reads
// and writes: qrels and TREC runs are split on any Unicode white space, TSV
// on tabs, every format on line ends. An id must be non-empty valid UTF-8
// without whitespace (Unicode's, so U+2028/U+2029 and U+0085 too), control
// characters (NUL, ESC, DEL, C1) or the invisible characters that reorder
// or hide text on a terminal (bidirectional controls, byte order mark).
//
// The error says what is wrong and quotes the id safely (see package
// quote); importers add the file and line.
func CheckID(id string) error {
	if id == "" {
		return fmt.Errorf("empty id")
	}
	if !utf8.ValidString(id) {
		return fmt.Errorf("id %s is not valid UTF-8", quote.Input(id))
	}
	for _, r := range id {
		if what := badIDRune(r); what != "" {
			return fmt.Errorf("id %s contains %s (U+%04X): ids must be single printable tokens to round-trip through qrels and run files", quote.Input(id), what, r)
		}
	}
	return nil
}

func badIDRune(r rune) string {
	switch {
	case r == '\u2028':
		return "a line separator"
	case r == '\u2029':
		return "a paragraph separator"
	case unicode.IsSpace(r):
		return "whitespace"
	case unicode.IsControl(r):
		return "a control character"
	case r == '\ufeff', r == '\u061c', r == '\u200e', r == '\u200f',
		r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return "an invisible formatting character"
	}
	return ""
}

// EscapeID makes an id out of a name that may hold what an id cannot (a
// file name with spaces): every such character, and % itself, is
// percent-encoded byte by byte, as in a URL, so distinct names stay
// distinct ids. A name CheckID accepts and without % is returned unchanged.
func EscapeID(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); {
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == '%' || (r == utf8.RuneError && size <= 1) || badIDRune(r) != "" {
			for _, c := range []byte(name[i : i+size]) {
				fmt.Fprintf(&b, "%%%02X", c)
			}
		} else {
			b.WriteString(name[i : i+size])
		}
		i += size
	}
	return b.String()
}
