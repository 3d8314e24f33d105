// Package redact keeps an API key out of everything a model endpoint sends
// back. A Redactor replaces the key, and any text that decodes back to it,
// with Marker; its Transport applies it to every HTTP response before the
// client library decodes it, so nothing read from an endpoint can carry the
// key into a judgment, a query, a log line or an error.
//
// Forms recognised, each character of the key (or of its hex or base64 form)
// written in any mix of:
//   - itself;
//   - a JSON, JavaScript or Python escape: \u0073, \U00000073, \x73, with
//     upper- or lower-case hex, behind any number of backslashes or \u005c
//     (so a JSON string inside a JSON string is covered), and \/ \" \';
//   - percent encoding %73, nested %2573, and JavaScript's %u0073;
//   - an HTML numeric character reference &#115; or &#x73;.
//
// Keys of at least MinEncodedKey bytes are also found as hex (either case)
// and as base64 (standard and URL-safe alphabets, padded or raw, with or
// without line breaks) of any text containing the key at any byte offset:
// the characters that depend on the key's bytes only are searched for at
// each of the three alignments, and the one mixed character on each side is
// removed with them.
package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"
)

// Marker replaces every occurrence of the key.
const Marker = "[REDACTED]"

// MinEncodedKey is the shortest key searched for in hex and base64: the
// encoded forms of a shorter key are too short to tell from ordinary text.
const MinEncodedKey = 8

// target is one text to find: the key, its hex form or one base64 alignment.
type target struct {
	text   []rune
	fold   bool // ASCII case-insensitive (hex)
	base64 bool // line breaks allowed between characters; neighbours removed
}

// Redactor removes one key. The zero value and nil remove nothing. It is
// safe for concurrent use.
type Redactor struct {
	targets []target
	// start marks the bytes that can begin an encoded character of some
	// target: the scan skips every other byte at once.
	start [256]bool
}

// New returns a Redactor for key; an empty key gives one that removes
// nothing.
func New(key string) *Redactor {
	r := &Redactor{}
	if key == "" {
		return r
	}
	r.add(target{text: []rune(key)})
	if len(key) >= MinEncodedKey {
		r.add(target{text: []rune(hex.EncodeToString([]byte(key))), fold: true})
		seen := map[string]bool{}
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding} {
			for off := range 3 {
				sig := base64Signature(enc, key, off)
				if !seen[sig] {
					seen[sig] = true
					r.add(target{text: []rune(sig), base64: true})
				}
			}
		}
	}
	return r
}

// base64Signature is the part of the base64 encoding of any text holding
// key at a byte offset ≡ off (mod 3) that depends on the key's bytes only.
func base64Signature(enc *base64.Encoding, key string, off int) string {
	full := enc.EncodeToString(append(make([]byte, off), key...))
	start := []int{0, 2, 3}[off]    // characters mixing bits of the bytes before
	end := (off + len(key)) / 3 * 4 // the last group with no byte after the key
	if r := (off + len(key)) % 3; r > 0 {
		end += r // a partial last group: its first r characters are the key's
	}
	return full[start:end]
}

func (r *Redactor) add(t target) {
	r.targets = append(r.targets, t)
	c := t.text[0]
	if c < utf8.RuneSelf {
		r.start[c] = true
		if t.fold {
			r.start[lower(c)], r.start[upper(c)] = true, true
		}
	} else {
		var b [utf8.UTFMax]byte
		utf8.EncodeRune(b[:], c)
		r.start[b[0]] = true
	}
	for _, c := range `\%&` {
		r.start[c] = true
	}
}

// String describes the Redactor without the key it holds.
func (r *Redactor) String() string { return "redact.Redactor" }

// GoString is String, so that %#v does not print the key either.
func (r *Redactor) GoString() string { return r.String() }

// Scrub returns s with every recognised form of the key replaced by Marker.
// It returns s itself when there is nothing to remove.
func (r *Redactor) Scrub(s string) string {
	out, _ := r.scrub(s)
	return out
}

func (r *Redactor) scrub(s string) (string, bool) {
	if r == nil || len(r.targets) == 0 {
		return s, false
	}
	var b strings.Builder
	last := 0 // s[last:i] is not copied yet
	for i := 0; i < len(s); {
		if !r.start[s[i]] {
			i++
			continue
		}
		end, b64 := r.matchAt(s, i)
		if end < 0 {
			i++
			continue
		}
		from := i
		if b64 { // the mixed characters on each side carry key bits too
			if from > last && isBase64(s[from-1]) {
				from--
			}
			if end < len(s) && isBase64(s[end]) {
				end++
			}
			for end < len(s) && s[end] == '=' {
				end++
			}
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:from])
		b.WriteString(Marker)
		last, i = end, end
	}
	if last == 0 {
		return s, false
	}
	b.WriteString(s[last:])
	return b.String(), true
}

