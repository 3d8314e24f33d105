package sshserve

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	gossh "golang.org/x/crypto/ssh"

	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/storetest"
)

// ---- a small grading model ------------------------------------------------
//
// gradeModel is what the workbench's Grade screen must do over SSH: draw a
// pair with NextPair, grade it with each digit key (keys typed ahead are
// kept, none is dropped), draw the next one on the same query, and on ctrl+c
// commit the grade in flight before quitting.

type pairMsg struct {
	v   store.PairView
	ok  bool
	err error
}

type gradeModel struct {
	st      *store.Store
	sess    *Session
	k       int
	cur     *store.PairView
	q       int64
	pending []int
	busy    bool
	quit    bool
	done    bool
	err     error
	graded  int
	w, h    int
	rec     *recorder
}

// recorder is what the test sees of a session's model.
type recorder struct {
	mu       sync.Mutex
	sizes    [][2]int
	env      []string
	shutdown bool
	leased   chan int64 // pairs drawn
}

func (r *recorder) size() [2]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sizes) == 0 {
		return [2]int{}
	}
	return r.sizes[len(r.sizes)-1]
}

func (m *gradeModel) draw() tea.Cmd {
	st, lab, opt := m.st, m.sess.Labeler.ID, store.AssignOptions{QueryID: m.q, K: m.k}
	return func() tea.Msg {
		v, ok, err := st.NextPair(context.Background(), lab, opt)
		return pairMsg{v, ok, err}
	}
}

func (m *gradeModel) Init() tea.Cmd { return m.draw() }

func (m *gradeModel) apply() tea.Cmd {
	if m.busy || m.cur == nil || len(m.pending) == 0 {
		return nil
	}
	g := m.pending[0]
	m.pending = m.pending[1:]
	p := m.cur
	m.cur, m.busy = nil, true
	st, lab, opt := m.st, m.sess.Labeler.ID, store.AssignOptions{QueryID: p.QueryID, K: m.k}
	quit := m.quit
	return func() tea.Msg {
		ctx := context.Background()
		j := store.Judgment{PairID: p.ID, LabelerID: lab, Grade: g, Status: store.StatusOK}
		if err := st.PutJudgment(ctx, &j); err != nil {
			return pairMsg{err: err}
		}
		if quit {
			return pairMsg{}
		}
		v, ok, err := st.NextPair(ctx, lab, opt)
		return pairMsg{v, ok, err}
	}
}

func (m *gradeModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case ShutdownMsg:
		m.rec.mu.Lock()
		m.rec.shutdown = true
		m.rec.mu.Unlock()
	case tea.WindowSizeMsg:
		m.w, m.h = msg.Width, msg.Height
		m.rec.mu.Lock()
		m.rec.sizes = append(m.rec.sizes, [2]int{msg.Width, msg.Height})
		m.rec.mu.Unlock()
	case pairMsg:
		if m.busy {
			m.graded++
		}
		m.busy = false
		if msg.err != nil {
			m.err = msg.err
			return m, tea.Quit
		}
		if m.quit {
			return m, tea.Quit
		}
		if !msg.ok {
			m.done = true
			return m, nil
		}
		v := msg.v
		m.cur, m.q = &v, v.QueryID
		if m.rec.leased != nil {
			select {
			case m.rec.leased <- v.ID:
			default:
			}
		}
		return m, m.apply()
	case tea.KeyPressMsg:
		switch s := msg.String(); {
		case s == "ctrl+c":
			m.quit = true
			if !m.busy {
				return m, tea.Quit
			}
		case len(s) == 1 && s[0] >= '0' && s[0] <= '3':
			m.pending = append(m.pending, int(s[0]-'0'))
			return m, m.apply()
		}
	}
	return m, nil
}

func (m *gradeModel) View() tea.View {
	pair := int64(0)
	if m.cur != nil {
		pair = m.cur.ID
	}
	return tea.NewView(fmt.Sprintf("%s pair=%d graded=%d pending=%d", m.sess.Annotator, pair, m.graded, len(m.pending)))
}

