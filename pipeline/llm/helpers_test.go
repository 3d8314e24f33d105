package llm

import (
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

var testScale = []Level{
	{0, "Irrelevant", "The document has nothing to do with the query."},
	{1, "Related", "The document seems related to the query but does not answer it."},
	{2, "Highly relevant", "The document has some answer for the query, but the answer may be a bit unclear or hidden."},
	{3, "Perfectly relevant", "The document is dedicated to the query and contains the exact answer."},
}

// recorded is one request seen by a fakeServer.
type recorded struct {
	Path   string
	Query  string
	Header http.Header
	Raw    []byte
	Body   map[string]any
}

// fakeServer is an OpenAI-compatible test server. handle is called with the
// 0-based index of the request; it may write any response.
type fakeServer struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	reqs   []recorded
	handle func(w http.ResponseWriter, r *http.Request, n int, rec recorded)
}

func newFake(t *testing.T, handle func(w http.ResponseWriter, r *http.Request, n int, rec recorded)) *fakeServer {
	t.Helper()
	f := &fakeServer{t: t, handle: handle}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rec := recorded{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Raw: raw}
		if len(raw) > 0 && raw[0] == '{' {
			if err := json.Unmarshal(raw, &rec.Body); err != nil {
				t.Errorf("request body is not JSON: %v", err)
			}
		}
		f.mu.Lock()
		n := len(f.reqs)
		f.reqs = append(f.reqs, rec)
		f.mu.Unlock()
		f.handle(w, r, n, rec)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func (f *fakeServer) cfg() Config {
	return Config{
		BaseURL:     f.URL + "/v1",
		Model:       "test-model",
		APIKeyEnv:   "QRELBENCH_LLM_TEST_KEY_UNSET",
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
		Timeout:     5 * time.Second,
	}
}

type tlp struct {
	tok string
	p   float64
}

type respOpts struct {
	refusal      string
	finish       string
	logprobs     []tlp // top_logprobs of the first token; chosen = content
	promptTokens int
	cached       int
}

func chatJSON(content string, o respOpts) []byte {
	msg := map[string]any{"role": "assistant", "content": content}
	if o.refusal != "" {
		msg["refusal"] = o.refusal
		msg["content"] = nil
	}
	finish := o.finish
	if finish == "" {
		finish = "stop"
	}
	choice := map[string]any{"index": 0, "message": msg, "finish_reason": finish}
	if o.logprobs != nil {
		var top []map[string]any
		chosenLP := -5.0
		for _, t := range o.logprobs {
			top = append(top, map[string]any{"token": t.tok, "logprob": math.Log(t.p)})
			if t.tok == content {
				chosenLP = math.Log(t.p)
			}
		}
		choice["logprobs"] = map[string]any{"content": []any{
			map[string]any{"token": content, "logprob": chosenLP, "top_logprobs": top},
		}}
	}
	pt := o.promptTokens
	if pt == 0 {
		pt = 100
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "test-model",
		"choices": []any{choice},
		"usage": map[string]any{
			"prompt_tokens": pt, "completion_tokens": 5, "total_tokens": pt + 5,
			"prompt_tokens_details": map[string]any{"cached_tokens": o.cached},
		},
	})
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func apiError(msg string) []byte {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
	return b
}

// messagesOf returns the (role, content) pairs of a recorded chat request.
func messagesOf(t *testing.T, rec recorded) [][2]string {
	t.Helper()
	ms, ok := rec.Body["messages"].([]any)
	if !ok {
		t.Fatalf("no messages in request: %s", rec.Raw)
	}
	var out [][2]string
	for _, m := range ms {
		mm := m.(map[string]any)
		content, _ := mm["content"].(string)
		out = append(out, [2]string{mm["role"].(string), content})
	}
	return out
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }
