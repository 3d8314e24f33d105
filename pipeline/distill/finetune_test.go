package distill

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

const ftKeyEnv = "QRELBENCH_TEST_FT_KEY"

// fakeFT implements the OpenAI files and fine-tuning endpoints used by
// Finetune. Each retrieval of a job advances it one step of its script.
type fakeFT struct {
	*httptest.Server
	t      *testing.T
	mu     sync.Mutex
	files  map[string][]byte // id -> content
	names  map[string]string // id -> uploaded file name
	jobs   map[string]*fakeJob
	reqs   []map[string]any // fine-tuning job request bodies
	script []jobStep
	// onRetrieve, when set, runs after each job retrieval with its count.
	onRetrieve func(n int)
}

type jobStep struct {
	status string
	events []string // "level|message" added at this step
	err    string   // job error message (failed)
}

type fakeJob struct {
	id, model, trainFile, valFile string
	polls                         int
	status, errMsg                string
	events                        []map[string]any
}

func newFakeFT(t *testing.T, script []jobStep) *fakeFT {
	f := &fakeFT{t: t, files: map[string][]byte{}, names: map[string]string{}, jobs: map[string]*fakeJob{}, script: script}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeFT) fail(w http.ResponseWriter, code int, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	f.t.Errorf("fake server: %s", msg)
	w.WriteHeader(code)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"invalid_request_error"}}`, msg)
}

func (f *fakeFT) serve(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer sk-ft-test" {
		f.fail(w, 401, "authorization %q", got)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	path := strings.TrimPrefix(r.URL.Path, "/v1")
	switch {
	case r.Method == http.MethodPost && path == "/files":
		if err := r.ParseMultipartForm(32 << 20); err != nil {
			f.fail(w, 400, "multipart: %v", err)
			return
		}
		if p := r.FormValue("purpose"); p != "fine-tune" {
			f.fail(w, 400, "purpose %q, want fine-tune", p)
			return
		}
		file, hdr, err := r.FormFile("file")
		if err != nil {
			f.fail(w, 400, "no file part: %v", err)
			return
		}
		data, _ := io.ReadAll(file)
		id := fmt.Sprintf("file-%d", len(f.files)+1)
		f.files[id], f.names[id] = data, hdr.Filename
		json.NewEncoder(w).Encode(map[string]any{"id": id, "object": "file", "bytes": len(data), "filename": hdr.Filename, "purpose": "fine-tune", "status": "processed"})
	case r.Method == http.MethodPost && path == "/fine_tuning/jobs":
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			f.fail(w, 400, "job body: %v", err)
			return
		}
		f.reqs = append(f.reqs, body)
		train, _ := body["training_file"].(string)
		if _, ok := f.files[train]; !ok {
			f.fail(w, 400, "unknown training_file %q", train)
			return
		}
		val, _ := body["validation_file"].(string)
		if _, ok := f.files[val]; val != "" && !ok {
			f.fail(w, 400, "unknown validation_file %q", val)
			return
		}
		j := &fakeJob{id: fmt.Sprintf("ftjob-%d", len(f.jobs)+1), model: body["model"].(string), trainFile: train, valFile: val, status: "validating_files"}
		f.jobs[j.id] = j
		json.NewEncoder(w).Encode(f.jobJSON(j))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/fine_tuning/jobs/") && strings.HasSuffix(path, "/events"):
		j := f.jobs[strings.TrimSuffix(strings.TrimPrefix(path, "/fine_tuning/jobs/"), "/events")]
		if j == nil {
			f.fail(w, 404, "no job for %s", path)
			return
		}
		if r.URL.Query().Get("limit") == "" {
			f.fail(w, 400, "events without a limit")
		}
		data := make([]map[string]any, 0, len(j.events))
		for i := len(j.events) - 1; i >= 0; i-- { // newest first, like OpenAI
			data = append(data, j.events[i])
		}
		json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data, "has_more": false})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/fine_tuning/jobs/"):
		j := f.jobs[strings.TrimPrefix(path, "/fine_tuning/jobs/")]
		if j == nil {
			f.fail(w, 404, "no job for %s", path)
			return
		}
		if j.polls < len(f.script) {
			s := f.script[j.polls]
			j.status, j.errMsg = s.status, s.err
			for _, e := range s.events {
				lvl, msg, _ := strings.Cut(e, "|")
				j.events = append(j.events, map[string]any{"object": "fine_tuning.job.event", "id": fmt.Sprintf("ev-%d", len(j.events)),
					"created_at": 1700000000 + len(j.events), "level": lvl, "message": msg, "type": "message"})
			}
		}
		j.polls++
		json.NewEncoder(w).Encode(f.jobJSON(j))
		if f.onRetrieve != nil {
			f.onRetrieve(j.polls)
		}
	default:
		f.fail(w, 404, "unexpected %s %s", r.Method, r.URL.Path)
	}
}

func (f *fakeFT) jobJSON(j *fakeJob) map[string]any {
	out := map[string]any{"id": j.id, "object": "fine_tuning.job", "model": j.model, "status": j.status, "created_at": 1700000000,
		"training_file": j.trainFile, "validation_file": j.valFile, "hyperparameters": map[string]any{"n_epochs": 3}}
	if j.status == "succeeded" {
		out["fine_tuned_model"] = "ft:" + j.model + ":acme:mini:abc123"
		out["trained_tokens"] = 12345
	}
	if j.errMsg != "" {
		out["error"] = map[string]any{"code": "invalid_training_file", "message": j.errMsg, "param": "training_file"}
	}
	return out
}

func (f *fakeFT) counts() (uploads, jobs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.files), len(f.jobs)
}

// exported writes an export of a small fixture for fine-tuning.
func exported(t *testing.T) (*fixture, string, Manifest) {
	t.Helper()
	f := newFixture(t, 6, 6)
	dir := t.TempDir()
	m, err := Export(context.Background(), f.st, ExportOptions{Teacher: "teacher", Out: dir, ValFraction: 0.2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return f, dir, m
}

type logLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *logLines) add(s string) { l.mu.Lock(); l.lines = append(l.lines, s); l.mu.Unlock() }
func (l *logLines) count(sub string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.Contains(s, sub) {
			n++
		}
	}
	return n
}

var successScript = []jobStep{
	{status: "validating_files", events: []string{"info|Validating training file: file-1"}},
	{status: "running", events: []string{"info|Fine-tuning job started"}},
	{status: "running", events: []string{"info|Step 5/10: training loss=0.41"}},
	{status: "running", events: []string{"info|Step 10/10: training loss=0.12, validation loss=0.2"}},
	{status: "succeeded", events: []string{"info|New fine-tuned model created", "info|The job has successfully completed"}},
}

func TestFinetuneSuccessRegistersStudent(t *testing.T) {
	t.Setenv(ftKeyEnv, "sk-ft-test")
	ctx := context.Background()
	f, dir, man := exported(t)
	srv := newFakeFT(t, successScript)
	ep := store.Labeler{Name: "oai", Kind: store.KindLLM, BaseURL: srv.URL + "/v1", Model: "gpt-4o", APIKeyEnv: ftKeyEnv}
	if err := f.st.AddLabeler(ctx, &ep); err != nil {
		t.Fatal(err)
	}
	var log logLines
	res, err := Finetune(ctx, f.st, FinetuneOptions{TrainDir: dir, BaseModel: "gpt-4o-mini-2024-07-18", Labeler: "mini:ft",
		Endpoint: "oai", Epochs: 2, PollInterval: time.Millisecond, Log: log.add})
	if err != nil {
		t.Fatal(err)
	}

	// uploads: exactly the two files, byte for byte, as purpose fine-tune
	if len(srv.files) != 2 {
		t.Fatalf("%d uploads, want 2", len(srv.files))
	}
	for id, name := range srv.names {
		disk, _ := os.ReadFile(filepath.Join(dir, name))
		if (name != TrainFile && name != ValFile) || string(disk) != string(srv.files[id]) {
			t.Errorf("upload %s (%s): %d bytes differ from the file on disk", id, name, len(srv.files[id]))
		}
	}
	// the job request
	req := srv.reqs[0]
	if req["model"] != "gpt-4o-mini-2024-07-18" || srv.names[req["training_file"].(string)] != TrainFile ||
		srv.names[req["validation_file"].(string)] != ValFile || req["suffix"] != "mini-ft" {
		t.Errorf("job request %v", req)
	}
	if hp, _ := req["hyperparameters"].(map[string]any); hp["n_epochs"] != float64(2) {
		t.Errorf("hyperparameters %v", req["hyperparameters"])
	}
	// the run
	if res.JobID != "ftjob-1" || res.Resumed || res.Model != "ft:gpt-4o-mini-2024-07-18:acme:mini:abc123" {
		t.Errorf("result %+v", res)
	}
	run, _ := f.st.Run(ctx, res.Run.ID)
	if run.Kind != store.RunFinetune || run.Status != store.RunDone || run.ExternalID != "ftjob-1" || run.Total != 10 || run.Done != 10 || run.TokensIn != 12345 {
		t.Errorf("run %+v", run)
	}
	var p finetuneParams
	if err := json.Unmarshal(run.Params, &p); err != nil || p.Labeler != "mini:ft" || p.Teacher != "teacher" {
		t.Errorf("run params %s", run.Params)
	}
	// the student labeler
	lab, err := f.st.Labeler(ctx, "mini:ft")
	if err != nil {
		t.Fatal(err)
	}
	if lab.Kind != store.KindStudent || lab.Role != "student" || lab.BaseURL != ep.BaseURL || lab.APIKeyEnv != ftKeyEnv ||
		lab.Model != res.Model || lab.Config.Mode != "json" || lab.PromptVersion != man.PromptVersion {
		t.Errorf("student labeler %+v", lab)
	}
	// every event logged once, in order
	for _, s := range successScript {
		for _, e := range s.events {
			_, msg, _ := strings.Cut(e, "|")
			if n := log.count(msg); n != 1 {
				t.Errorf("event %q logged %d times", msg, n)
			}
		}
	}
	if log.count("job ftjob-1: running") != 1 || log.count("job ftjob-1: succeeded") != 1 {
		t.Errorf("status changes not logged once: %q", log.lines)
	}

	// the name is now taken
	if _, err := Finetune(ctx, f.st, FinetuneOptions{TrainDir: dir, BaseModel: "gpt-4o-mini", Labeler: "mini:ft", Endpoint: "oai"}); err == nil {
		t.Error("a second fine-tune to an existing labeler name was accepted")
	}
}

func TestFinetuneJobFailure(t *testing.T) {
	t.Setenv(ftKeyEnv, "sk-ft-test")
	ctx := context.Background()
	f, dir, _ := exported(t)
	srv := newFakeFT(t, []jobStep{
		{status: "validating_files"},
		{status: "failed", events: []string{"error|Training file has 3 invalid lines"}, err: "The training file has 3 invalid lines."},
	})
	opt := FinetuneOptions{TrainDir: dir, BaseModel: "gpt-4o-mini", Labeler: "mini", BaseURL: srv.URL + "/v1", APIKeyEnv: ftKeyEnv, PollInterval: time.Millisecond}
	res, err := Finetune(ctx, f.st, opt)
	if err == nil || !strings.Contains(err.Error(), "The training file has 3 invalid lines.") {
		t.Fatalf("error %v, want the job's error message", err)
	}
	run, _ := f.st.Run(ctx, res.Run.ID)
	if run.Status != store.RunFailed || !strings.Contains(run.Error, "The training file has 3 invalid lines.") || run.ExternalID != "ftjob-1" {
		t.Errorf("run %+v", run)
	}
	if _, err := f.st.Labeler(ctx, "mini"); !errors.Is(err, store.ErrNoLabeler) {
		t.Errorf("a failed job registered a labeler (%v)", err)
	}
	// a rerun after a failed job starts a new one
	srv.script = successScript
	res2, err := Finetune(ctx, f.st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res2.JobID != "ftjob-2" || res2.Resumed {
		t.Errorf("rerun after failure: %+v", res2)
	}
	if up, jobs := srv.counts(); up != 4 || jobs != 2 {
		t.Errorf("%d uploads, %d jobs; want 4 and 2", up, jobs)
	}
}

func TestFinetuneResumesAfterRestart(t *testing.T) {
	t.Setenv(ftKeyEnv, "sk-ft-test")
	f, dir, _ := exported(t)
	srv := newFakeFT(t, successScript)
	ctx, cancel := context.WithCancel(context.Background())
	srv.onRetrieve = func(n int) {
		if n == 3 { // mid-poll, after step 5/10
			cancel()
		}
	}
	opt := FinetuneOptions{TrainDir: dir, BaseModel: "gpt-4o-mini", Labeler: "mini", BaseURL: srv.URL + "/v1", APIKeyEnv: ftKeyEnv, PollInterval: time.Millisecond}
	res, err := Finetune(ctx, f.st, opt)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted: error %v", err)
	}
	run, _ := f.st.Run(context.Background(), res.Run.ID)
	if run.Status != store.RunInterrupted || run.ExternalID != "ftjob-1" {
		t.Fatalf("interrupted run %+v", run)
	}
	srv.onRetrieve = nil
	uploads, _ := srv.counts()

	var log logLines
	opt.Log = log.add
	opt.BaseModel = "" // a restart may leave it out
	res2, err := Finetune(context.Background(), f.st, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !res2.Resumed || res2.JobID != "ftjob-1" || res2.Run.ID != res.Run.ID || res2.Run.Status != store.RunDone {
		t.Errorf("resumed %+v", res2)
	}
	if up, jobs := srv.counts(); up != uploads || jobs != 1 {
		t.Errorf("after the restart: %d uploads (was %d), %d jobs; want no new upload or job", up, uploads, jobs)
	}
	if log.count("resuming run") != 1 || log.count("uploaded") != 0 {
		t.Errorf("log %q", log.lines)
	}
	if lab, err := f.st.Labeler(context.Background(), "mini"); err != nil || lab.Model != res2.Model {
		t.Errorf("student labeler %+v (%v)", lab, err)
	}
	if run, _ := f.st.Run(context.Background(), res.Run.ID); run.Done != 10 {
		t.Errorf("steps done %d, want 10", run.Done)
	}

	// a different base model does not silently resume someone else's job
	f2, dir2, _ := exported(t)
	ctx2, cancel2 := context.WithCancel(context.Background())
	srv.onRetrieve = func(n int) { cancel2() }
	opt2 := FinetuneOptions{TrainDir: dir2, BaseModel: "gpt-4o-mini", Labeler: "other", BaseURL: srv.URL + "/v1", APIKeyEnv: ftKeyEnv, PollInterval: time.Millisecond}
	if _, err := Finetune(ctx2, f2.st, opt2); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted: %v", err)
	}
	srv.onRetrieve = nil
	opt2.BaseModel = "gpt-4.1-mini"
	if _, err := Finetune(context.Background(), f2.st, opt2); err == nil || !strings.Contains(err.Error(), "--restart") {
		t.Errorf("another base model: error %v", err)
	}
	opt2.Restart = true
	res3, err := Finetune(context.Background(), f2.st, opt2)
	if err != nil || res3.Resumed {
		t.Fatalf("restart: %+v %v", res3, err)
	}
}

func TestFinetuneChecksFiles(t *testing.T) {
	t.Setenv(ftKeyEnv, "sk-ft-test")
	ctx := context.Background()
	f, dir, _ := exported(t)
	srv := newFakeFT(t, successScript)
	opt := FinetuneOptions{TrainDir: dir, BaseModel: "gpt-4o-mini", Labeler: "mini", BaseURL: srv.URL + "/v1", APIKeyEnv: ftKeyEnv}
	data, _ := os.ReadFile(filepath.Join(dir, TrainFile))
	if err := os.WriteFile(filepath.Join(dir, TrainFile), append(data, data[:10]...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Finetune(ctx, f.st, opt); err == nil || !strings.Contains(err.Error(), "sha256") {
		t.Errorf("edited train.jsonl: error %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, TrainFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(ftKeyEnv, "")
	if _, err := Finetune(ctx, f.st, opt); err == nil || !strings.Contains(err.Error(), ftKeyEnv) {
		t.Errorf("no key: error %v", err)
	}
	if up, jobs := srv.counts(); up != 0 || jobs != 0 {
		t.Errorf("%d uploads, %d jobs after refusals", up, jobs)
	}
	if runs, _ := f.st.Runs(ctx, store.RunFinetune, 0); len(runs) != 0 {
		t.Errorf("refusals recorded runs: %+v", runs)
	}
}

// TestFinetuneNeverStoresTheKey: an endpoint that echoes the API key in its
// error message (here on the job's own error and in its events), literally,
// JSON-escaped or in base64, must not get the key into the run's error, the
// returned error or the log.
func TestFinetuneNeverStoresTheKey(t *testing.T) {
	const key = "sk-ft-test" // the key the fake server expects
	t.Setenv(ftKeyEnv, key)
	var escaped strings.Builder
	for i := 0; i < len(key); i++ {
		fmt.Fprintf(&escaped, `\u%04x`, key[i])
	}
	b64 := base64.StdEncoding.EncodeToString([]byte("Bearer " + key))
	ctx := context.Background()
	f, dir, _ := exported(t)
	srv := newFakeFT(t, []jobStep{
		{status: "running", events: []string{"info|echo " + b64, "error|escaped " + escaped.String()}},
		{status: "failed", err: "invalid credentials: " + key + " " + escaped.String()},
	})
	var logs logLines
	opt := FinetuneOptions{TrainDir: dir, BaseModel: "gpt-4o-mini", Labeler: "mini", BaseURL: srv.URL + "/v1", APIKeyEnv: ftKeyEnv,
		PollInterval: time.Millisecond, Log: logs.add}
	res, err := Finetune(ctx, f.st, opt)
	if err == nil {
		t.Fatal("the failed job gave no error")
	}
	if strings.Contains(err.Error(), key) {
		t.Errorf("the key is in the returned error: %v", err)
	}
	run, _ := f.st.Run(ctx, res.Run.ID)
	if strings.Contains(run.Error, key) || !strings.Contains(run.Error, "invalid credentials: [REDACTED] [REDACTED]") {
		t.Errorf("run error %q", run.Error)
	}
	for _, form := range []string{key, escaped.String(), b64[12:]} {
		if n := logs.count(form); n != 0 {
			t.Errorf("the key (%s) was logged %d times", form, n)
		}
	}
	if logs.count("echo QmVhcmVyI[REDACTED]") != 1 || logs.count("escaped [REDACTED]") != 1 {
		t.Errorf("the events should be logged with the key cut out: %q", logs.lines)
	}
}
