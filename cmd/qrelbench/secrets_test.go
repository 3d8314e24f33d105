package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
