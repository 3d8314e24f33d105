package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestBatchLineRoundTrip(t *testing.T) {
	for _, mode := range []string{ModeJSON, ModeLogprobs} {
		f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, rec recorded) {
			writeJSON(w, 200, chatJSON("1", respOpts{logprobs: []tlp{{"1", 1}}}))
		})
		cfg := f.cfg()
		cfg.Mode = mode
		c, _ := New(cfg, testScale)
		c.Grade(context.Background(), "falcon roadmap", testDoc)
		sent := f.requests()[0].Body

		line, err := c.BatchLine("pair-42", "falcon roadmap", testDoc)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(line), "\n") {
			t.Fatal("batch line contains a newline")
		}
		var got map[string]any
		if err := json.Unmarshal(line, &got); err != nil {
			t.Fatal(err)
		}
		if got["custom_id"] != "pair-42" || got["method"] != "POST" || got["url"] != "/v1/chat/completions" {
			t.Fatalf("%s: line %s", mode, line)
		}
		if !reflect.DeepEqual(got["body"], sent) {
			t.Fatalf("%s: batch body differs from the Grade request:\n%v\n%v", mode, got["body"], sent)
		}
	}
	c, _ := New(Config{Model: "m"}, testScale)
	if _, err := c.BatchLine("", "q", testDoc); err == nil {
		t.Fatal("empty custom_id accepted")
	}
}

func batchOut(customID string, status int, body []byte) []byte {
	b, _ := json.Marshal(map[string]any{
		"id": "batch_req_1", "custom_id": customID,
		"response": map[string]any{"status_code": status, "request_id": "req_1", "body": json.RawMessage(body)},
		"error":    nil,
	})
	return b
}

func TestParseBatchOutputLine(t *testing.T) {
	c, _ := New(Config{Model: "m"}, testScale)
	id, j, err := c.ParseBatchOutputLine(batchOut("p1", 200, chatJSON(`{"grade":3}`, respOpts{promptTokens: 50, cached: 32})))
	if err != nil || id != "p1" || j.Status != StatusOK || j.Grade != 3 || j.TokensIn != 50 || j.CachedTokens != 32 || j.Attempts != 1 || j.PromptVersion != c.PromptVersion() {
		t.Fatalf("%v %q %+v", err, id, j)
	}
	_, j, _ = c.ParseBatchOutputLine(batchOut("p2", 200, chatJSON(`{"grade":9}`, respOpts{})))
	if j.Status != StatusUnparseable || j.HasGrade || !strings.Contains(j.Error, "out of scale") {
		t.Fatalf("%+v", j)
	}
	_, j, _ = c.ParseBatchOutputLine(batchOut("p3", 200, chatJSON("", respOpts{refusal: "no"})))
	if j.Status != StatusRefused {
		t.Fatalf("%+v", j)
	}
	_, j, _ = c.ParseBatchOutputLine(batchOut("p4", 429, apiError("quota")))
	if j.Status != StatusError || !strings.Contains(j.Error, "quota") {
		t.Fatalf("%+v", j)
	}
	id, j, err = c.ParseBatchOutputLine([]byte(`{"id":"b","custom_id":"p5","response":null,"error":{"code":"batch_expired","message":"expired"}}`))
	if err != nil || id != "p5" || j.Status != StatusError || !strings.Contains(j.Error, "expired") {
		t.Fatalf("%v %+v", err, j)
	}
	if _, _, err := c.ParseBatchOutputLine([]byte(`not json`)); err == nil {
		t.Fatal("garbage line accepted")
	}
	if _, _, err := c.ParseBatchOutputLine([]byte(`{"response":{}}`)); err == nil {
		t.Fatal("line without custom_id accepted")
	}

	lc, _ := New(Config{Model: "m", Mode: ModeLogprobs}, testScale)
	_, j, _ = lc.ParseBatchOutputLine(batchOut("p6", 200, chatJSON("1", respOpts{logprobs: []tlp{{"1", 0.75}, {"2", 0.25}}})))
	if j.Status != StatusOK || j.Grade != 1 || !near(j.Probs[1], 0.75) || !near(j.Expected, 1.25) || j.PromptVersion != lc.PromptVersion() {
		t.Fatalf("%+v", j)
	}
}

