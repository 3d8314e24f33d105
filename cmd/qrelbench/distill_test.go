package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/qrelbench/qrelbench/store"
)

// distillCLI runs the command line in-process against db.
func distillCLI(t *testing.T, db string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, stdin: strings.NewReader("")}
	err := run(context.Background(), e, append([]string{"--db", db}, args...))
	return out.String(), errb.String(), err
}

// distillWorkspace: 6 queries × 6 documents whose teacher grade (imported
// as labeler "teacher") follows how many query terms they contain; humans
// graded the first two pairs of q0.
func distillWorkspace(t *testing.T) (dir, db string) {
	t.Helper()
	dir = t.TempDir()
	db = filepath.Join(dir, "ws.db")
	var pairs, qrels, human strings.Builder
	for i := range 6 {
		terms := []string{fmt.Sprintf("alpha%d", i), fmt.Sprintf("beta%d", i), fmt.Sprintf("gamma%d", i)}
		for j := range 6 {
			g := j % 4
			line, _ := json.Marshal(map[string]any{"query_id": fmt.Sprintf("q%d", i), "query_text": strings.Join(terms, " "),
				"doc_id": fmt.Sprintf("d%d_%d", i, j), "doc_text": "filler words here " + strings.Join(terms[:g], " ")})
			pairs.Write(append(line, '\n'))
			fmt.Fprintf(&qrels, "q%d 0 d%d_%d %d\n", i, i, j, g)
			if i == 0 && j < 2 {
				fmt.Fprintf(&human, "q%d 0 d%d_%d %d\n", i, i, j, g)
			}
		}
	}
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, args := range [][]string{
		{"init"},
		{"import", "pairs", write("pairs.jsonl", pairs.String())},
		{"import", "qrels", write("teacher.qrels", qrels.String()), "--labeler", "teacher"},
		{"import", "qrels", write("human.qrels", human.String()), "--labeler", "human:alice"},
	} {
		if _, errOut, err := distillCLI(t, db, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
	}
	return dir, db
}

func TestCLIDistillTrainAndLabel(t *testing.T) {
	_, db := distillWorkspace(t)
	out, errOut, err := distillCLI(t, db, "distill", "train", "--teacher", "teacher", "--labeler", "mini", "--exclude-query", "q5")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	// 5 queries × 6 pairs, 2 human-graded left out
	for _, want := range []string{"student mini learned from teacher teacher: 28 pairs of 5 queries", "train kappa", "left out 2 pairs humans graded", "label --labeler mini",
		"expected agreement with teacher teacher on new queries: κ", "lexical", "bm25", "(5 queries, 28 pairs, leave-one-query-out)",
		"with humans (human:alice", "unreliable: from 5 queries", "mini grades exactly like lexical", "`qrelbench synth` + `qrelbench mine` + `qrelbench label --labeler teacher`"} {
		if !strings.Contains(out, want) {
			t.Errorf("train output lacks %q:\n%s", want, out)
		}
	}
	// the estimate is stored with the student and shown by labeler show
	out, errOut, err = distillCLI(t, db, "labeler", "show", "mini")
	var shown struct {
		Config struct {
			Estimate *store.StudentEstimate `json:"estimate"`
		} `json:"config"`
	}
	if err != nil || json.Unmarshal([]byte(out), &shown) != nil || shown.Config.Estimate == nil || shown.Config.Estimate.Queries != 5 ||
		!strings.Contains(errOut, "expected agreement with teacher teacher on new queries") {
		t.Errorf("labeler show: %v\n%s\n%s", err, out, errOut)
	}
	out, _, err = distillCLI(t, db, "label", "--labeler", "mini")
	if err != nil || !strings.Contains(out, "36 pairs graded, 0 failed") {
		t.Fatalf("label: %v\n%s", err, out)
	}
	// the student guides which pairs a labeler grades
	out, errOut, err = distillCLI(t, db, "label", "--labeler", "lexical", "--limit", "4", "--select", "student-uncertain", "--select-student", "mini")
	if err != nil || !strings.Contains(out, "4 pairs graded") || !strings.Contains(errOut, "embedded student mini is least sure of") {
		t.Errorf("label --select: %v\n%s\n%s", err, out, errOut)
	}
	// without a student, lexical's uncertainty, and a warning
	_, errOut, err = distillCLI(t, db, "label", "--labeler", "bm25", "--limit", "4", "--select", "student-uncertain")
	if err != nil || !strings.Contains(errOut, "start with --select diverse") {
		t.Errorf("cold-start --select: %v\n%s", err, errOut)
	}
	if _, _, err := distillCLI(t, db, "label", "--labeler", "lexical", "--select", "diverse"); err == nil || !strings.Contains(err.Error(), "needs --limit") {
		t.Errorf("--select without --limit: %v", err)
	}
	// eval --cost shows it beside throughput and cost
	out, _, err = distillCLI(t, db, "eval", "--cost")
	if err != nil || !strings.Contains(out, "mini at training: new-query κ") || !strings.Contains(out, "vs lexical") ||
		!strings.Contains(out, "(5 queries), grades like lexical, unreliable") {
		t.Errorf("eval --cost: %v\n%s", err, out)
	}
	out, errOut, err = distillCLI(t, db, "distill", "train", "--teacher", "teacher", "--labeler", "mini", "--include-human-graded")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "warning: --include-human-graded") || !strings.Contains(out, "36 pairs of 6 queries") ||
		!strings.Contains(out, "old judgments remain until you relabel with `qrelbench label --labeler mini --all`") {
		t.Errorf("retrain: stdout %q stderr %q", out, errOut)
	}
	if _, _, err := distillCLI(t, db, "distill", "train", "--teacher", "teacher"); err == nil {
		t.Error("train without --labeler accepted")
	}
	if _, _, err := distillCLI(t, db, "distill", "nope"); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Errorf("unknown subcommand: %v", err)
	}
}

