package demo

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDocsCountAndFields(t *testing.T) {
	docs, err := Docs()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(docs); n < 300 || n > 400 {
		t.Fatalf("got %d docs, want 300-400", n)
	}
	ids := map[string]bool{}
	types := map[string]int{}
	for _, d := range docs {
		if ids[d.ID] {
			t.Errorf("duplicate id %s", d.ID)
		}
		ids[d.ID] = true
		types[d.Type]++
		if d.ID == "" || d.Title == "" || d.Text == "" || d.URL == "" || d.Author == "" || d.Type == "" || d.Modified.IsZero() {
			t.Errorf("doc %s has an empty field: %+v", d.ID, d)
		}
		for _, s := range []string{d.Title, d.Text, d.URL, d.Author} {
			if !utf8.ValidString(s) {
				t.Errorf("doc %s: invalid UTF-8", d.ID)
			}
		}
		if w := len(strings.Fields(d.Text)); w < 20 || w > 600 {
			t.Errorf("doc %s: %d words", d.ID, w)
		}
		if len(d.Meta) == 0 {
			t.Errorf("doc %s: no metadata", d.ID)
		}
		if d.Type == "mail" {
			if to, ok := d.Meta["to"].([]any); !ok || len(to) == 0 {
				t.Errorf("mail %s: no recipients", d.ID)
			}
		}
	}
	for _, typ := range []string{"mail", "file", "chat", "page", "ticket"} {
		if types[typ] < 20 {
			t.Errorf("type %s: only %d docs", typ, types[typ])
		}
	}
	if len(types) != 5 {
		t.Errorf("unexpected types: %v", types)
	}
}

func TestEmbeddedValidUTF8(t *testing.T) {
	if !utf8.Valid(JSONL()) {
		t.Fatal("embedded corpus is not valid UTF-8")
	}
	if !bytes.HasSuffix(JSONL(), []byte("\n")) {
		t.Fatal("corpus should end with a newline")
	}
}

// TestRegenerate checks that the embedded file is exactly what the
// generator writes. If it fails after a change to the generator, run
// `go run ./store/demo/gen` from the repository root.
func TestRegenerate(t *testing.T) {
	got, err := Encode(Generate(DefaultSeed))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, JSONL()) {
		t.Fatal("corpus.jsonl is stale: run `go run ./store/demo/gen` from the repository root")
	}
	again, _ := Encode(Generate(DefaultSeed))
	if !bytes.Equal(got, again) {
		t.Fatal("Generate is not deterministic")
	}
	other, _ := Encode(Generate(DefaultSeed + 1))
	if bytes.Equal(got, other) {
		t.Fatal("different seeds gave the same corpus")
	}
}

func TestParseEncodeRoundTrip(t *testing.T) {
	docs, err := Docs()
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(docs)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, JSONL()) {
		t.Fatal("Parse then Encode does not reproduce the corpus")
	}
}

func TestCoreKeysFirst(t *testing.T) {
	line, _, _ := bytes.Cut(JSONL(), []byte("\n"))
	if !bytes.HasPrefix(line, []byte(`{"id":"doc-0001","title":`)) {
		t.Fatalf("unexpected line start: %.60s", line)
	}
}

func TestSharedVocabularyAndNearDuplicates(t *testing.T) {
	docs, _ := Docs()
	perProject := map[string]int{}
	versions := 0
	replies := 0
	for _, d := range docs {
		if p, ok := d.Meta["project"].(string); ok {
			perProject[p]++
		}
		if strings.HasSuffix(d.Title, "(v2)") {
			versions++
		}
		if strings.HasPrefix(d.Title, "Re: ") {
			replies++
		}
	}
	if len(perProject) != 8 {
		t.Errorf("projects: %v", perProject)
	}
	for p, n := range perProject {
		if n < 15 {
			t.Errorf("project %s: only %d docs", p, n)
		}
	}
	if versions < 5 || replies < 3 {
		t.Errorf("near-duplicates: %d v2 docs, %d replies", versions, replies)
	}
	authors := map[string]bool{}
	for _, d := range docs {
		authors[d.Author] = true
	}
	if len(authors) < 15 {
		t.Errorf("only %d authors", len(authors))
	}
}

func TestParseErrors(t *testing.T) {
	if _, err := Parse([]byte("{not json}\n")); err == nil {
		t.Error("want error for bad JSON")
	}
	if _, err := Parse([]byte(`{"title":"x"}` + "\n")); err == nil {
		t.Error("want error for missing id")
	}
	docs, err := Parse([]byte("\n" + `{"id":"a","text":"t","extra":1,"tags":["x"]}` + "\n\n"))
	if err != nil || len(docs) != 1 || docs[0].Meta["extra"] == nil {
		t.Fatalf("docs=%v err=%v", docs, err)
	}
}
