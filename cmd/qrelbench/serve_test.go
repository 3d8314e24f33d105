package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/storetest"
)

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
	_, priv2, _ := ed25519.GenerateKey(rand.Reader)
	carol, _ := gossh.NewSignerFromKey(priv2)
	keys := cliFile(t, dir, "team.keys", "# team\nthis line is broken\n"+strings.Repeat("A", 2<<20)+"\n"+
		strings.TrimSpace(string(gossh.MarshalAuthorizedKey(alice.PublicKey())))+" alice@laptop\n"+
		`from="10.9.9.9" `+strings.TrimSpace(string(gossh.MarshalAuthorizedKey(carol.PublicKey())))+" carol\n")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut := &storetest.SyncBuffer{}, &storetest.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		e := &env{stdout: out, stderr: errOut, stdin: strings.NewReader("")}
		done <- run(ctx, e, []string{"--db", db, "serve", "--listen", "127.0.0.1:0", "--authorized-keys", keys, "--k", "2", "--adjudicators", "alice", "--grace", "5s"})
	}()
	re := regexp.MustCompile(`on (127\.0\.0\.1:\d+)`)
	var addr string
	storetest.WaitFor(t, "the server", 20*time.Second, func() bool {
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
	if !strings.Contains(errOut.String(), "team.keys:2:") || !strings.Contains(errOut.String(), "team.keys:3: line is longer than") {
		t.Errorf("bad key lines not reported with their numbers: %.500q", errOut)
	}
	// carol may only come from 10.9.9.9.
	if c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "x", Auth: []gossh.AuthMethod{gossh.PublicKeys(carol)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}); err == nil { //nolint:gosec // loopback test
		c.Close()
		t.Error(`carol (from="10.9.9.9") got in from 127.0.0.1`)
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
	screen := &storetest.SyncBuffer{}
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
	storetest.WaitFor(t, "alice's labeler", 20*time.Second, func() bool {
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
	storetest.WaitFor(t, "a grade from the workbench", 20*time.Second, func() bool {
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

// TestServeTwentyAnnotators: `qrelbench serve` with the real workbench and
// twenty SSH clients (x/crypto/ssh on loopback), each typing its digits at
// full speed, all at once, before the workbench has even drawn its first
// pair. No grade is lost or duplicated (each client's stored history is
// exactly the keys it typed, in order), every grade is its annotator's, and
// no pair gets more than K human grades (K=1 and K=2).
func TestServeTwentyAnnotators(t *testing.T) {
	for _, k := range []int{1, 2} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) { serveTwenty(t, k) })
	}
}

func serveTwenty(t *testing.T, k int) {
	const clients, perClient = 20, 12
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "ws.db")
	// 8 queries × 40 docs = 320 pairs for K=1; 8 × 25 = 200 pairs (400
	// grades) for K=2; 240 grades are typed.
	nd := 40
	if k == 2 {
		nd = 25
	}
	st, err := store.Create(ctx, db, store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	err = st.Tx(ctx, func(tx *store.Store) error {
		var docs []int64
		for d := 0; d < nd; d++ {
			doc := store.Document{ExtID: fmt.Sprintf("d%d", d), Title: fmt.Sprintf("doc %d", d), Body: "some text about bees"}
			if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
				return err
			}
			docs = append(docs, doc.ID)
		}
		for q := 0; q < 8; q++ {
			qq := store.Query{ExtID: fmt.Sprintf("q%d", q), Text: fmt.Sprintf("bees %d", q)}
			if _, err := tx.PutQuery(ctx, &qq, false); err != nil {
				return err
			}
			for _, d := range docs {
				if _, err := tx.PutPair(ctx, &store.Pair{QueryID: qq.ID, DocID: d, Source: store.SourceImported}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	names := make([]string, clients)
	signers := map[string]gossh.Signer{}
	var lines []string
	for i := range names {
		names[i] = fmt.Sprintf("ann%02d", i)
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		s, _ := gossh.NewSignerFromKey(priv)
		signers[names[i]] = s
		lines = append(lines, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey())))+" "+names[i])
	}
	keys := cliFile(t, dir, "team.keys", strings.Join(lines, "\n")+"\n")

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out, errOut := &storetest.SyncBuffer{}, &storetest.SyncBuffer{}
	done := make(chan error, 1)
	go func() {
		e := &env{stdout: out, stderr: errOut, stdin: strings.NewReader("")}
		done <- run(sctx, e, []string{"--db", db, "serve", "--listen", "127.0.0.1:0", "--authorized-keys", keys, "--k", fmt.Sprint(k), "--grace", "5s"})
	}()
	re := regexp.MustCompile(`on (127\.0\.0\.1:\d+)`)
	var addr string
	storetest.WaitFor(t, "the server", 20*time.Second, func() bool {
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s\n%s", err, out, errOut)
		default:
		}
		if m := re.FindStringSubmatch(out.String()); m != nil {
			addr = m[1]
		}
		return addr != ""
	})

	st, err = store.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(name string) int {
		var n int
		st.DB().QueryRow(`SELECT count(*) FROM judgment_history h JOIN labelers l ON l.id = h.labeler_id WHERE l.name = ?`, "human:"+name).Scan(&n)
		return n
	}

	typed := map[string]string{}
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for i, n := range names {
		var b strings.Builder
		for j := 0; j < perClient; j++ {
			b.WriteByte(byte('0' + (i+j)%4))
		}
		typed[n] = b.String()
		wg.Add(1)
		go func(n, keys string) {
			defer wg.Done()
			c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: n, Auth: []gossh.AuthMethod{gossh.PublicKeys(signers[n])},
				HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second}) //nolint:gosec // loopback test
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			sess, err := c.NewSession()
			if err != nil {
				errs <- err
				return
			}
			if err := sess.RequestPty("xterm-256color", 24, 80, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
				errs <- err
				return
			}
			in, _ := sess.StdinPipe()
			sess.Stdout, sess.Stderr = io.Discard, io.Discard
			if err := sess.Shell(); err != nil {
				errs <- err
				return
			}
			// Every key at once, as fast as the connection takes them.
			if _, err := in.Write([]byte(keys)); err != nil {
				errs <- err
				return
			}
			// Wait on the workspace, not on time: all grades committed.
			deadline := time.Now().Add(15 * time.Second)
			for count(n) < len(keys) {
				if time.Now().After(deadline) {
					errs <- fmt.Errorf("%s: %d of %d grades stored", n, count(n), len(keys))
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}(n, typed[n])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	for _, n := range names {
		rows, err := st.DB().Query(`SELECT h.grade, h.pair_id, l.name FROM judgment_history h JOIN labelers l ON l.id = h.labeler_id
			WHERE l.name = ? ORDER BY h.id`, "human:"+n)
		if err != nil {
			t.Fatal(err)
		}
		var got strings.Builder
		pairs := map[int64]bool{}
		for rows.Next() {
			var g int
			var p int64
			var ln string
			rows.Scan(&g, &p, &ln)
			if pairs[p] {
				t.Errorf("%s graded pair %d twice", n, p)
			}
			pairs[p] = true
			got.WriteByte(byte('0' + g))
		}
		rows.Close()
		if got.String() != typed[n] {
			t.Errorf("%s: stored %s, typed %s", n, got.String(), typed[n])
		}
	}
	// Every human grade belongs to one of the twenty, and each pair has at
	// most K of them.
	var total, strangers, over int
	st.DB().QueryRow(`SELECT count(*) FROM judgments j JOIN labelers l ON l.id = j.labeler_id WHERE l.kind = 'human' AND j.status = 'ok'`).Scan(&total)
	st.DB().QueryRow(`SELECT count(*) FROM judgments j JOIN labelers l ON l.id = j.labeler_id WHERE l.name NOT LIKE 'human:ann%'`).Scan(&strangers)
	st.DB().QueryRow(`SELECT count(*) FROM (SELECT j.pair_id FROM judgments j JOIN labelers l ON l.id = j.labeler_id
		WHERE l.kind = 'human' AND j.status = 'ok' GROUP BY j.pair_id HAVING count(*) > ?)`, k).Scan(&over)
	if total != clients*perClient || strangers != 0 {
		t.Errorf("%d human grades (want %d), %d from someone else", total, clients*perClient, strangers)
	}
	if over != 0 {
		t.Errorf("%d pairs graded by more than K=%d humans", over, k)
	}

	cancel() // SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
	}
	if ls, _ := st.Leases(ctx, time.Time{}); len(ls) != 0 {
		t.Errorf("%d leases left after everyone left", len(ls))
	}
}