func TestCLIDistillExportAndFinetune(t *testing.T) {
	dir, db := distillWorkspace(t)
	outDir := filepath.Join(dir, "ft")
	out, errOut, err := distillCLI(t, db, "distill", "export", "--teacher", "teacher", "--out", outDir, "--val-fraction", "0.2", "--seed", "5")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(out, "exported teacher teacher's grades") || !strings.Contains(out, "2 human-graded pairs") {
		t.Errorf("export output %q", out)
	}
	for _, f := range []string{"train.jsonl", "val.jsonl", "manifest.json"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Error(err)
		}
	}

	// a minimal fine-tuning endpoint: the job succeeds at the first poll
	var mu sync.Mutex
	uploads := map[string]string{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/v1/files":
			file, hdr, err := r.FormFile("file")
			if err != nil || r.FormValue("purpose") != "fine-tune" {
				http.Error(w, `{"error":{"message":"bad upload"}}`, 400)
				return
			}
			b, _ := io.ReadAll(file)
			id := fmt.Sprintf("file-%d", len(uploads))
			uploads[id] = hdr.Filename
			fmt.Fprintf(w, `{"id":%q,"object":"file","bytes":%d,"filename":%q,"purpose":"fine-tune"}`, id, len(b), hdr.Filename)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/fine_tuning/jobs":
			fmt.Fprint(w, `{"id":"ftjob-cli","object":"fine_tuning.job","model":"base-small","status":"queued"}`)
		case r.URL.Path == "/v1/fine_tuning/jobs/ftjob-cli/events":
			fmt.Fprint(w, `{"object":"list","data":[{"object":"fine_tuning.job.event","created_at":1700000001,"level":"info","message":"Step 3/3: training loss=0.1"}]}`)
		case r.URL.Path == "/v1/fine_tuning/jobs/ftjob-cli":
			fmt.Fprint(w, `{"id":"ftjob-cli","object":"fine_tuning.job","model":"base-small","status":"succeeded","fine_tuned_model":"ft:base-small:org:small:1","trained_tokens":99}`)
		default:
			http.Error(w, `{"error":{"message":"unexpected"}}`, 404)
		}
	}))
	defer srv.Close()
	t.Setenv("QRELBENCH_CLI_FT_KEY", "sk-cli")
	out, errOut, err = distillCLI(t, db, "distill", "finetune", "--train", outDir, "--base-model", "base-small", "--labeler", "small",
		"--base-url", srv.URL+"/v1", "--api-key-env", "QRELBENCH_CLI_FT_KEY", "--poll", "1ms")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	if !strings.Contains(out, "job ftjob-cli succeeded; model ft:base-small:org:small:1 registered as student labeler small") {
		t.Errorf("finetune output %q", out)
	}
	if !strings.Contains(errOut, "finetune: event") || !strings.Contains(errOut, "Step 3/3") || !strings.Contains(errOut, "uploaded train.jsonl") {
		t.Errorf("finetune log %q", errOut)
	}
	if len(uploads) != 2 {
		t.Errorf("uploads %v", uploads)
	}
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lab, err := st.Labeler(context.Background(), "small")
	if err != nil || lab.Kind != store.KindStudent || lab.Model != "ft:base-small:org:small:1" || lab.BaseURL != srv.URL+"/v1" || lab.APIKeyEnv != "QRELBENCH_CLI_FT_KEY" {
		t.Errorf("student labeler %+v (%v)", lab, err)
	}
}
