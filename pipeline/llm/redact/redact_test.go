package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The keys have '-', '_', '/' and '+' so that JSON's \/ and the two base64
// alphabets differ.
const (
	key      = "sk-proj-Zq7_Wx3Mv9Tb2Nc5Rd8/Hf4+Jg6Lk1Ps0Ye"
	shortKey = "EMPTY"
)

func jsonEscape(s string, every int, format string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if i%every == 0 {
			fmt.Fprintf(&b, format, s[i])
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

func percent(s string, format string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, format, s[i])
	}
	return b.String()
}

func wrap(s string, n int, brk string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += n {
		b.WriteString(s[i:min(i+n, len(s))])
		if i+n < len(s) {
			b.WriteString(brk)
		}
	}
	return b.String()
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// encodings are the ways an endpoint may give the key back. Each is put in
// a sentence; the scrubbed sentence must decode to nothing of the key.
var encodings = []struct {
	name string
	enc  func(k string) string
}{
	{"raw", func(k string) string { return k }},
	{"json escapes, lower hex", func(k string) string { return jsonEscape(k, 1, `\u%04x`) }},
	{"json escapes, upper hex", func(k string) string { return jsonEscape(k, 1, `\u%04X`) }},
	{"json escapes, every other character", func(k string) string { return jsonEscape(k, 2, `\u%04x`) }},
	{"json escapes, one character", func(k string) string { return jsonEscape(k, 1000, `\u%04X`) }},
	{"json string of json escapes", func(k string) string { return strings.Trim(jsonString(jsonEscape(k, 1, `\u%04x`)), `"`) }},
	{"json \\u005c escape of an escape", func(k string) string { return jsonEscape(k, 3, `\u005cu%04x`) }},
	{"json string (Go escapes <>& and /)", func(k string) string { return strings.Trim(jsonString(k), `"`) }},
	{"json with escaped slashes (PHP)", func(k string) string { return strings.ReplaceAll(k, "/", `\/`) }},
	{"python \\x escapes", func(k string) string { return jsonEscape(k, 1, `\x%02x`) }},
	{"python \\U escapes", func(k string) string { return jsonEscape(k, 2, `\U%08X`) }},
	{"percent, upper hex", func(k string) string { return percent(k, "%%%02X") }},
	{"percent, lower hex", func(k string) string { return percent(k, "%%%02x") }},
	{"percent, query escaping", url.QueryEscape},
	{"percent, twice", func(k string) string { return url.QueryEscape(percent(k, "%%%02X")) }},
	{"javascript escape()", func(k string) string { return jsonEscape(k, 2, "%%u%04X") }},
	{"html decimal references", func(k string) string { return jsonEscape(k, 1, "&#%d;") }},
	{"html hex references", func(k string) string { return jsonEscape(k, 2, "&#x%X;") }},
	{"html escaping", html.EscapeString},
	{"hex", func(k string) string { return hex.EncodeToString([]byte(k)) }},
	{"HEX", func(k string) string { return strings.ToUpper(hex.EncodeToString([]byte(k))) }},
	{"hex, mixed case", func(k string) string {
		h := []byte(hex.EncodeToString([]byte(k)))
		for i := 0; i < len(h); i += 3 {
			h[i] = bytes.ToUpper(h[i : i+1])[0]
		}
		return string(h)
	}},
	{"hex, percent-encoded", func(k string) string { return url.QueryEscape(hex.EncodeToString([]byte(k))) }},
}

func init() {
	// base64 of texts holding the key at every alignment, in both alphabets,
	// padded and raw, wrapped and escaped.
	type b64 struct {
		name string
		enc  *base64.Encoding
	}
	for _, e := range []b64{{"std", base64.StdEncoding}, {"url", base64.URLEncoding}, {"raw std", base64.RawStdEncoding}, {"raw url", base64.RawURLEncoding}} {
		for _, prefix := range []string{"", "B", "Be", "Bearer ", "Basic user:", "token=x"} {
			for _, suffix := range []string{"", ":", "\n", "!?"} {
				encodings = append(encodings, struct {
					name string
					enc  func(k string) string
				}{fmt.Sprintf("base64 %s of %q+key+%q", e.name, prefix, suffix), func(k string) string {
					return e.enc.EncodeToString([]byte(prefix + k + suffix))
				}})
			}
		}
	}
	long := func(k string) string {
		return base64.StdEncoding.EncodeToString([]byte("Authorization header was: Bearer " + k + " -- end of the echoed request headers"))
	}
	encodings = append(encodings, []struct {
		name string
		enc  func(k string) string
	}{
		{"base64, MIME line breaks", func(k string) string { return wrap(long(k), 76, "\r\n") }},
		{"base64, PEM line breaks", func(k string) string { return wrap(long(k), 64, "\n") }},
		{"base64 in a JSON string, escaped line breaks", func(k string) string { return wrap(long(k), 20, `\n`) }},
		{"base64 in a JSON string, escaped slashes", func(k string) string { return strings.ReplaceAll(long(k), "/", `\/`) }},
		{"base64, percent-encoded", func(k string) string { return url.QueryEscape(long(k)) }},
		{"base64 in a JSON string", func(k string) string { return strings.Trim(jsonString(long(k)), `"`) }},
	}...)
}

// unescapeOnce decodes one layer of JSON, JavaScript and Python escapes.
func unescapeOnce(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		n := map[byte]int{'u': 4, 'U': 8, 'x': 2}[s[i+1]]
		if n > 0 && i+2+n <= len(s) {
			if v, err := strconv.ParseUint(s[i+2:i+2+n], 16, 32); err == nil {
				b.WriteRune(rune(v))
				i += 1 + n
				continue
			}
		}
		if c, ok := map[byte]string{'/': "/", '"': `"`, '\'': "'", '\\': `\`, 'n': "\n", 'r': "\r", 't': "\t"}[s[i+1]]; ok {
			b.WriteString(c)
			i++
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

var (
	rePctU   = regexp.MustCompile(`%u([0-9a-fA-F]{4})`)
	rePct    = regexp.MustCompile(`%([0-9a-fA-F]{2})`)
	reHexRun = regexp.MustCompile(`[0-9a-fA-F]{12,}`)
	reB64Run = regexp.MustCompile(`[A-Za-z0-9+/_=-]{8,}`)
)

func replaceHex(re *regexp.Regexp, s string) string {
	return re.ReplaceAllStringFunc(s, func(m string) string {
		v, _ := strconv.ParseUint(re.FindStringSubmatch(m)[1], 16, 32)
		return string(rune(v))
	})
}

// decodings returns s decoded once in every way the test knows, each
// written independently of the Redactor's matcher.
func decodings(s string) []string {
	out := []string{
		unescapeOnce(s),
		replaceHex(rePct, replaceHex(rePctU, s)),
		html.UnescapeString(s),
		strings.NewReplacer("\r", "", "\n", "", `\n`, "").Replace(s),
	}
	if u, err := url.QueryUnescape(s); err == nil {
		out = append(out, u)
	}
	var dec []string
	for _, run := range reHexRun.FindAllString(s, -1) {
		for o := range 2 {
			r := run[o:]
			if b, err := hex.DecodeString(r[:len(r)/2*2]); err == nil {
				dec = append(dec, string(b))
			}
		}
	}
	for _, run := range reB64Run.FindAllString(s, -1) {
		run = strings.TrimRight(run, "=")
		for o := range 4 {
			if o >= len(run) {
				break
			}
			r := run[o:]
			r = r[:len(r)/4*4]
			for _, e := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
				if b, err := e.DecodeString(r); err == nil {
					dec = append(dec, string(b))
				}
			}
		}
	}
	return append(out, strings.Join(dec, "\x00"))
}

// leak returns a description of the part of k that s still gives back
// after up to three rounds of decoding, or "".
func leak(s, k string) string {
	frontier := []string{s}
	seen := map[string]bool{s: true}
	for depth := 0; depth <= 3; depth++ {
		var next []string
		for _, c := range frontier {
			for i := 0; i+6 <= len(k); i++ {
				if strings.Contains(c, k[i:i+6]) {
					return fmt.Sprintf("%q (bytes %d..%d of the key) after %d decodings in %q", k[i:i+6], i, i+6, depth, c)
				}
			}
			if depth < 3 {
				for _, d := range decodings(c) {
					if !seen[d] {
						seen[d] = true
						next = append(next, d)
					}
				}
			}
		}
		frontier = next
	}
	return ""
}

func TestScrubEveryEncoding(t *testing.T) {
	r := New(key)
	for _, e := range encodings {
		t.Run(e.name, func(t *testing.T) {
			enc := e.enc(key)
			if leak(enc, key) == "" {
				t.Fatalf("the test cannot decode %q back to the key", enc)
			}
			in := "before (" + enc + ") after"
			out := r.Scrub(in)
			if l := leak(out, key); l != "" {
				t.Errorf("Scrub(%q) = %q: %s", in, out, l)
			}
			if !strings.HasPrefix(out, "before (") || !strings.HasSuffix(out, ") after") || !strings.Contains(out, Marker) {
				t.Errorf("Scrub(%q) = %q: want the text around the key kept and %s in its place", in, out, Marker)
			}
			if again := r.Scrub(out); again != out {
				t.Errorf("Scrub is not idempotent: %q then %q", out, again)
			}
			if b := r.ScrubBytes([]byte(in)); string(b) != out {
				t.Errorf("ScrubBytes = %q, Scrub = %q", b, out)
			}
		})
	}
}

// TestScrubKeepsJSONValid: redacting a JSON body before it is decoded must
// leave it decodable, whatever encoding of the key it held, and what it
// decodes to, scrubbed again, gives nothing of the key back.
func TestScrubKeepsJSONValid(t *testing.T) {
	r := New(key)
	for _, e := range encodings {
		body, _ := json.Marshal(map[string]any{"error": map[string]string{"message": "invalid key " + e.enc(key) + "."}})
		// A string inside a string: the model's content holding JSON.
		inner, _ := json.Marshal(map[string]string{"reason": "echo " + e.enc(key)})
		body2, _ := json.Marshal(map[string]string{"content": string(inner)})
		for _, b := range [][]byte{body, body2} {
			out := r.ScrubBytes(b)
			var v map[string]any
			if err := json.Unmarshal(out, &v); err != nil {
				t.Errorf("%s: scrubbed body %s is no longer JSON: %v", e.name, out, err)
				continue
			}
			// The client scrubs again what it decodes (the answer inside the
			// content, the reason inside the answer).
			decoded := r.Scrub(fmt.Sprint(v))
			if l := leak(decoded, key); l != "" {
				t.Errorf("%s: decoded scrubbed body %s: %s", e.name, decoded, l)
			}
		}
	}
}

// TestScrubShortKey: a key too short for its hex and base64 forms to be told
// from text is still removed literally and in escapes, and ordinary words
// stay.
func TestScrubShortKey(t *testing.T) {
	r := New(shortKey)
	for in, want := range map[string]string{
		"key EMPTY here":                "key [REDACTED] here",
		`key \u0045\u004d\u0050TY here`: "key [REDACTED] here",
		"key %45%4D%50%54%59 here":      "key [REDACTED] here",
		"RU1QVFk= and 454d505459":       "RU1QVFk= and 454d505459", // base64 and hex of a 5-byte key: left alone
		"empty Empty EMPT":              "empty Empty EMPT",
	} {
		if got := r.Scrub(in); got != want {
			t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestScrubLeavesOtherTextAlone: no false positives on text that merely
// looks like the encodings.
func TestScrubLeavesOtherTextAlone(t *testing.T) {
	r := New(key)
	for _, s := range []string{
		"", "sk-proj-", `{"grade": 2, "reason": "the document answers the query"}`,
		`\u0073\u006b\u002d and %73%6B%2D and &#115;&#107;`, // the key's first characters only
		base64.StdEncoding.EncodeToString([]byte("sk-proj-Zq7_Wx3Mv9Tb2")),
		hex.EncodeToString([]byte("sk-proj-Zq7_Wx3")), strings.Repeat("\\", 100) + strings.Repeat("%25", 50) + "&#;&#x;",
		"café naïve 日本語 \U0001F600",
	} {
		if got := r.Scrub(s); got != s {
			t.Errorf("Scrub(%q) = %q: nothing to remove", s, got)
		}
	}
	var none *Redactor
	if none.Scrub(key) != key || New("").Scrub(key) != key {
		t.Error("a nil or empty Redactor should remove nothing")
	}
	if s := fmt.Sprintf("%v %+v %#v %s", r, r, r, r); strings.Contains(s, key) || strings.Contains(s, "Zq7") {
		t.Errorf("the Redactor prints its key: %s", s)
	}
}

// TestTransport: bodies, header values and errors come back scrubbed, and
// errors keep their cause for classification.
func TestTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", "Bearer "+key)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"detail":"bad key \"%s\""}`, jsonEscape(key, 1, `\u%04X`))
	}))
	defer srv.Close()
	r := New(key)
	c := &http.Client{Transport: r.Transport(http.DefaultTransport, 1<<20)}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if l := leak(string(body), key); l != "" {
		t.Errorf("body %s: %s", body, l)
	}
	if h := resp.Header.Get("X-Echo"); h != "Bearer "+Marker {
		t.Errorf("header X-Echo = %q", h)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d for a body of %d bytes", resp.ContentLength, len(body))
	}

	small := &http.Client{Transport: r.Transport(http.DefaultTransport, 10)}
	if _, err := small.Get(srv.URL); !errors.Is(err, ErrBodyTooLarge) {
		t.Errorf("a body over the limit: err = %v", err)
	}

	failing := &http.Client{Transport: r.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, fmt.Errorf("proxy said %s: %w", key, syscall.ECONNRESET)
	}), 1<<20)}
	_, err = failing.Get(srv.URL)
	if err == nil || strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), Marker) {
		t.Errorf("transport error %v: want the key replaced", err)
	}
	if !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("transport error %v lost its cause", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// BenchmarkScrub measures Scrub over a batch output file of 1,000 lines
// that holds no key: the cost every response pays.
func BenchmarkScrub(b *testing.B) {
	r := New(key)
	var buf bytes.Buffer
	for i := range 1000 {
		fmt.Fprintf(&buf, `{"id":"batch_req_%d","custom_id":"p%d","response":{"status_code":200,"body":{"choices":[{"index":0,"message":{"role":"assistant","content":"{\"grade\":%d,\"reason\":\"The document describes the expense policy \\u0026 travel rules; 50%% of it answers.\"}"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":812,"completion_tokens":24}}}}`+"\n", i, i, i%4)
	}
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for range b.N {
		if out := r.ScrubBytes(data); len(out) != len(data) {
			b.Fatal("changed")
		}
	}
}

// BenchmarkScrubHostile measures Scrub over 1 MiB of what makes the
// escape reader work hardest: nested escape introducers that almost decode
// to the key.
func BenchmarkScrubHostile(b *testing.B) {
	r := New(key)
	unit := `\\u005c\\\\u0073%25%2573&#x26;#115;\u005c\u005` + `\\\\\\\\\\`
	data := strings.Repeat(unit, (1<<20)/len(unit))
	b.SetBytes(int64(len(data)))
	for range b.N {
		r.Scrub(data)
	}
}
