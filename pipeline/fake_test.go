package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

// This file holds the test doubles of the pipeline tests: an in-process,
// loopback OpenAI-compatible chat server whose answers and faults are a
// deterministic function of the document text, and workspace builders.
//
// A document body carries markers the fake reads from the prompt:
//
//	DOC=<id>        which document the request is about (request counts)
//	GRADE=<n>       the grade the fake answers
//	FAULT=<kind>    a fault on every attempt, or FAULT=<kind>x<k> on the
//	                first k attempts of this document only
//
// Faults: 500, 429 (with Retry-After), 400 (not retried), slow (never
// answers; the client's timeout fires), drop (connection closed without a
// response), malformed (a 200 whose body is not JSON), scale (grade 7, out
// of every scale), garbage (prose instead of JSON), refuse (a refusal).

var (
	docRe   = regexp.MustCompile(`DOC=([A-Za-z0-9_.-]+)`)
	gradeRe = regexp.MustCompile(`GRADE=(\d+)`)
	faultRe = regexp.MustCompile(`FAULT=([a-z0-9]+?)(?:x(\d+))?(?:\s|$)`)
)

const (
	testModel  = "test-model"
	testKeyEnv = "QRELBENCH_PIPELINE_TEST_KEY"
	priceIn    = 2.5 // USD per 1M input tokens
	priceOut   = 10.0
)

// usage is what the fake charges for one answered request.
type usage struct{ in, out int }

func (u usage) cost() float64 { return (float64(u.in)*priceIn + float64(u.out)*priceOut) / 1e6 }

// fakeLLM is an OpenAI-compatible chat-completions server on loopback.
type fakeLLM struct {
	*httptest.Server
	t testing.TB

	mu       sync.Mutex
	recv     map[string]int   // requests received per DOC
	paid     map[string]int   // 200 answers with usage per DOC
	lastPaid map[string]usage // usage of the latest paid answer per DOC
	paidCost float64          // sum of usage × price over paid answers
	bodies   int              // chat bodies checked

	total  atomic.Int64 // every request
	served atomic.Int64 // answers about to be given (for blockAfter)
	// blockAfter > 0: requests beyond that many answers wait until the
	// client gives up (or the test ends) and get no answer.
	blockAfter atomic.Int64
	release    chan struct{}

	latency  time.Duration // fixed delay before every answer
	wantKey  string        // expected bearer token ("" = not checked)
	minimal  bool          // benchmark mode: skip body checks and bookkeeping
	grades   []int         // expected json_schema enum
	wantLP   bool          // expect logprobs requests
	synthAns func(doc string, attempt int) string
}

func newFakeLLM(t testing.TB, grades []int) *fakeLLM {
	t.Helper()
	f := &fakeLLM{t: t, recv: map[string]int{}, paid: map[string]int{}, lastPaid: map[string]usage{},
		release: make(chan struct{}), grades: grades}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	t.Cleanup(func() { close(f.release) }) // runs first: unblocks held handlers
	return f
}

func (f *fakeLLM) baseURL() string { return f.URL + "/v1" }

func (f *fakeLLM) counts() (recv, paid map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	recv, paid = map[string]int{}, map[string]int{}
	for k, v := range f.recv {
		recv[k] = v
	}
	for k, v := range f.paid {
		paid[k] = v
	}
	return recv, paid
}

