package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/qrelbench/qrelbench/store"
)

// This file runs `qrelbench label` as real child processes (the test binary
// re-executed as the command, see TestMain in workspace_test.go) against a loopback endpoint that
// counts, per pair, the requests it answered: what a crash, a Ctrl-C or a
// second process would make a user pay for.

// qrelbenchProcess starts the command line in a child process.
func qrelbenchProcess(t *testing.T, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "QRELBENCH_PROC_TEST_KEY=sk-proc-test")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd, &out
}

var procDocRe = regexp.MustCompile(`DOC=(d\d+)`)

// countingLLM answers every grading request with the grade the document
// names, after a fixed latency, and counts answers per document.
type countingLLM struct {
	*httptest.Server
	latency time.Duration

	mu       sync.Mutex
	answered map[string]int
	total    atomic.Int64
	inFlight atomic.Int64
	// onAnswer, when set, is called after each answer is written with the
	// number of answers so far.
	onAnswer func(n int64)
}

func newCountingLLM(t *testing.T, latency time.Duration) *countingLLM {
	f := &countingLLM{latency: latency, answered: map[string]int{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.inFlight.Add(1)
		defer f.inFlight.Add(-1)
		body, _ := io.ReadAll(r.Body)
		doc := ""
		if m := procDocRe.FindSubmatch(body); m != nil {
			doc = string(m[1])
		}
		select {
		case <-time.After(f.latency):
		case <-r.Context().Done():
			return // the client went away: no answer, nothing paid
		}
		grade := 0
		fmt.Sscanf(strings.TrimPrefix(doc, "d"), "%d", &grade)
		content, _ := json.Marshal(fmt.Sprintf(`{"grade":%d}`, grade%4))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%s},"finish_reason":"stop"}],"usage":{"prompt_tokens":100,"completion_tokens":5,"total_tokens":105}}`, content)
		if fl, ok := w.(http.Flusher); ok {
			fl.Flush()
		}
		f.mu.Lock()
		f.answered[doc]++
		f.mu.Unlock()
		n := f.total.Add(1)
		if f.onAnswer != nil {
			f.onAnswer(n)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

// paidTwice counts the documents answered more than once, and the answers.
func (f *countingLLM) paidTwice() (docs, answers int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.answered {
		answers += n
		if n > 1 {
			docs++
		}
	}
	return docs, answers
}

// procWorkspace makes a workspace of n pairs (documents d0…, 20 a query)
// with a model labeler "teacher" pointing at f.
func procWorkspace(t *testing.T, n int, f *countingLLM, concurrency int) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "ws.db")
	st, err := store.Create(ctx, path, store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.Tx(ctx, func(tx *store.Store) error {
		var q store.Query
		for i := 0; i < n; i++ {
			if i%20 == 0 {
				q = store.Query{ExtID: fmt.Sprintf("q%d", i/20), Text: fmt.Sprintf("falcon roadmap %d", i/20)}
				if _, err := tx.PutQuery(ctx, &q, false); err != nil {
					return err
				}
			}
			d := store.Document{ExtID: fmt.Sprintf("d%d", i), Title: "Notes", Body: fmt.Sprintf("Falcon roadmap notes. DOC=d%d\n", i)}
			if _, err := tx.PutDocument(ctx, &d, false); err != nil {
				return err
			}
			p := store.Pair{QueryID: q.ID, DocID: d.ID, Source: store.SourceImported}
			if _, err := tx.PutPair(ctx, &p); err != nil {
				return err
			}
		}
		l := store.Labeler{Name: "teacher", Kind: store.KindLLM, BaseURL: f.URL + "/v1", Model: "m", APIKeyEnv: "QRELBENCH_PROC_TEST_KEY",
			PriceIn: 1, PriceOut: 1, Config: store.LabelerConfig{Concurrency: concurrency, TimeoutSec: 30}}
		return tx.AddLabeler(ctx, &l)
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// labelingRuns returns the workspace's labeling runs and, per run, how many
// judgments its history holds.
func labelingRuns(t *testing.T, db string) ([]store.Run, map[int64]int) {
	t.Helper()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(context.Background(), store.RunLabeling, 0)
	if err != nil {
		t.Fatal(err)
	}
	rows := map[int64]int{}
	r, err := st.DB().Query(`SELECT run_id, count(*) FROM judgment_history WHERE run_id IS NOT NULL GROUP BY run_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		var id int64
		var n int
		r.Scan(&id, &n)
		rows[id] = n
	}
	return runs, rows
}

func okGrades(t *testing.T, db string) int {
	t.Helper()
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lab, err := st.Labeler(context.Background(), "teacher")
	if err != nil {
		t.Fatal(err)
	}
	g, err := st.Grades(context.Background(), lab.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(g)
}

// TestTwoLabelProcessesDivideTheWork: two `qrelbench label` processes of one
// labeler on one workspace grade each pair once between them, and each
// run's counts are what that run did.
func TestTwoLabelProcessesDivideTheWork(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const n = 600
	f := newCountingLLM(t, 10*time.Millisecond)
	db := procWorkspace(t, n, f, 8)
	a, outA := qrelbenchProcess(t, "--db", db, "label", "--labeler", "teacher")
	b, outB := qrelbenchProcess(t, "--db", db, "label", "--labeler", "teacher")
	errA, errB := a.Wait(), b.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("label processes: %v / %v\n%s\n%s", errA, errB, outA, outB)
	}
	twice, answers := f.paidTwice()
	if twice != 0 || answers != n {
		t.Errorf("%d pairs paid twice, %d answers for %d pairs\n%s\n%s", twice, answers, n, outA, outB)
	}
	if g := okGrades(t, db); g != n {
		t.Errorf("%d grades stored, want %d", g, n)
	}
	runs, rows := labelingRuns(t, db)
	done := 0
	for _, r := range runs {
		done += r.Done
		if r.Done > r.Total || r.Done != rows[r.ID] || r.Status != store.RunDone {
			t.Errorf("run %d: %s, done %d of %d, its history holds %d", r.ID, r.Status, r.Done, r.Total, rows[r.ID])
		}
	}
	if done != n || len(runs) != 2 || runs[0].Done == 0 || runs[1].Done == 0 {
		t.Errorf("runs count %d pairs done in all, want %d, shared by two runs: %+v", done, n, runs)
	}
	if !strings.Contains(outA.String()+outB.String(), "grading at the same time") {
		t.Errorf("neither process said it shared the work:\n%s\n%s", outA, outB)
	}
}

