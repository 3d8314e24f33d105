package sshserve

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/qrelbench/qrelbench/store/storetest"
)

func dial(t testing.TB, addr string, s gossh.Signer) *gossh.Client {
	t.Helper()
	c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(s), nil))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openSession opens a session channel with a terminal of w×h and a shell;
// it returns the session or the error of the step that failed.
func openSession(c *gossh.Client, w, h int) (*gossh.Session, error) {
	s, err := c.NewSession()
	if err != nil {
		return nil, err
	}
	s.Stdout, s.Stderr = io.Discard, io.Discard
	if err := s.RequestPty("xterm-256color", h, w, nil); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.Shell(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// TestSessionLimits: one connection holds at most SessionsPerConn sessions
// and one annotator at most SessionsPerAnnotator over all connections; the
// refusal says why; a closed session frees its place.
func TestSessionLimits(t *testing.T) {
	e := newEnv(t, []string{"alice", "bob"}, 2, 3)
	srv, addr := e.start()
	c1 := dial(t, addr, e.keys["alice"])
	defer c1.Close()
	var open []*gossh.Session
	var errs []string
	for range 10 {
		s, err := openSession(c1, 80, 24)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		open = append(open, s)
	}
	if len(open) != DefaultSessionsPerConn || !strings.Contains(strings.Join(errs, "\n"), "at most 2 sessions per connection") {
		t.Fatalf("one connection: %d sessions open, refusals %q", len(open), errs)
	}
	c2, c3 := dial(t, addr, e.keys["alice"]), dial(t, addr, e.keys["alice"])
	defer c2.Close()
	defer c3.Close()
	for _, c := range []*gossh.Client{c2, c2, c3} {
		if s, err := openSession(c, 80, 24); err == nil {
			open = append(open, s)
		} else {
			errs = append(errs, err.Error())
		}
	}
	if len(open) != DefaultSessionsPerAnnotator || !strings.Contains(errs[len(errs)-1], "alice already has 4 sessions open") {
		t.Fatalf("alice over three connections: %d sessions, last refusal %q", len(open), errs[len(errs)-1])
	}
	// Another annotator is not affected.
	cb := dial(t, addr, e.keys["bob"])
	defer cb.Close()
	if _, err := openSession(cb, 80, 24); err != nil {
		t.Errorf("bob: %v", err)
	}
	storetest.WaitFor(t, "five sessions", 10*time.Second, func() bool { return srv.Sessions() == 5 })
	// Closing one of alice's sessions makes room for another.
	open[0].Close()
	storetest.WaitFor(t, "a place for alice", 10*time.Second, func() bool {
		s, err := openSession(c3, 80, 24)
		if err == nil {
			s.Close()
		}
		return err == nil
	})
}

// TestWindowClamped: a terminal size over the limits, asked at pty-req or
// in a window change, reaches the session clamped.
func TestWindowClamped(t *testing.T) {
	e := newEnv(t, []string{"alice"}, 1, 2)
	_, addr := e.start()
	tm := openTerminal(t, addr, e.keys["alice"], nil, 3000, 3000, nil)
	defer tm.c.Close()
	want := [2]int{DefaultMaxWidth, DefaultMaxHeight}
	storetest.WaitFor(t, "the clamped size", 10*time.Second, func() bool { return e.rec("alice").size() == want })
	for _, wh := range [][2]int{{1 << 20, 100000}, {4000, 50}, {120, 40}} {
		if err := tm.s.WindowChange(wh[1], wh[0]); err != nil {
			t.Fatal(err)
		}
		w := [2]int{min(wh[0], DefaultMaxWidth), min(wh[1], DefaultMaxHeight)}
		storetest.WaitFor(t, fmt.Sprint("window ", w), 10*time.Second, func() bool { return e.rec("alice").size() == w })
	}
	e.rec("alice").mu.Lock()
	defer e.rec("alice").mu.Unlock()
	for _, s := range e.rec("alice").sizes {
		if s[0] > DefaultMaxWidth || s[1] > DefaultMaxHeight {
			t.Errorf("the model saw %v", s)
		}
	}
}

// TestEnvBounded: a session may set MaxEnv variables, no more.
func TestEnvBounded(t *testing.T) {
	e := newEnv(t, []string{"alice"}, 1, 1)
	_, addr := e.start()
	c := dial(t, addr, e.keys["alice"])
	defer c.Close()
	s, _ := c.NewSession()
	defer s.Close()
	ok := 0
	for i := range 200 {
		if s.Setenv(fmt.Sprintf("V%d", i), "x") == nil {
			ok++
		}
	}
	if s.Setenv("BIG", strings.Repeat("x", 8<<10)) == nil {
		t.Error("an 8 KiB variable was accepted")
	}
	if ok != DefaultMaxEnv {
		t.Errorf("%d variables accepted, want %d", ok, DefaultMaxEnv)
	}
}

// TestPendingConnections: connections that do not open a session (not
// authenticating, or authenticated and idle) are bounded in number and
// closed after PendingTimeout; a connection with a session stays.
func TestPendingConnections(t *testing.T) {
	e := newEnv(t, []string{"alice"}, 1, 2)
	e.limits = Limits{Pending: 4, PendingTimeout: 3 * time.Second}
	_, addr := e.start()
	working := openTerminal(t, addr, e.keys["alice"], nil, 80, 24, nil)
	defer working.c.Close()
	labelerID(t, e.st, "alice")

	var conns []net.Conn
	for range 10 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
	}
	closed := func(c net.Conn, within time.Duration) bool {
		c.SetReadDeadline(time.Now().Add(within))
		_, err := io.ReadAll(c) // the server's version line, then EOF when closed
		return err == nil
	}
	early := 0
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, c := range conns { // all at once: the waiting ones are closed after PendingTimeout
		wg.Add(1)
		go func() {
			defer wg.Done()
			if closed(c, time.Second) {
				mu.Lock()
				early++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if early != 6 {
		t.Errorf("%d of 10 silent connections closed at once, want 6 (4 may wait)", early)
	}
	for _, c := range conns {
		if !closed(c, 5*time.Second) {
			t.Error("a silent connection outlived PendingTimeout")
		}
	}
	// Authenticated without a session: closed too.
	idle := dial(t, addr, e.keys["alice"])
	done := make(chan error, 1)
	go func() { done <- idle.Wait() }()
	select {
	case <-done:
	case <-time.After(6 * time.Second):
		t.Error("an authenticated connection without a session was kept")
	}
	if !strings.Contains(e.log.String(), "no session within") || !strings.Contains(e.log.String(), "already waiting to authenticate") {
		t.Errorf("log:\n%s", e.log)
	}
	// The working session is still there.
	select {
	case err := <-working.done:
		t.Errorf("the working session ended: %v", err)
	default:
	}
}

// TestIdleTimeout: a connection with no traffic either way is closed.
func TestIdleTimeout(t *testing.T) {
	e := newEnv(t, []string{"alice"}, 1, 2)
	e.limits = Limits{IdleTimeout: 700 * time.Millisecond}
	_, addr := e.start()
	tm := openTerminal(t, addr, e.keys["alice"], nil, 80, 24, nil)
	defer tm.c.Close()
	select {
	case <-tm.done:
	case <-time.After(10 * time.Second):
		t.Error("an idle session was kept")
	}
}

// rssBytes is the process's resident set (VmRSS), 0 when unknown.
func rssBytes() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func heapInuse() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapInuse)
}

// TestAbuseMemoryFlat is issue 11's item 9: one key opening as many
// channels as it can, each asking for a 3000×3000 terminal, flooding
// environment variables and window changes, plus silent connections that
// never authenticate. The memory the server holds stays bounded during the
// abuse and returns afterwards. Before the limits, 600 channels on one
// connection took the server to 719 MB and one 3000×3000 terminal to 2.2 GB.
func TestAbuseMemoryFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("abuse test: skipped with -short")
	}
	e := newEnv(t, []string{"mallory"}, 5, 20)
	e.limits = Limits{PendingTimeout: 2 * time.Second}
	srv, addr := e.start()
	// Warm up: one ordinary session, so that what is measured is the abuse.
	warm := openTerminal(t, addr, e.keys["mallory"], nil, 80, 24, nil)
	labelerID(t, e.st, "mallory")
	warm.c.Close()
	storetest.WaitFor(t, "warm-up done", 10*time.Second, func() bool { return srv.Sessions() == 0 })
	rss0, heap0 := rssBytes(), heapInuse()

	var clients []*gossh.Client
	var mu sync.Mutex
	accepted, refused := 0, 0
	var wg sync.WaitGroup
	for range 6 {
		c := dial(t, addr, e.keys["mallory"])
		clients = append(clients, c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				s, err := c.NewSession()
				if err != nil {
					mu.Lock()
					refused++
					mu.Unlock()
					continue
				}
				for i := range 100 {
					s.Setenv(fmt.Sprintf("FLOOD%d", i), strings.Repeat("x", 1000))
				}
				if s.RequestPty("xterm-256color", 3000, 3000, nil) != nil || s.Shell() != nil {
					continue
				}
				for range 50 {
					s.WindowChange(100000, 100000)
				}
				mu.Lock()
				accepted++
				mu.Unlock()
			}
		}()
	}
	var silent []net.Conn
	for range 200 {
		if c, err := net.Dial("tcp", addr); err == nil {
			silent = append(silent, c)
		}
	}
	wg.Wait()
	storetest.WaitFor(t, "the abusive sessions", 10*time.Second, func() bool { return srv.Sessions() == accepted })
	// Let every session render at the size it asked for.
	storetest.WaitFor(t, "rendered", 10*time.Second, func() bool { return e.rec("mallory").size() != [2]int{} })
	time.Sleep(500 * time.Millisecond)
	rssPeak, heapPeak := rssBytes(), heapInuse()

	for _, c := range clients {
		c.Close()
	}
	for _, c := range silent {
		c.Close()
	}
	storetest.WaitFor(t, "the sessions gone", 20*time.Second, func() bool { return srv.Sessions() == 0 })
	time.Sleep(200 * time.Millisecond)
	heap1 := heapInuse()
	debug.FreeOSMemory()
	rss1 := rssBytes()
	mib := func(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	t.Logf("abuse: %d sessions accepted, %d refused, 200 silent connections; RSS before %s, during %s, after %s; heap in use before %s, during %s, after %s",
		accepted, refused, mib(rss0), mib(rssPeak), mib(rss1), mib(heap0), mib(heapPeak), mib(heap1))
	if accepted != DefaultSessionsPerAnnotator {
		t.Errorf("%d sessions accepted for one key, want %d", accepted, DefaultSessionsPerAnnotator)
	}
	if heapPeak-heap0 > 64<<20 {
		t.Errorf("the abuse held %s of heap", mib(heapPeak-heap0))
	}
	if heap1-heap0 > 16<<20 {
		t.Errorf("%s of heap kept after the abuse", mib(heap1-heap0))
	}
}
