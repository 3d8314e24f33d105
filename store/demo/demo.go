// Package demo holds the small embedded demo corpus that qrelbench uses to
// build a demo workspace: a few hundred documents (mail, files, chat, wiki
// pages, tickets) of Northwind Labs, an invented mid-size software company.
//
// The corpus is written by a deterministic generator (Generate, run through
// `go run ./store/demo/gen` from the repository root) and embedded from
// corpus.jsonl, one JSON object per line in the same format that
// `qrelbench import docs FILE.jsonl` reads: the keys id, title, text, url,
// author, modified, type, and any extra key kept as metadata.
package demo

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"time"
)

//go:embed corpus.jsonl
var corpus []byte

// Doc is one demo document.
type Doc struct {
	ID, Title, Text, URL, Author, Type string
	Modified                           time.Time
	// Meta holds the extra keys (project, team, to, channel, ...). After
	// parsing, JSON arrays are []any and numbers are json.Number.
	Meta map[string]any
}

// coreKeys are the keys of a line that are not metadata.
var coreKeys = map[string]bool{
	"id": true, "title": true, "text": true, "url": true,
	"author": true, "modified": true, "type": true,
}

// JSONL returns the embedded corpus bytes as they are, one document per line.
// The caller must not modify the returned slice.
func JSONL() []byte { return corpus }

// Docs parses the embedded corpus.
func Docs() ([]Doc, error) { return Parse(corpus) }

// Parse reads documents in the corpus JSONL format. Blank lines are skipped.
func Parse(data []byte) ([]Doc, error) {
	var docs []Doc
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var raw map[string]json.RawMessage
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("demo: line %d: %w", line, err)
		}
		var d Doc
		str := func(key string, dst *string) error {
			v, ok := raw[key]
			if !ok {
				return nil
			}
			if err := json.Unmarshal(v, dst); err != nil {
				return fmt.Errorf("demo: line %d: key %q: %w", line, key, err)
			}
			return nil
		}
		for key, dst := range map[string]*string{
			"id": &d.ID, "title": &d.Title, "text": &d.Text, "url": &d.URL,
			"author": &d.Author, "type": &d.Type,
		} {
			if err := str(key, dst); err != nil {
				return nil, err
			}
		}
		var mod string
		if err := str("modified", &mod); err != nil {
			return nil, err
		}
		if mod != "" {
			t, err := time.Parse(time.RFC3339, mod)
			if err != nil {
				return nil, fmt.Errorf("demo: line %d: modified: %w", line, err)
			}
			d.Modified = t
		}
		for k, v := range raw {
			if coreKeys[k] {
				continue
			}
			var val any
			vd := json.NewDecoder(bytes.NewReader(v))
			vd.UseNumber()
			if err := vd.Decode(&val); err != nil {
				return nil, fmt.Errorf("demo: line %d: key %q: %w", line, k, err)
			}
			if d.Meta == nil {
				d.Meta = map[string]any{}
			}
			d.Meta[k] = val
		}
		if d.ID == "" {
			return nil, fmt.Errorf("demo: line %d: missing id", line)
		}
		docs = append(docs, d)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return docs, nil
}

// Encode writes docs in the corpus JSONL format: one object per line with
// the keys id, title, text, url, author, modified, type first and the
// metadata keys after them in sorted order. The output is deterministic.
func Encode(docs []Doc) ([]byte, error) {
	var buf bytes.Buffer
	for _, d := range docs {
		buf.WriteByte('{')
		fields := []struct {
			k string
			v any
		}{
			{"id", d.ID}, {"title", d.Title}, {"text", d.Text}, {"url", d.URL},
			{"author", d.Author}, {"modified", d.Modified.UTC().Format(time.RFC3339)},
			{"type", d.Type},
		}
		keys := make([]string, 0, len(d.Meta))
		for k := range d.Meta {
			if coreKeys[k] {
				return nil, fmt.Errorf("demo: doc %s: metadata key %q clashes with a core key", d.ID, k)
			}
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fields = append(fields, struct {
				k string
				v any
			}{k, d.Meta[k]})
		}
		for i, f := range fields {
			if i > 0 {
				buf.WriteByte(',')
			}
			kb, err := marshal(f.k)
			if err != nil {
				return nil, err
			}
			vb, err := marshal(f.v)
			if err != nil {
				return nil, fmt.Errorf("demo: doc %s: key %q: %w", d.ID, f.k, err)
			}
			buf.Write(kb)
			buf.WriteByte(':')
			buf.Write(vb)
		}
		buf.WriteString("}\n")
	}
	return buf.Bytes(), nil
}

// marshal encodes v as compact JSON without HTML escaping.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
