package store

import (
	"strings"
	"testing"
)

func TestCheckID(t *testing.T) {
	for _, ok := range []string{"d1", "msmarco_passage_00_123", "doc/é/名前.txt", "a-b_c.d:e", "🙂"} {
		if err := CheckID(ok); err != nil {
			t.Errorf("CheckID(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "a b", "a\tb", "a\nb", "a\rb", "a\vb", "a\fb", "a\u2028b", "a\u2029b", "a\u0085b", "a\u00a0b",
		"a\x00b", "a\x1b[31mb", "a\x7fb", "a\u009bb", "a\u202eb", "\ufeffa", "bad\xff"} {
		err := CheckID(bad)
		if err == nil {
			t.Errorf("CheckID(%q) = nil, want an error", bad)
			continue
		}
		if strings.ContainsAny(err.Error(), "\x00\x1b\n\r\v\f\u2028\u2029\u202e\x7f") {
			t.Errorf("CheckID(%q) error carries the raw character: %q", bad, err)
		}
	}
}

func TestEscapeID(t *testing.T) {
	for in, want := range map[string]string{
		"notes/a.txt":  "notes/a.txt",
		"my notes.txt": "my%20notes.txt",
		"100%.txt":     "100%25.txt",
		"a\nb\x1b.txt": "a%0Ab%1B.txt",
		"x\u2028y":     "x%E2%80%A8y",
		"bad\xff.txt":  "bad%FF.txt",
		"日本語/ファイル.md":  "日本語/ファイル.md",
	} {
		got := EscapeID(in)
		if got != want {
			t.Errorf("EscapeID(%q) = %q, want %q", in, got, want)
		}
		if err := CheckID(got); err != nil {
			t.Errorf("EscapeID(%q) = %q is not a valid id: %v", in, got, err)
		}
	}
}