func TestBatchFileAPIs(t *testing.T) {
	var uploaded []byte
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, rec recorded) {
		switch {
		case r.Method == "POST" && rec.Path == "/v1/files":
			if n == 0 { // one transient failure
				writeJSON(w, 503, apiError("busy"))
				return
			}
			ct := rec.Header.Get("Content-Type")
			if !strings.HasPrefix(ct, "multipart/form-data") {
				t.Errorf("content type %q", ct)
			}
			r2, _ := http.NewRequest("POST", "/", strings.NewReader(string(rec.Raw)))
			r2.Header.Set("Content-Type", ct)
			if err := r2.ParseMultipartForm(1 << 20); err != nil {
				t.Error(err)
			}
			if r2.FormValue("purpose") != "batch" {
				t.Errorf("purpose %q", r2.FormValue("purpose"))
			}
			file, hdr, err := r2.FormFile("file")
			if err != nil {
				t.Fatal(err)
			}
			uploaded, _ = io.ReadAll(file)
			writeJSON(w, 200, []byte(fmt.Sprintf(`{"id":"file-in","object":"file","filename":%q,"purpose":"batch"}`, hdr.Filename)))
		case r.Method == "POST" && rec.Path == "/v1/batches":
			if rec.Body["input_file_id"] != "file-in" || rec.Body["endpoint"] != "/v1/chat/completions" || rec.Body["completion_window"] != "24h" {
				t.Errorf("create batch body %v", rec.Body)
			}
			writeJSON(w, 200, []byte(`{"id":"batch_1","object":"batch","status":"validating"}`))
		case r.Method == "GET" && rec.Path == "/v1/batches/batch_1":
			writeJSON(w, 200, []byte(`{"id":"batch_1","object":"batch","status":"completed","output_file_id":"file-out","error_file_id":"file-err","request_counts":{"total":2,"completed":1,"failed":1}}`))
		case r.Method == "GET" && rec.Path == "/v1/files/file-out/content":
			_, _ = w.Write([]byte("line1\nline2\n"))
		case r.Method == "GET" && rec.Path == "/v1/files/missing/content":
			writeJSON(w, 404, apiError("no such file"))
		default:
			t.Errorf("unexpected %s %s", r.Method, rec.Path)
			w.WriteHeader(404)
		}
	})
	c, _ := New(f.cfg(), testScale)
	ctx := context.Background()
	l1, _ := c.BatchLine("a", "q", testDoc)
	l2, _ := c.BatchLine("b", "q", testDoc)
	data := append(append(append(l1, '\n'), l2...), '\n')
	id, err := c.UploadBatchFile(ctx, "pairs.jsonl", data)
	if err != nil || id != "file-in" || string(uploaded) != string(data) {
		t.Fatalf("upload: %v %q", err, id)
	}
	bid, err := c.CreateBatch(ctx, id)
	if err != nil || bid != "batch_1" {
		t.Fatalf("create: %v %q", err, bid)
	}
	status, out, errf, counts, err := c.GetBatch(ctx, bid)
	if err != nil || status != "completed" || out != "file-out" || errf != "file-err" || counts.Total != 2 || counts.Failed != 1 {
		t.Fatalf("get: %v %q %q %q %+v", err, status, out, errf, counts)
	}
	content, err := c.Download(ctx, out)
	if err != nil || string(content) != "line1\nline2\n" {
		t.Fatalf("download: %v %q", err, content)
	}
	if _, err := c.Download(ctx, "missing"); err == nil {
		t.Fatal("download of a missing file succeeded")
	}
}

func TestSynthesize(t *testing.T) {
	answer := `{"queries":[
		{"text":"falcon roadmap q3","style":"keyword"},
		{"text":"when does the new indexer ship?","style":"natural"},
		{"text":"Dana Kim falcon plan","style":"person"},
		{"text":"  ","style":"keyword"},
		{"text":"roadmap.docx falcon","style":"file"},
		{"text":"weird","style":"emoji"}
	]}`
	f := newFake(t, func(w http.ResponseWriter, r *http.Request, n int, rec recorded) {
		writeJSON(w, 200, chatJSON(answer, respOpts{promptTokens: 400}))
	})
	c, _ := New(f.cfg(), testScale)
	qs, u, err := c.Synthesize(context.Background(), testDoc, 4)
	if err != nil {
		t.Fatal(err)
	}
	want := []SynthQuery{
		{"falcon roadmap q3", "keyword"}, {"when does the new indexer ship?", "natural"},
		{"Dana Kim falcon plan", "person"}, {"roadmap.docx falcon", "file"},
	}
	if !reflect.DeepEqual(qs, want) || u.TokensIn != 400 || u.Attempts != 1 {
		t.Fatalf("%v %+v", qs, u)
	}
	rec := f.requests()[0]
	msgs := messagesOf(t, rec)
	if len(msgs) != 2 || !strings.Contains(msgs[1][1], "Write 4 different search queries") || !strings.Contains(msgs[1][1], "Falcon ships") {
		t.Fatalf("messages %v", msgs)
	}
	js := rec.Body["response_format"].(map[string]any)["json_schema"].(map[string]any)
	items := js["schema"].(map[string]any)["properties"].(map[string]any)["queries"].(map[string]any)["items"].(map[string]any)
	if js["strict"] != true || !reflect.DeepEqual(items["required"], []any{"text", "style"}) {
		t.Fatalf("schema %v", js)
	}
	if qs, _, _ := c.Synthesize(context.Background(), testDoc, 2); len(qs) != 2 {
		t.Fatalf("k=2 gave %d", len(qs))
	}

	for _, bad := range []string{`not json`, `{"queries": "x"}`, `{"queries": []}`, `{"other": 1}`} {
		f := newFake(t, okJSON(bad))
		c, _ := New(f.cfg(), testScale)
		if qs, _, err := c.Synthesize(context.Background(), testDoc, 3); err == nil {
			t.Errorf("%q: accepted %v", bad, qs)
		}
	}
	if _, _, err := c.Synthesize(context.Background(), testDoc, 0); err == nil {
		t.Error("k=0 accepted")
	}
}
