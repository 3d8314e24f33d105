package llm

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// echoForms are encodings of key that decode back to it, built here with the
// standard library and independently of package redact: JSON escapes (full
// and partial, both cases of hex), percent encoding, hex and base64 of texts
// holding the key at each byte alignment.
func echoForms(key string) map[string]string {
	esc := func(every int, format string) string {
		var b strings.Builder
		for i := 0; i < len(key); i++ {
			if i%every == 0 {
				fmt.Fprintf(&b, format, key[i])
			} else {
				b.WriteByte(key[i])
			}
		}
		return b.String()
	}
	return map[string]string{
		"raw":                      key,
		"json escapes":             esc(1, `\u%04x`),
		"JSON escapes":             esc(1, `\u%04X`),
		"partial json escapes":     esc(3, `\u%04x`),
		"percent":                  esc(1, "%%%02X"),
		"hex":                      hex.EncodeToString([]byte(key)),
		"base64":                   base64.StdEncoding.EncodeToString([]byte(key)),
		"base64 of Bearer key":     base64.StdEncoding.EncodeToString([]byte("Bearer " + key)),
		"raw url base64 of :key:!": base64.RawURLEncoding.EncodeToString([]byte(":" + key + ":!")),
	}
}

// keyPieces are the substrings of the forms that give part of the key
// back: no text the client returns may contain one.
func keyPieces(key string) []string {
	var out []string
	for _, f := range echoForms(key) {
		if len(f) > 24 {
			out = append(out, f[len(f)/2-8:len(f)/2+8])
		}
	}
	return append(out, key[len(key)/2-4:len(key)/2+4])
}

// TestEchoedKeyInAnyEncodingNeverReturned is issue 11's item 7: an endpoint
// writing the key back, encoded in any of echoForms, in error bodies of
// every shape, in answers, reasons and refusals, in batch output lines and
// in synthesized queries. Nothing the client returns may hold it.
func TestEchoedKeyInAnyEncodingNeverReturned(t *testing.T) {
	const key = "sk-proj-Hq3Wm8Zt1Kv6Rx0Nb4Jc7Lp2Sd5Fg9Ye"
	t.Setenv("QRELBENCH_ECHO_TEST_KEY", key)
	pieces := keyPieces(key)
	check := func(t *testing.T, what, s string) {
		t.Helper()
		for _, p := range pieces {
			if strings.Contains(s, p) {
				t.Errorf("%s holds the key: %q", what, s)
				return
			}
		}
	}
	for name, form := range echoForms(key) {
		// In a JSON string the form's backslashes are doubled: decoding the
		// body gives the form back, decoding the form gives the key.
		quoted, _ := json.Marshal(form)
		inContent, _ := json.Marshal(`{"grade":2,"reason":"my key is ` + form + `"}`)
		bodies := []struct {
			what   string
			status int
			body   string
		}{
			{"a FastAPI error body", 401, `{"detail":"invalid key ` + form + `"}`},
			{"an OpenAI error", 400, `{"error":{"message":` + string(quoted) + `,"type":"invalid_request_error"}}`},
			{"an HTML error page", 403, "<html><body>forbidden: " + form + "</body></html>"},
			{"a reason", 200, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":` + string(inContent) + `},"finish_reason":"stop"}]}`},
			{"an unparseable answer", 200, string(chatJSON("here is "+form, respOpts{}))},
			{"a refusal", 200, string(chatJSON("", respOpts{refusal: "no, " + form}))},
		}
		t.Run(name, func(t *testing.T) {
			for _, b := range bodies {
				f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, rec recorded) {
					if strings.Contains(b.body, "<html>") {
						w.Header().Set("Content-Type", "text/html")
						w.WriteHeader(b.status)
						w.Write([]byte(b.body))
						return
					}
					writeJSON(w, b.status, []byte(b.body))
				})
				cfg := f.cfg()
				cfg.APIKeyEnv, cfg.MaxRetries, cfg.Rationale = "QRELBENCH_ECHO_TEST_KEY", -1, true
				c, err := New(cfg, testScale)
				if err != nil {
					t.Fatal(err)
				}
				j := c.Grade(context.Background(), "q", testDoc)
				check(t, b.what+": judgment", fmt.Sprintf("%+v", j))
				if b.status == 200 && j.Raw == "" && j.Reason == "" {
					t.Errorf("%s: the answer was not kept: %+v", b.what, j)
				}
				_, _, err = c.Synthesize(context.Background(), testDoc, 2)
				check(t, b.what+": synthesis error", fmt.Sprint(err))
			}

			// Batch output lines: an error line, a failed request, an answer.
			c, _ := New(Config{Model: "m", APIKeyEnv: "QRELBENCH_ECHO_TEST_KEY", Rationale: true}, testScale)
			for _, line := range []string{
				`{"id":"b1","custom_id":"p1","error":{"code":"invalid_key","message":` + string(quoted) + `}}`,
				`{"id":"b2","custom_id":"p2","response":{"status_code":401,"body":{"detail":` + string(quoted) + `}}}`,
				`{"id":"b3","custom_id":"p3","response":{"status_code":200,"body":` + bodies[3].body + `}}`,
			} {
				id, j, err := c.ParseBatchOutputLine([]byte(line))
				check(t, "batch line "+line, fmt.Sprintf("%s %+v %v", id, j, err))
			}
		})
	}
}

// TestSynthesizedQueriesScrubbed: queries decoded from the answer are
// scrubbed again, so an escape inside the answer's JSON cannot carry the key
// into a query.
func TestSynthesizedQueriesScrubbed(t *testing.T) {
	const key = "sk-synth-Qw8Er4Ty6Ui2Op0As"
	t.Setenv("QRELBENCH_ECHO_TEST_KEY", key)
	forms := echoForms(key)
	var qs []string
	for _, name := range []string{"raw", "json escapes", "percent", "base64 of Bearer key", "hex"} {
		qs = append(qs, `{"text":"find `+forms[name]+`","style":"keyword"}`)
	}
	content := `{"queries":[` + strings.Join(qs, ",") + `]}`
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, rec recorded) {
		writeJSON(w, 200, chatJSON(content, respOpts{}))
	})
	cfg := f.cfg()
	cfg.APIKeyEnv = "QRELBENCH_ECHO_TEST_KEY"
	c, _ := New(cfg, testScale)
	got, _, err := c.Synthesize(context.Background(), testDoc, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("got %d queries, want 5: %+v", len(got), got)
	}
	for _, q := range got {
		if !strings.HasPrefix(q.Text, "find ") || !strings.HasSuffix(q.Text, "[REDACTED]") {
			t.Errorf("query %q: want the key replaced", q.Text)
		}
	}
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "%+v", got)
	for _, p := range keyPieces(key) {
		if strings.Contains(buf.String(), p) {
			t.Errorf("queries hold the key: %s", buf.String())
		}
	}
}
