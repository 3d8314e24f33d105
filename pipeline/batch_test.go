package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

// fakeBatchAPI is an OpenAI Files + Batch API on loopback. An uploaded
// JSONL file becomes a batch whose output answers each line like fakeLLM
// does (GRADE=, FAULT=scale, FAULT=error markers in the document text); a
// batch reports in_progress for the first inProgress polls, then completed.
type fakeBatchAPI struct {
	*httptest.Server
	t          *testing.T
	inProgress int
	// final is the status after the in_progress polls ("completed" when
	// empty); partial keeps only every other output line.
	final   string
	partial bool

	mu       sync.Mutex
	uploads  int
	creates  int
	polls    map[string]int
	outputs  map[string][]byte // output file id -> content
	batches  map[string]string // batch id -> output file id
	inputs   map[string][]byte // file id -> uploaded content
	lines    map[string]int    // custom_id -> times uploaded
	charged  float64           // usage × price of every answered line
	requests []string
}

func newFakeBatchAPI(t *testing.T, inProgress int) *fakeBatchAPI {
	f := &fakeBatchAPI{t: t, inProgress: inProgress, polls: map[string]int{}, outputs: map[string][]byte{},
		batches: map[string]string{}, inputs: map[string][]byte{}, lines: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeBatchAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	switch {
	case r.Method == "POST" && r.URL.Path == "/v1/files":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			f.t.Errorf("upload: %v", err)
			http.Error(w, "bad form", 400)
			return
		}
		if r.FormValue("purpose") != "batch" {
			f.t.Errorf("upload purpose %q", r.FormValue("purpose"))
		}
		file, _, err := r.FormFile("file")
		if err != nil {
			f.t.Errorf("upload file: %v", err)
			http.Error(w, "no file", 400)
			return
		}
		data, _ := io.ReadAll(file)
		f.uploads++
		id := fmt.Sprintf("file-in-%d", f.uploads)
		f.inputs[id] = data
		writeJSON(w, 200, []byte(fmt.Sprintf(`{"id":%q,"object":"file","purpose":"batch"}`, id)))
	case r.Method == "POST" && r.URL.Path == "/v1/batches":
		var req struct {
			InputFileID      string `json:"input_file_id"`
			Endpoint         string `json:"endpoint"`
			CompletionWindow string `json:"completion_window"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		data, ok := f.inputs[req.InputFileID]
		if !ok || req.Endpoint != "/v1/chat/completions" || req.CompletionWindow != "24h" {
			f.t.Errorf("create batch %+v", req)
			http.Error(w, "bad batch", 400)
			return
		}
		f.creates++
		bid := fmt.Sprintf("batch_%d", f.creates)
		out := fmt.Sprintf("file-out-%d", f.creates)
		f.outputs[out] = f.answer(data)
		f.batches[bid] = out
		writeJSON(w, 200, []byte(fmt.Sprintf(`{"id":%q,"object":"batch","status":"validating"}`, bid)))
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/batches/"):
		bid := strings.TrimPrefix(r.URL.Path, "/v1/batches/")
		out, ok := f.batches[bid]
		if !ok {
			writeJSON(w, 404, apiError("no such batch"))
			return
		}
		f.polls[bid]++
		n := bytes.Count(f.outputs[out], []byte("\n"))
		if f.polls[bid] <= f.inProgress {
			writeJSON(w, 200, []byte(fmt.Sprintf(`{"id":%q,"object":"batch","status":"in_progress","request_counts":{"total":%d,"completed":%d,"failed":0}}`, bid, n, n/2)))
			return
		}
		final := f.final
		if final == "" {
			final = "completed"
		}
		writeJSON(w, 200, []byte(fmt.Sprintf(`{"id":%q,"object":"batch","status":%q,"output_file_id":%q,"request_counts":{"total":%d,"completed":%d,"failed":0}}`, bid, final, out, n, n)))
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/v1/files/") && strings.HasSuffix(r.URL.Path, "/content"):
		id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v1/files/"), "/content")
		data, ok := f.outputs[id]
		if !ok {
			writeJSON(w, 404, apiError("no such file"))
			return
		}
		w.Write(data)
	default:
		f.t.Errorf("fake batch api: unexpected %s %s", r.Method, r.URL.Path)
		http.Error(w, "not found", 404)
	}
}

// answer builds the output file of an input file, checking every line.
func (f *fakeBatchAPI) answer(input []byte) []byte {
	var out bytes.Buffer
	for i, line := range bytes.Split(bytes.TrimSpace(input), []byte("\n")) {
		if f.partial && i%2 == 1 {
			continue
		}
		var l struct {
			CustomID string  `json:"custom_id"`
			Method   string  `json:"method"`
			URL      string  `json:"url"`
			Body     chatReq `json:"body"`
		}
		if err := json.Unmarshal(line, &l); err != nil {
			f.t.Errorf("input line %s: %v", line, err)
			continue
		}
		if l.Method != "POST" || l.URL != "/v1/chat/completions" || !strings.HasPrefix(l.CustomID, "pair-") {
			f.t.Errorf("input line %s", line)
		}
		f.lines[l.CustomID]++
		// The body is exactly a grading request.
		check := &fakeLLM{t: f.t, grades: grades03}
		user := check.checkGradeRequest(l.Body)
		grade, _ := strconv.Atoi(match(gradeRe, user))
		content := fmt.Sprintf(`{"grade":%d}`, grade)
		if strings.Contains(user, "FAULT=scale") {
			content = `{"grade":7}`
		}
		var resp any
		if strings.Contains(user, "FAULT=error") {
			resp = map[string]any{"status_code": 500, "request_id": "r", "body": json.RawMessage(apiError("server error"))}
		} else {
			u := usage{in: len(user)/4 + 17, out: len(content)}
			f.charged += u.cost() / 2
			resp = map[string]any{"status_code": 200, "request_id": "r", "body": json.RawMessage(chatBody(content, "", u))}
		}
		b, _ := json.Marshal(map[string]any{"id": "batch_req_" + l.CustomID, "custom_id": l.CustomID, "response": resp, "error": nil})
		out.Write(b)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func (f *fakeBatchAPI) stats() (uploads, creates int, polls map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := map[string]int{}
	for k, v := range f.polls {
		p[k] = v
	}
	return f.uploads, f.creates, p
}

func batchWorkspace(t *testing.T, f *fakeBatchAPI, markers []string) (*store.Store, store.Labeler, map[int64]string) {
	st, pairs := modelWorkspace(t, len(markers), func(i int) string { return markers[i] })
	l := store.Labeler{Name: "gpt-batch", Kind: store.KindLLM, BaseURL: f.URL + "/v1", Model: testModel, APIKeyEnv: testKeyEnv,
		PriceIn: priceIn, PriceOut: priceOut}
	if err := st.AddLabeler(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	return st, l, pairDoc(pairs)
}

func TestLabelBatchRestartMidPoll(t *testing.T) {
	ctx := context.Background()
	f := newFakeBatchAPI(t, 2)
	markers := []string{"GRADE=0", "GRADE=1", "GRADE=2", "GRADE=3", "GRADE=2 FAULT=scale", "GRADE=1"}
	st, lab, docOf := batchWorkspace(t, f, markers)
	var log progressLog
	opt := BatchOptions{Label: LabelOptions{Labeler: lab.Name, Progress: log.add}, PollInterval: time.Millisecond}

	// First call: submits, polls once (in progress) and returns.
	msg, err := LabelBatch(ctx, st, opt)
	if err != nil || !strings.Contains(msg, "batch_1") || !strings.Contains(msg, "in_progress") {
		t.Fatalf("first call: %q %v", msg, err)
	}
	run, ok, err := st.UnfinishedRun(ctx, store.RunBatch, lab.ID)
	if err != nil || !ok || run.ExternalID != "batch_1" || run.Total != len(markers) || run.Status != store.RunRunning {
		t.Fatalf("pending batch run %+v %v %v", run, ok, err)
	}
	if js := judgments(t, st, lab.ID); len(js) != 0 {
		t.Fatalf("%d judgments before the batch completed", len(js))
	}
	if ns := log.notices(); len(ns) != 1 || !strings.Contains(ns[0], "in_progress") {
		t.Fatalf("notices %q", ns)
	}

	// A restart (a new call, as after a crash or Ctrl-C) polls the same
	// batch: no second upload, no second batch.
	msg, err = LabelBatch(ctx, st, BatchOptions{Label: LabelOptions{Labeler: lab.Name}, Wait: true, PollInterval: time.Millisecond})
	if err != nil || !strings.Contains(msg, "ingested: 6 judgments, 1 failed") {
		t.Fatalf("second call: %q %v", msg, err)
	}
	uploads, creates, polls := f.stats()
	if uploads != 1 || creates != 1 || polls["batch_1"] != 3 || len(polls) != 1 {
		t.Fatalf("uploads %d creates %d polls %v", uploads, creates, polls)
	}
	run, err = st.Run(ctx, run.ID)
	if err != nil || run.Status != store.RunDone || run.Done != 6 || run.Failed != 1 {
		t.Fatalf("finished batch run %+v %v", run, err)
	}
	js := judgments(t, st, lab.ID)
	sum := 0.0
	for pid, j := range js {
		var i int
		fmt.Sscanf(docOf[pid], "d%d", &i)
		wantStatus, wantGrade := store.StatusOK, i%4
		if i == 4 {
			wantStatus, wantGrade = store.StatusUnparseable, -1
		}
		if i == 5 {
			wantGrade = 1
		}
		if j.Status != wantStatus || j.Grade != wantGrade || j.RunID != run.ID || j.TokensIn == 0 {
			t.Errorf("%s: %+v", docOf[pid], j)
		}
		full := lab.Cost(j.TokensIn, j.TokensOut)
		if !approx(j.CostUSD, full/2) {
			t.Errorf("%s: cost %g, want half of %g", docOf[pid], j.CostUSD, full)
		}
		sum += j.CostUSD
	}
	if len(js) != 6 || !approx(run.CostUSD, sum) || !approx(sum, f.charged) {
		t.Fatalf("%d judgments, run cost %g, judgments %g, server charged (half price) %g", len(js), run.CostUSD, sum, f.charged)
	}
	if run.BusySeconds < 0 || run.BusySeconds > 60 {
		t.Fatalf("busy seconds %g", run.BusySeconds)
	}

	// Once ingested, a further call submits only the pair that failed (a
	// failure is not a grade), not the graded ones.
	msg, err = LabelBatch(ctx, st, BatchOptions{Label: LabelOptions{Labeler: lab.Name}, Wait: true, PollInterval: time.Millisecond})
	if err != nil || !strings.Contains(msg, "ingested: 1 judgments, 1 failed") {
		t.Fatalf("third call: %q %v", msg, err)
	}
	if uploads, creates, _ := f.stats(); uploads != 2 || creates != 2 {
		t.Fatalf("third call uploaded %d / created %d", uploads, creates)
	}
}

func TestLabelBatchWaitAndRetryErrors(t *testing.T) {
	ctx := context.Background()
	f := newFakeBatchAPI(t, 1)
	markers := []string{"GRADE=3", "GRADE=2 FAULT=error", "GRADE=1"}
	st, lab, docOf := batchWorkspace(t, f, markers)

	// One call with Wait: submit, poll until completed, ingest.
	msg, err := LabelBatch(ctx, st, BatchOptions{Label: LabelOptions{Labeler: lab.Name}, Wait: true, PollInterval: time.Millisecond})
	if err != nil || !strings.Contains(msg, "ingested: 3 judgments, 1 failed") {
		t.Fatalf("%q %v", msg, err)
	}
	runs, _ := st.Runs(ctx, store.RunBatch, 0)
	if len(runs) != 1 || runs[0].Status != store.RunDone || runs[0].ExternalID != "batch_1" {
		t.Fatalf("runs %+v", runs)
	}
	if b := runs[0].BusySeconds; b < 0 || b > 60 {
		t.Fatalf("busy seconds %g for a batch that took milliseconds", b)
	}
	for pid, j := range judgments(t, st, lab.ID) {
		if docOf[pid] == "d1" {
			if j.Status != store.StatusError || j.Grade != -1 || !strings.Contains(j.Reason, "server error") || j.CostUSD != 0 {
				t.Errorf("d1: %+v", j)
			}
		} else if j.Status != store.StatusOK {
			t.Errorf("%s: %+v", docOf[pid], j)
		}
	}
	// The next call submits only the failed pair.
	msg, err = LabelBatch(ctx, st, BatchOptions{Label: LabelOptions{Labeler: lab.Name}, Wait: true, PollInterval: time.Millisecond})
	if err != nil || !strings.Contains(msg, "batch_2") || !strings.Contains(msg, "ingested: 1 judgments, 1 failed") {
		t.Fatalf("second call %q %v", msg, err)
	}
	f.mu.Lock()
	lines := f.lines
	f.mu.Unlock()
	for id, n := range lines {
		want := 1
		if docOf[mustPairID(t, id)] == "d1" {
			want = 2
		}
		if n != want {
			t.Errorf("%s uploaded %d times, want %d", id, n, want)
		}
	}
}

func mustPairID(t *testing.T, customID string) int64 {
	id, err := strconv.ParseInt(strings.TrimPrefix(customID, "pair-"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestLabelBatchExpired: an expired batch's partial output is ingested once;
// the rerun submits only the pairs left instead of polling the dead batch
// again (and counting its output twice).
func TestLabelBatchExpired(t *testing.T) {
	ctx := context.Background()
	f := newFakeBatchAPI(t, 0)
	f.final, f.partial = "expired", true
	markers := []string{"GRADE=0", "GRADE=1", "GRADE=2", "GRADE=3"}
	st, lab, _ := batchWorkspace(t, f, markers)
	opt := BatchOptions{Label: LabelOptions{Labeler: lab.Name}, Wait: true, PollInterval: time.Millisecond}

	_, err := LabelBatch(ctx, st, opt)
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("expired batch: %v", err)
	}
	runs, _ := st.Runs(ctx, store.RunBatch, 0)
	if len(runs) != 1 || runs[0].Status != store.RunFailed || runs[0].Done != 2 {
		t.Fatalf("runs %+v", runs)
	}
	if js := judgments(t, st, lab.ID); len(js) != 2 {
		t.Fatalf("%d judgments from the partial output, want 2", len(js))
	}
	cost := runs[0].CostUSD

	f.final, f.partial = "", false
	msg, err := LabelBatch(ctx, st, opt)
	if err != nil || !strings.Contains(msg, "batch_2") || !strings.Contains(msg, "ingested: 2 judgments, 0 failed") {
		t.Fatalf("rerun: %q %v", msg, err)
	}
	uploads, creates, polls := f.stats()
	if uploads != 2 || creates != 2 || polls["batch_1"] != 1 {
		t.Fatalf("uploads %d creates %d polls %v", uploads, creates, polls)
	}
	runs, _ = st.Runs(ctx, store.RunBatch, 0)
	// Newest first: runs[1] is the expired run, its output counted once.
	if len(runs) != 2 || runs[1].Done != 2 || runs[1].CostUSD != cost || runs[0].Status != store.RunDone || runs[0].Done != 2 {
		t.Fatalf("runs after the rerun %+v", runs)
	}
	if js := judgments(t, st, lab.ID); len(js) != 4 {
		t.Fatalf("%d judgments, want 4", len(js))
	}
	msg, err = LabelBatch(ctx, st, opt)
	if err != nil || !strings.HasPrefix(msg, "nothing to grade") {
		t.Fatalf("third call: %q %v", msg, err)
	}
	if uploads, _, polls := f.stats(); uploads != 2 || polls["batch_1"] != 1 {
		t.Fatalf("third call: uploads %d polls %v", uploads, polls)
	}
}

func TestLabelBatchNeedsModel(t *testing.T) {
	st := newWorkspace(t, "0-3")
	if _, err := LabelBatch(context.Background(), st, BatchOptions{Label: LabelOptions{Labeler: "lexical"}}); err == nil || !strings.Contains(err.Error(), "Batch API") {
		t.Fatalf("lexical through the Batch API: %v", err)
	}
}

// TestLabelBatchSplitsAtTheAPILimit: more pending pairs than one batch may
// hold go out in successive batches, one per call, each pair exactly once.
func TestLabelBatchSplitsAtTheAPILimit(t *testing.T) {
	defer func(n int) { maxBatchRequests = n }(maxBatchRequests)
	maxBatchRequests = 2
	ctx := context.Background()
	f := newFakeBatchAPI(t, 1)
	st, lab, _ := batchWorkspace(t, f, []string{"GRADE=3", "GRADE=2", "GRADE=1"})
	msg, err := LabelBatch(ctx, st, BatchOptions{Label: LabelOptions{Labeler: lab.Name}, Wait: true, PollInterval: time.Millisecond})
	if err != nil || !strings.Contains(msg, "ingested: 2 judgments") || !strings.Contains(msg, "1 pairs still to grade") {
		t.Fatalf("first batch: %q %v", msg, err)
	}
	msg, err = LabelBatch(ctx, st, BatchOptions{Label: LabelOptions{Labeler: lab.Name}, Wait: true, PollInterval: time.Millisecond})
	if err != nil || !strings.Contains(msg, "batch_2") || !strings.Contains(msg, "ingested: 1 judgments") || strings.Contains(msg, "still to grade") {
		t.Fatalf("second batch: %q %v", msg, err)
	}
	if got := len(judgments(t, st, lab.ID)); got != 3 {
		t.Fatalf("%d judgments, want 3", got)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, n := range f.lines {
		if n != 1 {
			t.Errorf("%s uploaded %d times", id, n)
		}
	}
}

// TestLabelBatchSkipsPairsClaimedByARun: a batch does not submit the pairs a
// synchronous run of the labeler is paying for right now.
func TestLabelBatchSkipsPairsClaimedByARun(t *testing.T) {
	ctx := context.Background()
	f := newFakeBatchAPI(t, 0)
	st, lab, _ := batchWorkspace(t, f, []string{"GRADE=0", "GRADE=1", "GRADE=2", "GRADE=3"})
	owner := store.NewOwner()
	defer store.EndOwner(owner)
	held, err := st.ClaimPairs(ctx, store.PairFilter{UngradedBy: lab.ID}, owner, 1, time.Minute)
	if err != nil || len(held) != 1 {
		t.Fatalf("claim: %v %v", held, err)
	}
	msg, err := LabelBatch(ctx, st, BatchOptions{Label: LabelOptions{Labeler: lab.Name}, Wait: true, PollInterval: time.Millisecond})
	if err != nil || !strings.Contains(msg, "ingested: 3 judgments") {
		t.Fatalf("batch beside a claim: %q %v", msg, err)
	}
	if _, ok, _ := st.Judgment(ctx, held[0].ID, lab.ID); ok {
		t.Fatal("the batch graded the pair a run holds")
	}
}