func (f *fakeLLM) serve(w http.ResponseWriter, r *http.Request) {
	f.total.Add(1)
	if r.Method != http.MethodPost || r.URL.Path != "/v1/chat/completions" {
		f.t.Errorf("fake llm: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if f.minimal {
		f.benchAnswer(w, raw)
		return
	}
	if f.wantKey != "" && r.Header.Get("Authorization") != "Bearer "+f.wantKey {
		f.t.Errorf("fake llm: authorization header %q", r.Header.Get("Authorization"))
	}
	var req chatReq
	if err := json.Unmarshal(raw, &req); err != nil {
		f.t.Errorf("fake llm: request body is not JSON: %v", err)
		http.Error(w, "bad json", http.StatusBadRequest)
		return
	}
	if f.synthAns != nil {
		f.answerSynth(w, req)
		return
	}
	user := f.checkGradeRequest(req)
	doc := match(docRe, user)
	f.mu.Lock()
	f.recv[doc]++
	attempt := f.recv[doc]
	f.bodies++
	f.mu.Unlock()

	grade := 0
	if g := match(gradeRe, user); g != "" {
		grade, _ = strconv.Atoi(g)
	}
	fault := ""
	if m := faultRe.FindStringSubmatch(user); m != nil {
		fault = m[1]
		if m[2] != "" {
			if k, _ := strconv.Atoi(m[2]); attempt > k {
				fault = ""
			}
		}
	}
	switch fault {
	case "500":
		writeJSON(w, 500, apiError("internal error"))
		return
	case "429":
		w.Header().Set("Retry-After", "0.05")
		writeJSON(w, 429, apiError("rate limited"))
		return
	case "400":
		writeJSON(w, 400, apiError("bad request: context too long"))
		return
	case "slow":
		select {
		case <-r.Context().Done():
		case <-f.release:
		case <-time.After(10 * time.Second):
		}
		return
	case "drop":
		if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
			conn.Close()
		}
		return
	case "malformed":
		writeJSON(w, 200, []byte(`{"id": "x", "choices": [ {not json`))
		return
	}
	if n := f.blockAfter.Load(); n > 0 && f.served.Add(1) > n {
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
		return
	}
	if f.latency > 0 {
		time.Sleep(f.latency)
	}
	content, refusal := fmt.Sprintf(`{"grade":%d}`, grade), ""
	switch fault {
	case "scale":
		content = `{"grade":7}`
	case "garbage":
		content = "I think this document is quite relevant."
	case "refuse":
		content, refusal = "", "I can't help with that."
	}
	u := usage{in: len(user)/4 + 17, out: len(content) + len(refusal) + 1}
	var body []byte
	if req.LogProbs {
		body = chatLP(grade, u)
	} else {
		body = chatBody(content, refusal, u)
	}
	f.mu.Lock()
	f.paid[doc]++
	f.lastPaid[doc] = u
	f.paidCost += u.cost()
	f.mu.Unlock()
	writeJSON(w, 200, body)
}

// benchAnswer is the fast path: a valid small answer with usage.
func (f *fakeLLM) benchAnswer(w http.ResponseWriter, raw []byte) {
	grade := 0
	if i := strings.Index(string(raw), "GRADE="); i >= 0 && i+6 < len(raw) {
		grade = int(raw[i+6] - '0')
	}
	if f.latency > 0 {
		time.Sleep(f.latency)
	}
	writeJSON(w, 200, chatBody(fmt.Sprintf(`{"grade":%d}`, grade), "", usage{in: 120, out: 6}))
}

type chatReq struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	ResponseFormat *struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Strict bool            `json:"strict"`
			Schema json.RawMessage `json:"schema"`
		} `json:"json_schema"`
	} `json:"response_format"`
	LogProbs    bool     `json:"logprobs"`
	TopLogProbs int      `json:"top_logprobs"`
	MaxTokens   int      `json:"max_tokens"`
	Temperature *float64 `json:"temperature"`
}