// ScrubBytes is Scrub for a byte slice; it returns b itself when there is
// nothing to remove.
func (r *Redactor) ScrubBytes(b []byte) []byte {
	if r == nil || len(r.targets) == 0 {
		return b
	}
	if out, changed := r.scrub(string(b)); changed {
		return []byte(out)
	}
	return b
}

// Error returns err with the key removed from its message. The original
// stays reachable through errors.Unwrap so that callers can still classify
// it (timeouts, connection resets).
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := r.Scrub(msg); clean != msg {
		return &scrubbedError{msg: clean, err: err}
	}
	return err
}

type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// maxLayers is how many encodings deep a character of the key is looked
// for: an escape whose own syntax characters are escaped counts one layer
// more (\\u0073 is a JSON string of \u0073: two layers). Three cover a JSON
// body holding a model's JSON answer holding an escaped string; the client
// scrubs again each text it decodes, so deeper nesting is peeled off layer
// by layer.
const maxLayers = 3

// longRun is a run of backslashes that maxLayers decodings leave a
// backslash: nothing else can be read at its start.
var longRun = strings.Repeat(`\`, 1<<maxLayers+1)

// reading is one way to read the character at some offset: the character
// c, and the offset just after its encoding.
type reading struct {
	c   rune
	end int
}

// maxReadings bounds the readings kept for one offset; a character has a
// handful in practice (itself, and an escape or two).
const maxReadings = 16

type readings struct {
	n int
	r [maxReadings]reading
}

func (rs *readings) add(c rune, end int) {
	if rs.n < maxReadings {
		rs.r[rs.n] = reading{c, end}
		rs.n++
	}
}

func (rs *readings) all() []reading { return rs.r[:rs.n] }

// literal returns the rune at s[p:] and whether it is its only reading (it
// does not start an escape).
func literal(s string, p int) (rune, int, bool) {
	c := s[p]
	if c < utf8.RuneSelf {
		return rune(c), 1, c != '\\' && c != '%' && c != '&'
	}
	r, w := utf8.DecodeRuneInString(s[p:])
	return r, w, true
}

// readAt returns every reading of the character at s[p:]: the rune itself,
// then what escapes decode to, their syntax characters read with one layer
// less.
func readAt(s string, p, layers int) (rs readings) {
	if p >= len(s) {
		return rs
	}
	c, w, plain := literal(s, p)
	rs.add(c, p+w)
	if plain || layers == 0 || strings.HasPrefix(s[p:], longRun) {
		return rs
	}
	intro := readAt(s, p, layers-1)
	for _, in := range intro.all() {
		switch in.c {
		case '\\':
			backslashEscape(&rs, s, in.end, layers-1)
		case '%':
			percentEscape(&rs, s, in.end, layers-1)
		case '&':
			charRef(&rs, s, in.end, layers-1)
		}
	}
	return rs
}

// read returns the end of the first reading at s[p:] that is want (or, with
// fold, want in either case).
func read(s string, p, layers int, want rune, fold bool) (int, bool) {
	if p >= len(s) {
		return 0, false
	}
	if c, w, plain := literal(s, p); plain {
		return p + w, same(c, want, fold)
	}
	rs := readAt(s, p, layers)
	for _, r := range rs.all() {
		if same(r.c, want, fold) {
			return r.end, true
		}
	}
	return 0, false
}

// readDigit reads one digit of base at s[p:].
func readDigit(s string, p, layers int, base rune) (rune, int, bool) {
	if p >= len(s) {
		return 0, 0, false
	}
	if c, w, plain := literal(s, p); plain {
		d := digitValue(c)
		return d, p + w, d >= 0 && d < base
	}
	rs := readAt(s, p, layers)
	for _, r := range rs.all() {
		if d := digitValue(r.c); d >= 0 && d < base {
			return d, r.end, true
		}
	}
	return 0, 0, false
}

// readNumber reads n (or, with n < 0, 1 to 8) digits of base at s[p:].
func readNumber(s string, p, layers int, base rune, n int) (v rune, end int, ok bool) {
	digits := 0
	for n < 0 && digits < 8 || digits < n {
		d, e, ok := readDigit(s, p, layers, base)
		if !ok {
			break
		}
		v, p = v*base+d, e
		digits++
	}
	return v, p, digits > 0 && (n < 0 || digits == n)
}

// backslashEscape adds the readings of what follows a backslash at s[q:]:
// u0073, U00000073, x73, one of / " ' \, or n r t.
func backslashEscape(rs *readings, s string, q, layers int) {
	letters := readAt(s, q, layers)
	for _, l := range letters.all() {
		n := 0
		switch l.c {
		case 'u':
			n = 4
		case 'U':
			n = 8
		case 'x':
			n = 2
		case '/', '"', '\'', '\\':
			rs.add(l.c, l.end)
		case 'n':
			rs.add('\n', l.end)
		case 'r':
			rs.add('\r', l.end)
		case 't':
			rs.add('\t', l.end)
		}
		if n > 0 {
			if v, end, ok := readNumber(s, l.end, layers, 16, n); ok {
				rs.add(v, end)
			}
		}
	}
}

// percentEscape adds the readings of what follows a percent sign at s[q:]:
// two hex digits, or JavaScript's u0073.
func percentEscape(rs *readings, s string, q, layers int) {
	if end, ok := read(s, q, layers, 'u', false); ok {
		if v, end, ok := readNumber(s, end, layers, 16, 4); ok {
			rs.add(v, end)
		}
	}
	if v, end, ok := readNumber(s, q, layers, 16, 2); ok {
		rs.add(v, end)
	}
}

// entities are the named character references of the characters that
// matter here: escape syntax and what API keys are made of.
var entities = map[string]rune{
	"amp": '&', "num": '#', "semi": ';', "percnt": '%', "bsol": '\\', "sol": '/', "plus": '+',
	"equals": '=', "lowbar": '_', "colon": ':', "period": '.', "quot": '"', "apos": '\'', "lt": '<', "gt": '>',
}

// charRef adds the readings of what follows an ampersand at s[q:]: #115;
// #x73; or a name from entities, then ';'.
func charRef(rs *readings, s string, q, layers int) {
	p := q
	for p < len(s) && p-q < 8 && (s[p] >= 'a' && s[p] <= 'z' || s[p] >= 'A' && s[p] <= 'Z') {
		p++
	}
	if v, ok := entities[s[q:p]]; ok {
		if end, ok := read(s, p, layers, ';', false); ok {
			rs.add(v, end)
		}
	}
	p, ok := read(s, q, layers, '#', false)
	if !ok {
		return
	}
	base := rune(10)
	if e, ok := read(s, p, layers, 'x', true); ok {
		base, p = 16, e
	}
	if v, e, ok := readNumber(s, p, layers, base, -1); ok {
		if end, ok := read(s, e, layers, ';', false); ok {
			rs.add(v, end)
		}
	}
}

// matchAt returns the end of the longest target match starting at i, or -1.
func (r *Redactor) matchAt(s string, i int) (end int, b64 bool) {
	end = -1
	try := func(c rune, p int) {
		for k := range r.targets {
			t := &r.targets[k]
			if same(c, t.text[0], t.fold) {
				if e := t.matchRest(s, p); e > end {
					end, b64 = e, t.base64
				}
			}
		}
	}
	if c, w, plain := literal(s, i); plain {
		try(c, i+w) // the common case: no escape to read
		return end, b64
	}
	rs := readAt(s, i, maxLayers)
	for _, first := range rs.all() {
		try(first.c, first.end)
	}
	return end, b64
}

// matchRest matches the target's characters after the first at s[p:].
func (t *target) matchRest(s string, p int) int {
	for _, want := range t.text[1:] {
		if t.base64 {
			p = skipBreaks(s, p)
		}
		end, ok := read(s, p, maxLayers, want, t.fold)
		if !ok {
			return -1
		}
		p = end
	}
	return p
}

// skipBreaks skips the line breaks, maybe escaped, that base64 encoders
// put every 64 or 76 characters.
func skipBreaks(s string, p int) int {
	for p < len(s) {
		if end, ok := read(s, p, maxLayers, '\n', false); ok {
			p = end
		} else if end, ok := read(s, p, maxLayers, '\r', false); ok {
			p = end
		} else {
			return p
		}
	}
	return p
}

func same(c, want rune, fold bool) bool {
	return c == want || fold && lower(c) == lower(want)
}

func digitValue(c rune) rune {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return -1
}

func isBase64(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '-' || c == '_'
}

func lower(c rune) rune {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upper(c rune) rune {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

// Transport returns a RoundTripper that hands back every response of base
// with the key removed from its body and header values, and every error of
// base with the key removed from its message. Bodies are read whole (the
// key may straddle any read boundary); one longer than maxBody bytes is an
// error.
func (r *Redactor) Transport(base http.RoundTripper, maxBody int64) http.RoundTripper {
	return &transport{r: r, base: base, maxBody: maxBody}
}

type transport struct {
	r       *Redactor
	base    http.RoundTripper
	maxBody int64
}

// ErrBodyTooLarge is returned for a response body over the Transport's
// limit.
var ErrBodyTooLarge = errors.New("response body too large")

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil {
		return nil, t.r.Error(err)
	}
	for _, vs := range resp.Header {
		for i, v := range vs {
			vs[i] = t.r.Scrub(v)
		}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, t.maxBody+1))
	resp.Body.Close()
	if err != nil {
		return nil, t.r.Error(err)
	}
	if int64(len(body)) > t.maxBody {
		return nil, ErrBodyTooLarge
	}
	body = t.r.ScrubBytes(body)
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}
