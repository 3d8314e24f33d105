package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/qrelbench/qrelbench/store"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServeWorkbench runs `qrelbench serve` with the real workbench, logs in
// over SSH with alice's key, grades with a digit key, and shuts the server
// down (as SIGTERM does): the grade is alice's, the session is told, and the
// settings (K, adjudicators) are stored.
func TestServeWorkbench(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")
	mustCLI(t, db, "init")
	docs := cliFile(t, dir, "docs.jsonl", `{"id":"d1","text":"bees make honey"}`+"\n"+`{"id":"d2","text":"ants build nests"}`+"\n")
	queries := cliFile(t, dir, "q.tsv", "q1\thoney\nq2\tnests\n")
	line := func(q, qt, d, dt string) string {
		return `{"query_id":"` + q + `","query_text":"` + qt + `","doc_id":"` + d + `","doc_text":"` + dt + `"}` + "\n"
	}
	pairs := cliFile(t, dir, "pairs.jsonl", line("q1", "honey", "d1", "bees make honey")+line("q1", "honey", "d2", "ants build nests")+
		line("q2", "nests", "d2", "ants build nests")+line("q2", "nests", "d1", "bees make honey"))
	mustCLI(t, db, "import", "docs", docs)
	mustCLI(t, db, "import", "queries", queries)
	mustCLI(t, db, "import", "pairs", pairs)

	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	alice, _ := gossh.NewSignerFromKey(priv)
	keys := cliFile(t, dir, "team.keys", "# team\nthis line is broken\n"+strings.TrimSpace(string(gossh.MarshalAuthorizedKey(alice.PublicKey())))+" alice@laptop\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &lockedBuf{}, &lockedBuf{}
	done := make(chan error, 1)
	go func() {
		e := &env{stdout: out, stderr: errOut, stdin: strings.NewReader("")}
		done <- run(ctx, e, []string{"--db", db, "serve", "--listen", "127.0.0.1:0", "--authorized-keys", keys, "--k", "2", "--adjudicators", "alice", "--grace", "5s"})
	}()
	re := regexp.MustCompile(`on (127\.0\.0\.1:\d+)`)
	var addr string
	waitUntil(t, "the server", func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s\n%s", err, out, errOut)
		default:
		}
		m := re.FindStringSubmatch(out.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	if !strings.Contains(errOut.String(), "team.keys:2:") {
		t.Errorf("bad key line not reported with its number: %q", errOut)
	}
	if !strings.Contains(out.String(), "annotators: alice") || !strings.Contains(out.String(), "graded by 2 human") {
		t.Errorf("serve output: %q", out)
	}
	if st, err := os.Stat(db + ".hostkey"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("host key beside the workspace: %v %v", st, err)
	}

	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "x", Auth: []gossh.AuthMethod{gossh.PublicKeys(alice)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}) //nolint:gosec // loopback test
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 30, 100, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	in, _ := sess.StdinPipe()
	screen := &lockedBuf{}
	sess.Stdout = screen
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{})
	go func() { sess.Wait(); close(ended) }()

	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var me store.Labeler
	waitUntil(t, "alice's labeler", func() bool {
		me, err = st.Labeler(context.Background(), "human:alice")
		return err == nil
	})
	if !me.Config.Adjudicator {
		t.Error("--adjudicators alice did not mark her")
	}
	// The workbench boots, then a digit grades the pair on screen.
	graded := func() int {
		var n int
		st.DB().QueryRow(`SELECT count(*) FROM judgments WHERE labeler_id = ? AND status = 'ok'`, me.ID).Scan(&n)
		return n
	}
	waitUntil(t, "a grade from the workbench", func() bool {
		if strings.Contains(screen.String(), "honey") || strings.Contains(screen.String(), "nests") {
			in.Write([]byte("2"))
			time.Sleep(100 * time.Millisecond)
		}
		return graded() > 0
	})
	var others int
	st.DB().QueryRow(`SELECT count(*) FROM judgments j JOIN labelers l ON l.id = j.labeler_id WHERE l.kind = 'human' AND l.name != 'human:alice'`).Scan(&others)
	if others != 0 {
		t.Errorf("%d grades attributed to someone else", others)
	}
	if k, _ := st.AssignK(context.Background()); k != 2 {
		t.Errorf("--k 2 stored as %d", k)
	}

	cancel() // what SIGTERM does in main
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("session still open")
	}
	if !strings.Contains(screen.String(), "shutting down") {
		t.Errorf("session not told of the shutdown")
	}
	if graded() == 0 {
		t.Error("grade lost at shutdown")
	}

	// annotator list/set.
	list := mustCLI(t, db, "annotator", "list")
	if !strings.Contains(list, "human:alice") || !strings.Contains(list, "adjudicator") {
		t.Errorf("annotator list: %q", list)
	}
	mustCLI(t, db, "annotator", "set", "alice", "--adjudicator=false")
	if l, _ := st.Labeler(context.Background(), "human:alice"); l.Config.Adjudicator {
		t.Error("annotator set --adjudicator=false did not unmark")
	}
	if _, _, err := coreCLI(t, db, "annotator", "set", "gold", "--adjudicator"); err == nil {
		t.Error("gold accepted as an annotator")
	}
	if _, _, err := coreCLI(t, db, "serve"); err == nil || !strings.Contains(err.Error(), "--authorized-keys") {
		t.Errorf("serve without keys: %v", err)
	}
}