// checkGradeRequest verifies the shape of a grading request and returns its
// user message.
func (f *fakeLLM) checkGradeRequest(req chatReq) string {
	t := f.t
	if req.Model != testModel {
		t.Errorf("fake llm: model %q, want %q", req.Model, testModel)
	}
	if len(req.Messages) != 2 || req.Messages[0].Role != "system" || req.Messages[1].Role != "user" {
		t.Errorf("fake llm: messages %+v", req.Messages)
		return ""
	}
	sys, user := req.Messages[0].Content, req.Messages[1].Content
	lo, hi := f.grades[0], f.grades[len(f.grades)-1]
	if !strings.Contains(sys, fmt.Sprintf("integer scale of %d to %d", lo, hi)) {
		t.Errorf("fake llm: system prompt does not state the scale %d-%d", lo, hi)
	}
	if !strings.HasPrefix(user, "Query: ") || !strings.Contains(user, "<document>") || !strings.Contains(user, "</document>") {
		t.Errorf("fake llm: user message %q", user)
	}
	if req.Temperature == nil || *req.Temperature > 1e-6 {
		t.Errorf("fake llm: temperature %v, want greedy", req.Temperature)
	}
	if f.wantLP {
		if !req.LogProbs || req.TopLogProbs != 10 || req.MaxTokens != 1 || req.ResponseFormat != nil {
			t.Errorf("fake llm: logprobs request logprobs=%v top=%d max_tokens=%d format=%v", req.LogProbs, req.TopLogProbs, req.MaxTokens, req.ResponseFormat)
		}
		return user
	}
	if req.LogProbs || req.ResponseFormat == nil || req.ResponseFormat.Type != "json_schema" || req.ResponseFormat.JSONSchema == nil ||
		!req.ResponseFormat.JSONSchema.Strict || req.ResponseFormat.JSONSchema.Name != "relevance_grade" {
		t.Errorf("fake llm: json request without a strict relevance_grade schema: %+v", req.ResponseFormat)
		return user
	}
	var schema struct {
		Properties struct {
			Grade struct {
				Type string `json:"type"`
				Enum []int  `json:"enum"`
			} `json:"grade"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if err := json.Unmarshal(req.ResponseFormat.JSONSchema.Schema, &schema); err != nil {
		t.Errorf("fake llm: schema: %v", err)
	}
	if schema.Properties.Grade.Type != "integer" || fmt.Sprint(schema.Properties.Grade.Enum) != fmt.Sprint(f.grades) ||
		fmt.Sprint(schema.Required) != "[grade]" {
		t.Errorf("fake llm: schema %s", req.ResponseFormat.JSONSchema.Schema)
	}
	return user
}

func (f *fakeLLM) answerSynth(w http.ResponseWriter, req chatReq) {
	if req.Model != testModel || len(req.Messages) != 2 || req.ResponseFormat == nil || req.ResponseFormat.JSONSchema == nil ||
		req.ResponseFormat.JSONSchema.Name != "synthetic_queries" {
		f.t.Errorf("fake llm: synthesis request %+v", req)
	}
	user := ""
	if len(req.Messages) == 2 {
		user = req.Messages[1].Content
	}
	doc := match(docRe, user)
	f.mu.Lock()
	f.recv[doc]++
	attempt := f.recv[doc]
	f.mu.Unlock()
	content := f.synthAns(doc, attempt)
	u := usage{in: 1000, out: 50}
	f.mu.Lock()
	f.paid[doc]++
	f.paidCost += u.cost()
	f.mu.Unlock()
	writeJSON(w, 200, chatBody(content, "", u))
}

func match(re *regexp.Regexp, s string) string {
	if m := re.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return ""
}

func chatBody(content, refusal string, u usage) []byte {
	msg := map[string]any{"role": "assistant", "content": content}
	if refusal != "" {
		msg["refusal"] = refusal
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": testModel,
		"choices": []any{map[string]any{"index": 0, "message": msg, "finish_reason": "stop"}},
		"usage":   map[string]any{"prompt_tokens": u.in, "completion_tokens": u.out, "total_tokens": u.in + u.out},
	})
	return b
}

// chatLP answers a logprobs request: the grade's digit with probability
// 0.7, the next lower digit (or higher at 0) with 0.3.
func chatLP(grade int, u usage) []byte {
	other := grade - 1
	if other < 0 {
		other = grade + 1
	}
	tok := strconv.Itoa(grade)
	top := []any{
		map[string]any{"token": tok, "logprob": math.Log(0.7)},
		map[string]any{"token": strconv.Itoa(other), "logprob": math.Log(0.3)},
	}
	b, _ := json.Marshal(map[string]any{
		"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": testModel,
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": tok}, "finish_reason": "length",
			"logprobs": map[string]any{"content": []any{map[string]any{"token": tok, "logprob": math.Log(0.7), "top_logprobs": top}}}}},
		"usage": map[string]any{"prompt_tokens": u.in, "completion_tokens": u.out, "total_tokens": u.in + u.out},
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

// ---------------------------------------------------------------- workspace

func newWorkspace(t testing.TB, scale string) *store.Store {
	t.Helper()
	st, err := store.Create(context.Background(), filepath.Join(t.TempDir(), "ws.db"), store.Scales[scale])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// tdoc is a test document.
type tdoc struct{ id, title, body string }

// tquery is a test query with the documents it is paired with.
type tquery struct {
	id, text string
	docs     []string
}

// populate stores documents, queries and their (imported) pairs, and
// returns the pair ids by "query/doc".
func populate(t testing.TB, st *store.Store, docs []tdoc, queries []tquery) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	pairs := map[string]int64{}
	err := st.Tx(ctx, func(tx *store.Store) error {
		ids := map[string]int64{}
		for _, d := range docs {
			doc := store.Document{ExtID: d.id, Title: d.title, Body: d.body}
			if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
				return err
			}
			ids[d.id] = doc.ID
		}
		for _, q := range queries {
			qq := store.Query{ExtID: q.id, Text: q.text}
			if _, err := tx.PutQuery(ctx, &qq, false); err != nil {
				return err
			}
			for _, d := range q.docs {
				p := store.Pair{QueryID: qq.ID, DocID: ids[d], Source: store.SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
				pairs[q.id+"/"+d] = p.ID
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pairs
}

// addModelLabeler registers a model labeler pointing at the fake.
func addModelLabeler(t testing.TB, st *store.Store, name string, f *fakeLLM, cfg store.LabelerConfig) store.Labeler {
	t.Helper()
	l := store.Labeler{Name: name, Kind: store.KindLLM, BaseURL: f.baseURL(), Model: testModel, APIKeyEnv: testKeyEnv,
		PriceIn: priceIn, PriceOut: priceOut, Config: cfg}
	if err := st.AddLabeler(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	return l
}

// judgments returns the labeler's current judgments keyed by pair id.
func judgments(t testing.TB, st *store.Store, labelerID int64) map[int64]store.Judgment {
	t.Helper()
	rows, err := st.DB().Query(`SELECT pair_id FROM judgments WHERE labeler_id = ?`, labelerID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	out := map[int64]store.Judgment{}
	for _, id := range ids {
		j, ok, err := st.Judgment(context.Background(), id, labelerID)
		if err != nil || !ok {
			t.Fatalf("judgment of pair %d: %v %v", id, ok, err)
		}
		out[id] = j
	}
	return out
}

// progressLog records every progress event.
type progressLog struct {
	mu     sync.Mutex
	events []Progress
}

func (l *progressLog) add(p Progress) {
	l.mu.Lock()
	l.events = append(l.events, p)
	l.mu.Unlock()
}

func (l *progressLog) notices() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, e := range l.events {
		if e.Notice != "" {
			out = append(out, e.Notice)
		}
	}
	return out
}

// checkMonotone asserts Done never decreases and the last event is the one
// Finished event.
func (l *progressLog) checkMonotone(t testing.TB, wantDone int, wantStatus string) {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		t.Fatal("no progress events")
	}
	last := -1
	finished := 0
	for i, e := range l.events {
		if e.Done < last {
			t.Fatalf("progress Done went back from %d to %d at event %d", last, e.Done, i)
		}
		last = e.Done
		if e.Failed > e.Done {
			t.Fatalf("progress Failed %d > Done %d", e.Failed, e.Done)
		}
		if e.Finished {
			finished++
		}
	}
	end := l.events[len(l.events)-1]
	if finished != 1 || !end.Finished || end.Status != wantStatus || end.Done != wantDone {
		t.Fatalf("final progress %+v (finished events %d), want Done %d status %s", end, finished, wantDone, wantStatus)
	}
}

func approx(a, b float64) bool {
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b)))
}
