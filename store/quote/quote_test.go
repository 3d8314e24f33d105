package quote

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestInputIsShortAndEscaped(t *testing.T) {
	huge := strings.Repeat("x", 10<<20)
	if q := Input(huge); len(q) > 100 || !strings.Contains(q, "10485760 bytes") {
		t.Fatalf("Input(10 MB) = %d bytes: %.120s", len(q), q)
	}
	for _, raw := range []string{"a\x1b[31mred", "a\nb", "a\vb", "a\u2028b", "a\u2029b", "a\x00b", "a\u202eb", "bad\xffutf8", "a\x7fb", "a\u0085b"} {
		q := Input(raw)
		for _, r := range q {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 || r == 0x202e {
				t.Errorf("Input(%+q) = %+q keeps U+%04X raw", raw, q, r)
			}
		}
		if !utf8.ValidString(q) {
			t.Errorf("Input(%+q) is not valid UTF-8", raw)
		}
	}
	// Shortening counts runes, never splits one, and says it shortened.
	long := strings.Repeat("é", 100)
	q := Input(long)
	if !utf8.ValidString(q) || strings.Count(q, "é") != MaxRunes || !strings.Contains(q, "…") {
		t.Fatalf("Input(100 é) = %q", q)
	}
	if q := Input("doc-1"); q != `"doc-1"` {
		t.Fatalf("Input(doc-1) = %s", q)
	}
}

func TestPathAndText(t *testing.T) {
	if p := Path("corpus/a b.txt"); p != "corpus/a b.txt" {
		t.Fatalf("a printable path is left as it is: %s", p)
	}
	if p := Path("corpus/\x1b]0;owned\x07.txt"); strings.ContainsAny(p, "\x1b\x07") {
		t.Fatalf("Path kept an escape: %q", p)
	}
	if s := Text("line one\nline two\x1b[2J", 100); strings.ContainsAny(s, "\n\x1b") || !strings.Contains(s, `\n`) {
		t.Fatalf("Text = %q", s)
	}
	if s := Text(strings.Repeat("y", 1000), 10); s != "yyyyyyyyyy…" {
		t.Fatalf("Text shortened = %q", s)
	}
}
