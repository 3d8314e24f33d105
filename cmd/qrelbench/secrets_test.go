package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// TestAPIKeyNeverLeaks runs a labeler against a hostile endpoint that echoes
// the Authorization header back in error messages and in model output, then
// looks for the key in every place qrelbench writes: the workspace file and
// its WAL, exports, and everything printed.
func TestAPIKeyNeverLeaks(t *testing.T) {
	const key = "sk-test-3f9a7c1e5b2d4f6a8c0e1b3d5f7a9c2e"
	t.Setenv("QRELBENCH_LEAK_TEST_KEY", key)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		auth := r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		if bytes.Contains(body, []byte("ECHO-IN-ERROR")) {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error"}}`, strings.TrimPrefix(auth, "Bearer "))
			return
		}
		content, _ := json.Marshal("I cannot grade this; your key is " + auth)
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, content)
	}))
	defer srv.Close()

	dir := t.TempDir()
	db := filepath.Join(dir, "w.db")
	pairs := filepath.Join(dir, "pairs.jsonl")
	os.WriteFile(pairs, []byte(`{"query_id":"q1","query_text":"expense policy","doc_id":"d1","doc_text":"Expense policy ECHO-IN-ERROR"}
{"query_id":"q1","query_text":"expense policy","doc_id":"d2","doc_text":"Travel and expense policy for 2026"}
`), 0o644)
	var printed strings.Builder
	for _, args := range [][]string{
		{"init"},
		{"import", "pairs", pairs},
		{"labeler", "add", "teacher", "--base-url", srv.URL + "/v1", "--model", "m", "--api-key-env", "QRELBENCH_LEAK_TEST_KEY", "--concurrency", "2"},
		{"label", "--labeler", "teacher"},
		{"labeler", "show", "teacher"},
		{"labeler", "list"},
		{"stats"},
		{"export", "pairs"},
		{"eval", "--cost"},
	} {
		out, stderr, err := runCLI(t, append([]string{"--db", db}, args...)...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
		printed.WriteString(out + stderr)
	}
	if strings.Contains(printed.String(), key) {
		t.Errorf("the API key was printed:\n%s", printed.String())
	}
	// Both pairs failed (401 and unparseable), and their raw answers and
	// errors were kept, just without the key.
	if !strings.Contains(printed.String(), "2 pairs graded, 2 failed") {
		t.Errorf("expected two recorded failures:\n%s", printed.String())
	}
	// The raw answer is kept for audit, with the key cut out.
	if !strings.Contains(printed.String(), `"failed":{"teacher":"unparseable"}`) && !strings.Contains(printed.String(), "unparseable") {
		t.Errorf("the unparseable answer was not recorded:\n%s", printed.String())
	}
	for _, f := range []string{db, db + "-wal"} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(key)) || (f == db && false) {
			t.Errorf("the API key is stored in %s", filepath.Base(f))
		}
	}
}

// keyForms are the ways a hostile endpoint can write key so that a decoder
// gives it back: literally, JSON \u escapes (lower and upper hex), percent
// encoding, hex, and base64 (standard and URL alphabets) of a longer text
// holding the key at each of the three byte alignments. The test builds
// them independently of the redaction code it checks.
func keyForms(key string) map[string]string {
	forms := map[string]string{"raw": key}
	var lo, up, pct strings.Builder
	for i := 0; i < len(key); i++ {
		fmt.Fprintf(&lo, `\u%04x`, key[i])
		fmt.Fprintf(&up, `\u%04X`, key[i])
		fmt.Fprintf(&pct, `%%%02X`, key[i])
	}
	forms["json-escaped"], forms["json-escaped-upper"], forms["percent"] = lo.String(), up.String(), pct.String()
	forms["hex"] = hex.EncodeToString([]byte(key))
	forms["HEX"] = strings.ToUpper(forms["hex"])
	for off := 0; off < 3; off++ {
		for name, enc := range map[string]*base64.Encoding{"std": base64.StdEncoding, "url": base64.URLEncoding} {
			// The characters that depend on key bytes only.
			full := enc.EncodeToString(append(bytes.Repeat([]byte{0}, off), key...))
			start := []int{0, 2, 3}[off]
			end := (off + len(key)) / 3 * 4
			forms[fmt.Sprintf("base64-%s-%d", name, off)] = full[start:end]
		}
	}
	return forms
}

func findKeyForm(data []byte, forms map[string]string) string {
	for name, f := range forms {
		if bytes.Contains(data, []byte(f)) {
			return name
		}
	}
	return ""
}

