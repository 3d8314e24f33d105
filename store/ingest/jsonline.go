package ingest

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// decodeLine parses one line holding one JSON object into what
// encoding/json gives with UseNumber (strings, json.Number, bool, nil, and
// maps and slices for nested values), in one pass over the bytes and with
// one allocation per key and string value. Import lines are flat objects of
// strings and numbers, and this is most of the time an import spends
// outside SQLite. It is strict: anything it does not recognise as a
// well-formed object (and nothing after it but white space) returns
// ok=false, and the caller decodes the line with encoding/json, which
// accepts exactly the same lines and words the error.
func decodeLine(line []byte) (obj map[string]any, ok bool) {
	if !utf8.Valid(line) { // encoding/json would replace what is invalid
		return nil, false
	}
	p := lineParser{b: line}
	p.ws()
	if !p.eat('{') {
		return nil, false
	}
	obj = make(map[string]any, 8)
	p.ws()
	if p.eat('}') {
		return obj, p.end()
	}
	for {
		p.ws()
		key, ok := p.str()
		if !ok {
			return nil, false
		}
		p.ws()
		if !p.eat(':') {
			return nil, false
		}
		p.ws()
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		obj[key] = v
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return obj, p.end()
		}
		return nil, false
	}
}

type lineParser struct {
	b []byte
	i int
}

func (p *lineParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\r', '\n':
			p.i++
		default:
			return
		}
	}
}

func (p *lineParser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *lineParser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// str reads a string. One without escapes is copied as it is; one with
// escapes is handed to encoding/json, which knows surrogate pairs.
func (p *lineParser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start, escaped := p.i, false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !escaped {
				return string(raw), true
			}
			var s string
			if json.Unmarshal(p.b[start-1:p.i], &s) != nil {
				return "", false
			}
			return s, true
		case c == '\\':
			escaped = true
			p.i += 2
		case c < 0x20:
			return "", false
		default:
			p.i++
		}
	}
	return "", false
}

func (p *lineParser) value() (any, bool) {
	if p.i >= len(p.b) {
		return nil, false
	}
	switch c := p.b[p.i]; {
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.lit("true")
	case c == 'f':
		return false, p.lit("false")
	case c == 'n':
		return nil, p.lit("null")
	case c == '{' || c == '[':
		return p.nested()
	}
	return nil, false
}

func (p *lineParser) lit(word string) bool {
	if bytes.HasPrefix(p.b[p.i:], []byte(word)) {
		p.i += len(word)
		return true
	}
	return false
}

// number reads a JSON number (RFC 8259 grammar) as a json.Number.
func (p *lineParser) number() (any, bool) {
	start := p.i
	p.eat('-')
	if !p.eat('0') && !p.digits() {
		return nil, false
	}
	if p.eat('.') && !p.digits() {
		return nil, false
	}
	if p.eat('e') || p.eat('E') {
		if !p.eat('+') {
			p.eat('-')
		}
		if !p.digits() {
			return nil, false
		}
	}
	return json.Number(p.b[start:p.i]), true
}

func (p *lineParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// nested finds the end of an object or array (strings skipped) and lets
// encoding/json decode it.
func (p *lineParser) nested() (any, bool) {
	start, depth := p.i, 0
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '"':
			if _, ok := p.str(); !ok {
				return nil, false
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
		}
		p.i++
		if depth == 0 {
			dec := json.NewDecoder(bytes.NewReader(p.b[start:p.i]))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) != nil || dec.More() {
				return nil, false
			}
			return v, true
		}
	}
	return nil, false
}