// TestKill9PaysOnlyInFlight: `kill -9` right after an answer arrives, three
// times during a run at concurrency 16; the reruns pay again only for
// pairs whose answers had not been stored — at most the requests in flight.
func TestKill9PaysOnlyInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const n, conc = 2000, 16
	f := newCountingLLM(t, 15*time.Millisecond)
	db := procWorkspace(t, n, f, conc)
	kills := []int64{400, 900, 1400}
	// Pairs paid twice because of kill k show up while the next process
	// works: the increment between two kills (and after the last, in the
	// final run) is kill k's.
	before := 0
	paidAgain := func(what string) {
		twice, _ := f.paidTwice()
		t.Logf("%s: %d pairs paid twice", what, twice-before)
		if twice-before > conc {
			t.Errorf("%s: %d pairs paid twice, more than the %d requests in flight", what, twice-before, conc)
		}
		before = twice
	}
	for i, at := range kills {
		killed := make(chan struct{})
		var once sync.Once
		f.onAnswer = func(k int64) {
			if k >= at {
				once.Do(func() { close(killed) })
			}
		}
		cmd, out := qrelbenchProcess(t, "--db", db, "label", "--labeler", "teacher")
		select {
		case <-killed:
		case <-time.After(60 * time.Second):
			t.Fatalf("no kill point reached\n%s", out)
		}
		cmd.Process.Signal(syscall.SIGKILL) // the answer was just written: it is in the client's socket
		cmd.Wait()
		if i > 0 {
			paidAgain(fmt.Sprintf("kill -9 #%d (after answer %d)", i, kills[i-1]))
		}
	}
	f.onAnswer = nil
	cmd, out := qrelbenchProcess(t, "--db", db, "label", "--labeler", "teacher")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("final run: %v\n%s", err, out)
	}
	paidAgain(fmt.Sprintf("kill -9 #%d (after answer %d)", len(kills), kills[len(kills)-1]))
	twice, answers := f.paidTwice()
	t.Logf("kill -9 ×%d at concurrency %d: %d pairs paid twice in all, %d answers for %d pairs", len(kills), conc, twice, answers, n)
	if g := okGrades(t, db); g != n {
		t.Errorf("%d grades stored, want %d\n%s", g, n, out)
	}
	// The killed runs were resumed, not left "running": one run did it all.
	runs, _ := labelingRuns(t, db)
	if len(runs) != 1 || runs[0].Status != store.RunDone || runs[0].Done != n || runs[0].Total != n {
		t.Errorf("runs after the kills: %+v", runs)
	}
}

// TestCtrlCWaitsForAnswersInFlight: SIGINT stops sending, waits for the
// answers already requested and stores them; the rerun pays for nothing
// twice, and the interrupted run says how to resume.
func TestCtrlCWaitsForAnswersInFlight(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	const n, conc = 400, 16
	f := newCountingLLM(t, 300*time.Millisecond)
	db := procWorkspace(t, n, f, conc)
	interrupted := make(chan struct{})
	var once sync.Once
	f.onAnswer = func(k int64) {
		if k >= 40 {
			once.Do(func() { close(interrupted) })
		}
	}
	cmd, out := qrelbenchProcess(t, "--db", db, "label", "--labeler", "teacher")
	select {
	case <-interrupted:
	case <-time.After(60 * time.Second):
		t.Fatalf("never got 40 answers\n%s", out)
	}
	inFlight := f.inFlight.Load()
	cmd.Process.Signal(os.Interrupt)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("interrupted label exited with %v\n%s", err, out)
	}
	_, answered := f.paidTwice()
	stored := okGrades(t, db)
	t.Logf("Ctrl-C with %d requests in flight: %d answered, %d stored", inFlight, answered, stored)
	if stored != answered {
		t.Errorf("%d answers arrived but %d were stored\n%s", answered, stored, out)
	}
	runs, _ := labelingRuns(t, db)
	if len(runs) != 1 || runs[0].Status != store.RunInterrupted ||
		!strings.Contains(runs[0].Error, fmt.Sprintf("interrupted: %d pairs graded, resume with `qrelbench label --labeler teacher`", stored)) {
		t.Errorf("interrupted run reads %+v", runs)
	}
	f.onAnswer = nil
	f.latency = time.Millisecond
	cmd, out = qrelbenchProcess(t, "--db", db, "label", "--labeler", "teacher")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("rerun: %v\n%s", err, out)
	}
	twice, answers := f.paidTwice()
	if twice != 0 || answers != n || okGrades(t, db) != n {
		t.Errorf("after Ctrl-C and a rerun: %d pairs paid twice, %d answers for %d pairs", twice, answers, n)
	}
}