// TestSynthEchoedKeyNeverLeaks lets a synthesizer endpoint write its API
// key into the queries it returns, in every encoding of keyForms, plus in a
// refusal and in an error body, then grades the synthesized pairs with a
// second endpoint and exports everything: the key must reach neither the
// workspace (file and WAL), nor the exports, nor anything printed, nor the
// prompts the second endpoint receives.
func TestSynthEchoedKeyNeverLeaks(t *testing.T) {
	const key = "sk-echo-A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
	t.Setenv("QRELBENCH_SYNTH_KEY", key)
	t.Setenv("QRELBENCH_GRADER_KEY", "sk-grader-other-key-0000000000")
	forms := keyForms(key)
	b64 := base64.StdEncoding.EncodeToString

	synth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		k := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		w.Header().Set("Content-Type", "application/json")
		switch {
		case bytes.Contains(body, []byte("synthesizer refuses")):
			refusal, _ := json.Marshal("I will not help with " + k)
			fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"","refusal":%s},"finish_reason":"stop"}]}`, refusal)
			return
		case bytes.Contains(body, []byte("request fails")):
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":{"message":"bad key \"%s\"","type":"invalid_request_error"}}`, forms["json-escaped"])
			return
		}
		// The content is itself JSON, so an escape inside it is doubly
		// encoded in the body: the decoded query text is the key.
		title := regexp.MustCompile(`Title: (\w+)`).FindSubmatch(body)
		if title == nil {
			t.Errorf("no title in the synthesis request %s", body)
			return
		}
		content := `{"queries":[` +
			`{"text":"` + string(title[1]) + ` where is ` + k + `","style":"keyword"},` +
			`{"text":"` + string(title[1]) + ` token ` + forms["json-escaped"] + ` please","style":"natural"},` +
			`{"text":"` + string(title[1]) + ` auth ` + b64([]byte("Bearer "+k)) + `","style":"file"},` +
			`{"text":"` + string(title[1]) + ` url key=` + forms["percent"] + `","style":"keyword"},` +
			`{"text":"` + string(title[1]) + ` hex ` + forms["hex"] + ` and ` + b64([]byte("x:"+k+":y")) + `","style":"person"}]}`
		c, _ := json.Marshal(content)
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`, c)
	}))
	defer synth.Close()
	var prompts bytes.Buffer
	var mu sync.Mutex
	grader := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		prompts.Write(body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"{\"grade\":1}"},"finish_reason":"stop"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15}}`)
	}))
	defer grader.Close()

	dir := t.TempDir()
	db := filepath.Join(dir, "w.db")
	docs := cliFile(t, dir, "docs.jsonl", `{"id":"doc-a","title":"Expense policy","text":"Travel and expense policy for 2026, approved by finance."}
{"id":"doc-b","title":"Onboarding","text":"How new engineers get laptops and accounts."}
{"id":"doc-refuse","title":"Refused","text":"A document the synthesizer refuses."}
{"id":"doc-error","title":"Error","text":"A document whose request fails."}
`)
	trainDir := filepath.Join(dir, "student-data")
	var printed strings.Builder
	for _, args := range [][]string{
		{"init"},
		{"import", "docs", docs},
		{"labeler", "add", "writer", "--base-url", synth.URL + "/v1", "--model", "m", "--api-key-env", "QRELBENCH_SYNTH_KEY"},
		{"labeler", "add", "teacher", "--base-url", grader.URL + "/v1", "--model", "m", "--api-key-env", "QRELBENCH_GRADER_KEY"},
		{"synth", "--labeler", "writer", "--per-doc", "5"},
		{"label", "--labeler", "teacher"},
		{"export", "pairs", "--out", filepath.Join(dir, "pairs.jsonl")},
		{"export", "qrels", "--labeler", "teacher", "--out", filepath.Join(dir, "teacher.qrels")},
		{"distill", "export", "--teacher", "teacher", "--out", trainDir, "--val-fraction", "0"},
		{"stats"},
		{"export", "pairs"},
	} {
		out, stderr, err := runCLI(t, append([]string{"--db", db}, args...)...)
		printed.WriteString(out + stderr)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, stderr)
		}
	}
	if !strings.Contains(printed.String(), "2 failed") {
		t.Errorf("the refused and the failed synthesis should be recorded as failures:\n%s", printed.String())
	}
	if !strings.Contains(prompts.String(), "Onboarding where is [REDACTED]") {
		t.Errorf("the synthesized queries should reach the grader with the key cut out; prompts:\n%.2000s", prompts.String())
	}
	places := map[string][]byte{"printed output": []byte(printed.String()), "prompts sent to the grader": prompts.Bytes()}
	for _, f := range []string{db, db + "-wal", filepath.Join(dir, "pairs.jsonl"), filepath.Join(dir, "teacher.qrels"),
		filepath.Join(trainDir, "train.jsonl"), filepath.Join(trainDir, "manifest.json")} {
		data, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		places[filepath.Base(f)] = data
	}
	for place, data := range places {
		if form := findKeyForm(data, forms); form != "" {
			t.Errorf("the API key (%s) is in the %s", form, place)
		}
	}
}