// ---- fixtures ---------------------------------------------------------------

type env struct {
	t       *testing.T
	dir     string
	st      *store.Store
	keys    map[string]gossh.Signer
	keyFile string
	hostKey string
	mu      sync.Mutex
	recs    map[string]*recorder
	k       int
	log     *storetest.SyncBuffer
	limits  Limits
}

func newSigner(t testing.TB) gossh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func authorizedLine(s gossh.Signer, comment string) string {
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey()))) + " " + comment
}

// newEnv makes a workspace of nq queries × nd documents and a keys file with
// the given annotators (key comment = name).
func newEnv(t *testing.T, names []string, nq, nd int) *env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	st, err := store.Create(ctx, filepath.Join(dir, "ws.db"), store.Scales["0-3"])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	err = st.Tx(ctx, func(tx *store.Store) error {
		var docs []int64
		for d := 0; d < nd; d++ {
			doc := store.Document{ExtID: fmt.Sprintf("d%d", d), Title: fmt.Sprintf("doc %d", d), Body: "body"}
			if _, err := tx.PutDocument(ctx, &doc, false); err != nil {
				return err
			}
			docs = append(docs, doc.ID)
		}
		for q := 0; q < nq; q++ {
			qq := store.Query{ExtID: fmt.Sprintf("q%d", q), Text: fmt.Sprintf("query %d", q)}
			if _, err := tx.PutQuery(ctx, &qq, false); err != nil {
				return err
			}
			for _, d := range docs {
				p := store.Pair{QueryID: qq.ID, DocID: d, Source: store.SourceImported}
				if _, err := tx.PutPair(ctx, &p); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st, keys: map[string]gossh.Signer{}, recs: map[string]*recorder{}, k: 1, log: &storetest.SyncBuffer{},
		keyFile: filepath.Join(dir, "authorized_keys"), hostKey: filepath.Join(dir, "ws.db.hostkey")}
	var lines []string
	for _, n := range names {
		e.keys[n] = newSigner(t)
		lines = append(lines, authorizedLine(e.keys[n], n))
	}
	if err := os.WriteFile(e.keyFile, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) rec(name string) *recorder {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.recs[name]
	if r == nil {
		r = &recorder{leased: make(chan int64, 1000)}
		e.recs[name] = r
	}
	return r
}

// model is the test model of a session.
func (e *env) model(s *Session) tea.Model {
	r := e.rec(s.Annotator)
	r.mu.Lock()
	r.env = s.Environ
	r.mu.Unlock()
	return &gradeModel{st: e.st, sess: s, k: e.k, rec: r}
}

// start runs a server on a loopback port.
func (e *env) start() (*Server, string) {
	e.t.Helper()
	srv, bad, err := New(Config{
		Store: e.st, AuthorizedKeys: e.keyFile, HostKey: e.hostKey, Log: e.log, Grace: 5 * time.Second, Limits: e.limits,
		NewModel: e.model,
	})
	if err != nil {
		e.t.Fatal(err, bad)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	go srv.Serve(l)
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	})
	return srv, l.Addr().String()
}

func clientConfig(auth gossh.AuthMethod, hostKey gossh.PublicKey) *gossh.ClientConfig {
	cb := gossh.InsecureIgnoreHostKey() //nolint:gosec // loopback test; hostKey pins it when given
	if hostKey != nil {
		cb = gossh.FixedHostKey(hostKey)
	}
	return &gossh.ClientConfig{User: "anyone", Auth: []gossh.AuthMethod{auth}, HostKeyCallback: cb, Timeout: 10 * time.Second}
}

// terminal is one interactive client session.
type terminal struct {
	c    *gossh.Client
	s    *gossh.Session
	in   interface{ Write([]byte) (int, error) }
	out  *storetest.SyncBuffer
	done chan error
}

func openTerminal(t testing.TB, addr string, signer gossh.Signer, hostKey gossh.PublicKey, w, h int, env map[string]string) *terminal {
	t.Helper()
	c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(signer), hostKey))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		if err := s.Setenv(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RequestPty("xterm-256color", h, w, gossh.TerminalModes{gossh.ECHO: 0}); err != nil {
		t.Fatal(err)
	}
	in, err := s.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &storetest.SyncBuffer{}
	s.Stdout, s.Stderr = out, out
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	tm := &terminal{c: c, s: s, in: in, out: out, done: make(chan error, 1)}
	go func() { tm.done <- s.Wait() }()
	return tm
}

// labelerID waits for the session to create the annotator's labeler.
func labelerID(t testing.TB, st *store.Store, name string) int64 {
	t.Helper()
	var id int64
	storetest.WaitFor(t, "labeler human:"+name, 10*time.Second, func() bool {
		l, err := st.Labeler(context.Background(), "human:"+name)
		id = l.ID
		return err == nil
	})
	return id
}

func countJudgments(t testing.TB, st *store.Store, labeler int64) int {
	t.Helper()
	var n int
	if err := st.DB().QueryRow(`SELECT count(*) FROM judgments WHERE labeler_id = ?`, labeler).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// ---- tests ------------------------------------------------------------------

// TestTwentySessions: twenty real SSH clients, each with its own key, each
// requesting a pty and typing grades as fast as it can (all keys at once).
// No grade is lost or duplicated, every grade is its annotator's and in the
// order typed, and no pair gets more than K human grades.
func TestTwentySessions(t *testing.T) {
	for _, k := range []int{1, 2} {
		t.Run(fmt.Sprintf("K=%d", k), func(t *testing.T) {
			var names []string
			for i := 0; i < 20; i++ {
				names = append(names, fmt.Sprintf("ann%02d", i))
			}
			// 20 × 12 = 240 grades: 320 pairs for K=1, 200 × 2 for K=2.
			nd := 40
			if k == 2 {
				nd = 25
			}
			e := newEnv(t, names, 8, nd)
			e.k = k
			_, addr := e.start()
			const perClient = 12
			typed := make(map[string][]int)
			var wg sync.WaitGroup
			for i, n := range names {
				keys := make([]int, perClient)
				for j := range keys {
					keys[j] = (i + j) % 4
				}
				typed[n] = keys
				wg.Add(1)
				go func(n string, keys []int) {
					defer wg.Done()
					tm := openTerminal(t, addr, e.keys[n], nil, 80, 24, nil)
					var b strings.Builder
					for _, g := range keys {
						b.WriteByte(byte('0' + g))
					}
					if _, err := tm.in.Write([]byte(b.String())); err != nil {
						t.Error(err)
					}
					deadline := time.Now().Add(30 * time.Second)
					for time.Now().Before(deadline) {
						var c int
						e.st.DB().QueryRow(`SELECT count(*) FROM judgments j JOIN labelers l ON l.id = j.labeler_id WHERE l.name = ?`, "human:"+n).Scan(&c)
						if c >= len(keys) {
							break
						}
						time.Sleep(5 * time.Millisecond)
					}
					tm.c.Close()
				}(n, keys)
			}
			wg.Wait()
			ctx := context.Background()
			for _, n := range names {
				lab := labelerID(t, e.st, n)
				// The history, in order, is exactly the keys typed.
				rows, err := e.st.DB().Query(`SELECT h.grade, h.pair_id, l.name FROM judgment_history h JOIN labelers l ON l.id = h.labeler_id WHERE h.labeler_id = ? ORDER BY h.id`, lab)
				if err != nil {
					t.Fatal(err)
				}
				var got []int
				pairs := map[int64]bool{}
				for rows.Next() {
					var g int
					var p int64
					var ln string
					rows.Scan(&g, &p, &ln)
					if ln != "human:"+n {
						t.Errorf("grade attributed to %s, want human:%s", ln, n)
					}
					if pairs[p] {
						t.Errorf("%s graded pair %d twice", n, p)
					}
					pairs[p] = true
					got = append(got, g)
				}
				rows.Close()
				if fmt.Sprint(got) != fmt.Sprint(typed[n]) {
					t.Errorf("%s: stored %v, typed %v", n, got, typed[n])
				}
				if c := countJudgments(t, e.st, lab); c != perClient {
					t.Errorf("%s: %d judgments, want %d", n, c, perClient)
				}
			}
			var over int
			e.st.DB().QueryRow(`SELECT count(*) FROM (SELECT pair_id FROM judgments j JOIN labelers l ON l.id = j.labeler_id
				WHERE l.kind = 'human' AND j.status = 'ok' GROUP BY pair_id HAVING count(*) > ?)`, k).Scan(&over)
			if over != 0 {
				t.Errorf("%d pairs graded by more than K=%d humans", over, k)
			}
			// Everyone left: no lease remains.
			storetest.WaitFor(t, "leases released", 5*time.Second, func() bool {
				ls, _ := e.st.Leases(ctx, time.Time{})
				return len(ls) == 0
			})
		})
	}
}

func TestRefusals(t *testing.T) {
	e := newEnv(t, []string{"alice"}, 1, 3)
	_, addr := e.start()
	stranger := newSigner(t)
	for name, auth := range map[string]gossh.AuthMethod{
		"unknown key": gossh.PublicKeys(stranger),
		"password":    gossh.Password("alice"),
		"keyboard-interactive": gossh.KeyboardInteractive(func(string, string, []string, []bool) ([]string, error) {
			return []string{"alice"}, nil
		}),
	} {
		c, err := gossh.Dial("tcp", addr, clientConfig(auth, nil))
		if err == nil {
			c.Close()
			t.Errorf("%s: logged in", name)
		} else if !strings.Contains(err.Error(), "unable to authenticate") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if !strings.Contains(e.log.String(), "refused key") {
		t.Errorf("refused key not logged:\n%s", e.log)
	}

	c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(e.keys["alice"]), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// exec commands and subsystems are refused.
	s, _ := c.NewSession()
	if out, err := s.CombinedOutput("ls /"); err == nil {
		t.Errorf("exec ran: %q", out)
	}
	s, _ = c.NewSession()
	if err := s.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem accepted")
	}
	s.Close()
	// A shell without a terminal is told and ends (on a connection of its
	// own: the sessions above count against the per-connection limit until
	// the server has seen them closed).
	c, err = gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(e.keys["alice"]), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ = c.NewSession()
	out := &storetest.SyncBuffer{}
	s.Stdout, s.Stderr = out, out
	if err := s.Shell(); err != nil {
		t.Fatal(err)
	}
	if err := s.Wait(); err == nil {
		t.Error("shell without a pty exited 0")
	}
	if !strings.Contains(out.String(), "needs a terminal") {
		t.Errorf("no-pty shell said %q", out)
	}
	// No port forwarding either way.
	if conn, err := c.Dial("tcp", "127.0.0.1:1"); err == nil {
		conn.Close()
		t.Error("local port forwarding accepted")
	}
	if l, err := c.Listen("tcp", "127.0.0.1:0"); err == nil {
		l.Close()
		t.Error("remote port forwarding accepted")
	}
}

func TestKeysFile(t *testing.T) {
	a, b, c := newSigner(t), newSigner(t), newSigner(t)
	text := strings.Join([]string{
		"# team keys",
		authorizedLine(a, "alice@laptop"),      // 2: alice
		"ssh-ed25519 AAAAnotbase64!!! mallory", // 3: bad key
		strings.TrimSpace(string(gossh.MarshalAuthorizedKey(b.PublicKey()))), // 4: no comment
		"",
		"bob " + authorizedLine(b, "whatever"), // 6: mapping format
		authorizedLine(a, "eve"),               // 7: alice's key again, other name
		"gold " + authorizedLine(c, "x"),       // 8: reserved
		"carol " + authorizedLine(c, ""),       // 9: carol
		"some garbage line",                    // 10
	}, "\n")
	keys, bad, err := ParseKeys(strings.NewReader(text), "keys")
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, e := range bad {
		lines = append(lines, e.Line)
		if !strings.HasPrefix(e.Error(), fmt.Sprintf("keys:%d: ", e.Line)) {
			t.Errorf("error without its line: %v", e)
		}
	}
	if fmt.Sprint(lines) != "[3 4 7 8 10]" {
		t.Errorf("bad lines %v, want [3 4 7 8 10]: %v", lines, bad)
	}
	for s, want := range map[gossh.Signer]string{a: "alice", b: "bob", c: "carol"} {
		if got, ok := keys.Lookup(s.PublicKey()); !ok || got != want {
			t.Errorf("lookup: %q %v, want %q", got, ok, want)
		}
	}

	// A server with a malformed file reports the lines and serves the rest.
	e := newEnv(t, []string{"alice"}, 1, 3)
	body, _ := os.ReadFile(e.keyFile)
	os.WriteFile(e.keyFile, append([]byte("not a key at all\n"), body...), 0o600)
	srv, bad, err := New(Config{Store: e.st, AuthorizedKeys: e.keyFile, HostKey: e.hostKey, Log: e.log,
		NewModel: func(s *Session) tea.Model { return &gradeModel{st: e.st, sess: s, rec: e.rec(s.Annotator)} }})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) != 1 || bad[0].Line != 1 || !strings.Contains(e.log.String(), "authorized_keys:1:") {
		t.Errorf("bad lines %v, log:\n%s", bad, e.log)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	tm := openTerminal(t, l.Addr().String(), e.keys["alice"], nil, 80, 24, nil)
	tm.in.Write([]byte("2"))
	lab := labelerID(t, e.st, "alice")
	storetest.WaitFor(t, "alice's grade", 10*time.Second, func() bool { return countJudgments(t, e.st, lab) == 1 })
	tm.c.Close()

	// Adding a key to the file lets its annotator in without a restart.
	dave := newSigner(t)
	f, _ := os.OpenFile(e.keyFile, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintln(f, authorizedLine(dave, "dave"))
	f.Close()
	later := time.Now().Add(2 * time.Second)
	os.Chtimes(e.keyFile, later, later)
	c2, err := gossh.Dial("tcp", l.Addr().String(), clientConfig(gossh.PublicKeys(dave), nil))
	if err != nil {
		t.Fatalf("new key after reload: %v", err)
	}
	c2.Close()

	// A file with no usable key is an error.
	os.WriteFile(e.keyFile, []byte("junk\n"), 0o600)
	if _, _, err := New(Config{Store: e.st, AuthorizedKeys: e.keyFile, HostKey: e.hostKey, NewModel: func(*Session) tea.Model { return nil }}); err == nil {
		t.Error("no usable key accepted")
	}
}

// TestDisconnectMidGrade: a client that drops its connection while a pair is
// on screen loses its lease at once: the pair goes back to the pool and
// nothing of it is written.
func TestDisconnectMidGrade(t *testing.T) {
	e := newEnv(t, []string{"alice", "bob"}, 1, 1) // one pair
	_, addr := e.start()
	ctx := context.Background()
	tm := openTerminal(t, addr, e.keys["alice"], nil, 80, 24, nil)
	var pair int64
	select {
	case pair = <-e.rec("alice").leased:
	case <-time.After(10 * time.Second):
		t.Fatal("alice drew nothing")
	}
	alice := labelerID(t, e.st, "alice")
	bob, _ := e.st.EnsureLabeler(ctx, "human:bob", store.KindHuman)
	if _, ok, _ := e.st.NextPair(ctx, bob.ID, store.AssignOptions{}); ok {
		t.Fatal("K=1: bob drew alice's pair while she looks at it")
	}
	tm.c.Close() // mid-grade: no key sent
	storetest.WaitFor(t, "alice's lease released", 10*time.Second, func() bool {
		ls, _ := e.st.Leases(ctx, time.Time{})
		return len(ls) == 0
	})
	if n := countJudgments(t, e.st, alice); n != 0 {
		t.Fatalf("%d judgments written for a pair never graded", n)
	}
	var hist int
	e.st.DB().QueryRow(`SELECT count(*) FROM judgment_history WHERE labeler_id = ?`, alice).Scan(&hist)
	if hist != 0 {
		t.Fatalf("%d history rows", hist)
	}
	v, ok, err := e.st.NextPair(ctx, bob.ID, store.AssignOptions{})
	if err != nil || !ok || v.ID != pair {
		t.Fatalf("the pair did not go back to the pool: %v %v %v", v.ID, ok, err)
	}
}

// TestShutdownAndRestart: Shutdown tells open sessions and keeps every grade
// given; a restart with the same host key passes the clients' known-host
// check.
func TestShutdownAndRestart(t *testing.T) {
	e := newEnv(t, []string{"alice", "bob", "carol"}, 3, 10)
	srv, addr := e.start()
	hostKey := srv.HostKey()
	st, err := os.Stat(e.hostKey)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("host key file: %v %v", st, err)
	}
	before, _ := os.ReadFile(e.hostKey)
	var tms []*terminal
	for _, n := range []string{"alice", "bob", "carol"} {
		tm := openTerminal(t, addr, e.keys[n], hostKey, 80, 24, nil)
		tm.in.Write([]byte("12"))
		tms = append(tms, tm)
	}
	for _, n := range []string{"alice", "bob", "carol"} {
		lab := labelerID(t, e.st, n)
		storetest.WaitFor(t, n+"'s grades", 10*time.Second, func() bool { return countJudgments(t, e.st, lab) == 2 })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	for i, tm := range tms {
		select {
		case <-tm.done:
		case <-time.After(10 * time.Second):
			t.Fatalf("session %d still open after shutdown", i)
		}
		if !strings.Contains(tm.out.String(), "shutting down") || !strings.Contains(tm.out.String(), "saved") {
			t.Errorf("session %d was not told: %q", i, tm.out.String())
		}
	}
	for _, n := range []string{"alice", "bob", "carol"} {
		if !e.rec(n).shutdown {
			t.Errorf("%s's model got no ShutdownMsg", n)
		}
		if c := countJudgments(t, e.st, labelerID(t, e.st, n)); c != 2 {
			t.Errorf("%s: %d grades after shutdown, want 2", n, c)
		}
	}
	if _, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(e.keys["alice"]), hostKey)); err == nil {
		t.Error("connected after shutdown")
	}

	// Restart: same host key file, so the pinned key still matches.
	srv2, addr2 := e.start()
	after, _ := os.ReadFile(e.hostKey)
	if !bytes.Equal(before, after) || !bytes.Equal(srv2.HostKey().Marshal(), hostKey.Marshal()) {
		t.Fatal("host key changed across restart")
	}
	tm := openTerminal(t, addr2, e.keys["alice"], hostKey, 80, 24, nil)
	tm.in.Write([]byte("3"))
	lab := labelerID(t, e.st, "alice")
	storetest.WaitFor(t, "alice's grade after restart", 10*time.Second, func() bool { return countJudgments(t, e.st, lab) == 3 })
	tm.c.Close()
	// A different host key would be caught by the client.
	other := newSigner(t)
	if _, err := gossh.Dial("tcp", addr2, clientConfig(gossh.PublicKeys(e.keys["alice"]), other.PublicKey())); err == nil {
		t.Error("known-host check passed with the wrong key")
	}
}

// TestPerSessionTerminal: each session's model sees its own client's
// terminal size (and its changes) and environment.
func TestPerSessionTerminal(t *testing.T) {
	e := newEnv(t, []string{"alice", "bob"}, 2, 3)
	_, addr := e.start()
	a := openTerminal(t, addr, e.keys["alice"], nil, 120, 40, map[string]string{"COLORFGBG": "15;0"})
	b := openTerminal(t, addr, e.keys["bob"], nil, 70, 20, map[string]string{"COLORFGBG": "0;15"})
	defer a.c.Close()
	defer b.c.Close()
	storetest.WaitFor(t, "sizes", 10*time.Second, func() bool {
		return e.rec("alice").size() == [2]int{120, 40} && e.rec("bob").size() == [2]int{70, 20}
	})
	if err := b.s.WindowChange(30, 90); err != nil {
		t.Fatal(err)
	}
	storetest.WaitFor(t, "bob's resize", 10*time.Second, func() bool { return e.rec("bob").size() == [2]int{90, 30} })
	if e.rec("alice").size() != [2]int{120, 40} {
		t.Error("bob's resize reached alice")
	}
	for n, want := range map[string]string{"alice": "COLORFGBG=15;0", "bob": "COLORFGBG=0;15"} {
		r := e.rec(n)
		r.mu.Lock()
		envs := strings.Join(r.env, " ")
		r.mu.Unlock()
		if !strings.Contains(envs, want) || !strings.Contains(envs, "TERM=xterm-256color") {
			t.Errorf("%s's environment: %s", n, envs)
		}
	}
}

func TestHostKeyCreatedOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hk")
	s1, created, err := EnsureHostKey(p)
	if err != nil || !created {
		t.Fatal(err, created)
	}
	s2, created, err := EnsureHostKey(p)
	if err != nil || created || !bytes.Equal(s1.PublicKey().Marshal(), s2.PublicKey().Marshal()) {
		t.Fatal("host key not kept", err, created)
	}
	os.Chmod(p, 0o644)
	if _, _, err := EnsureHostKey(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable host key: %v", err)
	}
}

// ownShutdown is a model's own shutdown message (the workbench's
// tui.ShutdownMsg), set as Config.ShutdownMsg.
type ownShutdown struct{ reason string }

type ownModel struct {
	*gradeModel
	got chan tea.Msg
}

func (m *ownModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg.(type) {
	case ownShutdown, ShutdownMsg:
		m.got <- msg
	}
	_, cmd := m.gradeModel.Update(msg)
	return m, cmd
}

// TestOwnShutdownMsg: with Config.ShutdownMsg set, models get that message
// on shutdown instead of a ShutdownMsg, and the server draws no notice of
// its own over them.
func TestOwnShutdownMsg(t *testing.T) {
	e := newEnv(t, []string{"alice"}, 1, 3)
	got := make(chan tea.Msg, 4)
	srv, _, err := New(Config{Store: e.st, AuthorizedKeys: e.keyFile, HostKey: e.hostKey, Log: e.log, Grace: 5 * time.Second,
		ShutdownMsg: ownShutdown{"bye"},
		NewModel: func(s *Session) tea.Model {
			return &ownModel{gradeModel: &gradeModel{st: e.st, sess: s, k: 1, rec: e.rec(s.Annotator)}, got: got}
		}})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	tm := openTerminal(t, l.Addr().String(), e.keys["alice"], nil, 80, 24, nil)
	tm.in.Write([]byte("1"))
	lab := labelerID(t, e.st, "alice")
	storetest.WaitFor(t, "alice's grade", 10*time.Second, func() bool { return countJudgments(t, e.st, lab) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if m != (ownShutdown{"bye"}) {
			t.Fatalf("model got %#v", m)
		}
	default:
		t.Fatal("model got no shutdown message")
	}
	if len(got) != 0 {
		t.Errorf("extra shutdown messages: %d", len(got))
	}
	<-tm.done
	if strings.Contains(tm.out.String(), "Reconnect in a moment.") && strings.Contains(tm.out.String(), "\x1b[7m The server") {
		t.Error("the server drew its own notice over the model")
	}
}
