// Package sshserve serves the workbench to many annotators over SSH: one
// Bubble Tea program per SSH session, each with its own model, terminal size,
// colors and environment, all writing to one workspace.
//
// An annotator is who their public key says they are (see Keys, whose
// authorized_keys options are honoured or refused): unknown keys, passwords
// and keyboard-interactive logins are refused, and only an interactive
// session with a terminal runs; exec commands, subsystems and port
// forwarding are refused. Limits bound what one key or an unauthenticated
// client can make the server hold (sessions per connection and per
// annotator, pending connections, timeouts, terminal sizes). The host key is
// created once and kept.
//
// Shutdown tells every session (a ShutdownMsg to its model and a line in the
// terminal after it ends), lets each model commit what it holds, and closes
// the connections.
package sshserve

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	bm "charm.land/wish/v2/bubbletea"
	"github.com/charmbracelet/x/ansi"
	gossh "golang.org/x/crypto/ssh"

	"github.com/qrelbench/qrelbench/store"
)

// Session is what a model factory learns about one SSH session.
type Session struct {
	// Annotator is the name the session's key maps to; grades go to the
	// labeler "human:"+Annotator (Labeler, created when missing).
	Annotator string
	Labeler   store.Labeler
	// Pty is the client's terminal (TERM and size); Environ its environment
	// with TERM added, for color detection.
	Pty     ssh.Pty
	Environ []string
	Remote  net.Addr
	// Context ends when the client disconnects or the server shuts down.
	Context context.Context
}

// ShutdownMsg is sent to every session's model when the server shuts down,
// just before QuitMsg: a model may show Reason and finish saving.
type ShutdownMsg struct{ Reason string }

// Config configures a Server.
type Config struct {
	Store *store.Store
	// AuthorizedKeys is the keys file (see Keys). It is read again when it
	// changes, so annotators can be added without a restart.
	AuthorizedKeys string
	// HostKey is the host key file, created (Ed25519, 0600) when missing.
	HostKey string
	// NewModel makes the model of one session.
	NewModel func(*Session) tea.Model
	// QuitMsg asks a model to quit gracefully: commit pending writes, then
	// tea.Quit. Default: ctrl+c, which the workbench treats so.
	QuitMsg tea.Msg
	// ShutdownMsg, when set, is sent to every model on shutdown instead of
	// a ShutdownMsg (before QuitMsg): a model that shows its own notice
	// (the workbench's tui.ShutdownMsg) gets its own message type, and the
	// top-line notice the server draws over models is left out.
	ShutdownMsg tea.Msg
	// Grace is how long a model has to quit after QuitMsg before it is
	// killed (default 10s).
	Grace time.Duration
	// Log receives one line per connection, refusal and key file problem
	// (nil: discarded).
	Log io.Writer
	// ProgramOptions are added to every session's tea.NewProgram.
	ProgramOptions []tea.ProgramOption
	// Limits bound sessions, pending connections, timeouts and terminal
	// sizes (zero fields: the defaults).
	Limits Limits
}

// Server is an SSH server of workbench sessions.
type Server struct {
	cfg    Config
	srv    *ssh.Server
	signer gossh.Signer

	keysMu   sync.Mutex
	keys     *Keys
	keysMod  time.Time
	keysSize int64

	lim Limits

	mu       sync.Mutex
	closing  bool
	sessions map[*live]bool
	perLab   map[int64]int
	chans    map[string]int // open session channels per annotator
	pending  int            // connections without an open session
	wg       sync.WaitGroup
}

type live struct {
	prog      *tea.Program
	annotator string
	labeler   int64
}

// ctrlC is the default QuitMsg.
var ctrlC = tea.KeyPressMsg(tea.Key{Code: 'c', Mod: tea.ModCtrl})

// New makes a server: it loads the keys (lines it cannot take are returned,
// with their line numbers, and logged; the others are kept) and the host key
// (created the first time). It fails when no key at all can be used.
func New(cfg Config) (*Server, []LineError, error) {
	if cfg.Store == nil || cfg.NewModel == nil {
		return nil, nil, errors.New("sshserve: Store and NewModel are required")
	}
	if cfg.QuitMsg == nil {
		cfg.QuitMsg = ctrlC
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	s := &Server{cfg: cfg, lim: cfg.Limits.withDefaults(), sessions: map[*live]bool{}, perLab: map[int64]int{}, chans: map[string]int{}}
	bad, err := s.reloadKeys(true)
	if err != nil {
		return nil, bad, err
	}
	if s.keys.Len() == 0 {
		return nil, bad, fmt.Errorf("%s: no usable key: nobody could log in", cfg.AuthorizedKeys)
	}
	signer, created, err := EnsureHostKey(cfg.HostKey)
	if err != nil {
		return nil, bad, err
	}
	s.signer = signer
	if created {
		s.logf("created host key %s (%s)", cfg.HostKey, gossh.FingerprintSHA256(signer.PublicKey()))
	}
	s.srv, err = wish.NewServer(
		func(srv *ssh.Server) error { srv.AddHostKey(signer); return nil },
		wish.WithPublicKeyAuth(s.authorize),
		func(srv *ssh.Server) error {
			srv.Handler = s.handle
			srv.HandshakeTimeout = s.lim.PendingTimeout
			srv.IdleTimeout = s.lim.IdleTimeout
			srv.ConnCallback = s.onConn
			// Only "shell" (with a pty, checked in handle) runs: no exec
			// commands, no subsystems (sftp, ...).
			srv.SessionRequestCallback = func(sess ssh.Session, kind string) bool {
				if kind == "shell" {
					return true
				}
				fmt.Fprintf(sess.Stderr(), "qrelbench: %s requests are not served; connect with plain `ssh -p PORT HOST`\r\n", kind)
				s.logf("refused %s request from %s", kind, sess.RemoteAddr())
				return false
			}
			srv.LocalPortForwardingCallback = func(ssh.Context, string, uint32) bool { return false }
			srv.ReversePortForwardingCallback = func(ssh.Context, string, uint32) bool { return false }
			srv.SubsystemHandlers = map[string]ssh.SubsystemHandler{}
			srv.ChannelHandlers = map[string]ssh.ChannelHandler{"session": s.sessionChannel}
			srv.RequestHandlers = map[string]ssh.RequestHandler{}
			return nil
		},
	)
	if err != nil {
		return nil, bad, err
	}
	return s, bad, nil
}

// HostKey is the server's public host key (for known_hosts).
func (s *Server) HostKey() gossh.PublicKey { return s.signer.PublicKey() }

// Annotators are the names the keys file knows.
func (s *Server) Annotators() []string {
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	return s.keys.Names()
}

func (s *Server) logf(format string, args ...any) {
	fmt.Fprintf(s.cfg.Log, time.Now().Format("15:04:05")+" "+format+"\n", args...)
}

// reloadKeys reads the keys file when it changed since the last read. A
// file that became unreadable keeps the keys read before.
func (s *Server) reloadKeys(first bool) ([]LineError, error) {
	st, err := os.Stat(s.cfg.AuthorizedKeys)
	if err != nil {
		if first {
			return nil, fmt.Errorf("authorized keys: %w", err)
		}
		return nil, nil
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	if !first && st.ModTime().Equal(s.keysMod) && st.Size() == s.keysSize {
		return nil, nil
	}
	keys, bad, err := LoadKeys(s.cfg.AuthorizedKeys)
	if err != nil {
		if first {
			return bad, fmt.Errorf("authorized keys: %w", err)
		}
		s.logf("keys file: %v (keeping the keys read before)", err)
		return bad, nil
	}
	for _, b := range bad {
		s.logf("keys file: %v (line skipped; the other keys work)", b)
	}
	s.keys, s.keysMod, s.keysSize = keys, st.ModTime(), st.Size()
	if !first {
		s.logf("keys file reloaded: %d keys for %d annotators", keys.Len(), len(keys.names))
	}
	return bad, nil
}

// allowed returns the keys file line that lets pk in from remote now.
func (s *Server) allowed(pk ssh.PublicKey, remote net.Addr) (keyEntry, error) {
	var ip netip.Addr
	if ta, ok := remote.(*net.TCPAddr); ok {
		ip = ta.AddrPort().Addr()
	} else if ap, err := netip.ParseAddrPort(fmt.Sprint(remote)); err == nil {
		ip = ap.Addr()
	}
	s.keysMu.Lock()
	defer s.keysMu.Unlock()
	return s.keys.authorize(pk, ip, time.Now())
}

func (s *Server) authorize(ctx ssh.Context, pk ssh.PublicKey) bool {
	s.reloadKeys(false)
	e, err := s.allowed(pk, ctx.RemoteAddr())
	if err != nil {
		s.logf("refused key %s for user %q from %s: %v", gossh.FingerprintSHA256(pk), ctx.User(), ctx.RemoteAddr(), err)
		return false
	}
	perms := ctx.Permissions()
	if perms.Extensions == nil {
		perms.Extensions = map[string]string{}
	}
	perms.Extensions[extAnnotator] = e.name
	if e.noPty {
		perms.Extensions[extNoPty] = fmt.Sprintf("line %d", e.line)
	}
	return true
}

// ListenAndServe listens on addr (e.g. ":2222") and serves until Shutdown.
func (s *Server) ListenAndServe(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve serves connections from l until Shutdown; it then returns
// ssh.ErrServerClosed.
func (s *Server) Serve(l net.Listener) error {
	return s.srv.Serve(l)
}

// handle runs one session.
func (s *Server) handle(sess ssh.Session) {
	pty, winCh, ok := sess.Pty()
	if !ok {
		wish.Fatalln(sess, "qrelbench: the workbench needs a terminal: connect with `ssh -t`")
		return
	}
	e, err := s.allowed(sess.PublicKey(), sess.RemoteAddr())
	if err != nil {
		wish.Fatalln(sess, "qrelbench: this key is no longer authorized")
		return
	}
	if line := sess.Permissions().Extensions[extNoPty]; line != "" || e.noPty {
		wish.Fatalln(sess, fmt.Sprintf("qrelbench: your key's line in the keys file (%s) has no-pty or restrict, and the workbench needs a terminal: ask for ,pty to be added", cmp.Or(line, fmt.Sprintf("line %d", e.line))))
		return
	}
	name := e.name
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		wish.Fatalln(sess, "qrelbench: the server is shutting down; try again in a moment")
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	ctx := sess.Context()
	lab, err := s.cfg.Store.EnsureLabeler(ctx, "human:"+name, store.KindHuman)
	if err == nil && lab.Kind != store.KindHuman {
		err = fmt.Errorf("labeler %s exists and is not a human labeler", lab.Name)
	}
	if err != nil {
		s.logf("%s: %v", name, err)
		wish.Fatalln(sess, "qrelbench: "+err.Error())
		return
	}
	env := append(sess.Environ(), "TERM="+pty.Term)
	model := s.cfg.NewModel(&Session{Annotator: name, Labeler: lab, Pty: pty, Environ: env, Remote: sess.RemoteAddr(), Context: ctx})

	// Input ends when the client goes; the program must not stop on that
	// EOF before the model has committed what it holds, so EOF is held back
	// until the program has ended (the context path below quits it).
	ended := make(chan struct{})
	in := &holdEOF{r: sess, ended: ended}
	opts := append([]tea.ProgramOption{tea.WithoutSignalHandler()}, bm.MakeOptions(sess)...)
	opts = append(opts, tea.WithInput(in))
	opts = append(opts, s.cfg.ProgramOptions...)
	prog := tea.NewProgram(&frame{inner: model}, opts...)
	l := &live{prog: prog, annotator: name, labeler: lab.ID}
	s.mu.Lock()
	s.sessions[l] = true
	s.perLab[lab.ID]++
	s.mu.Unlock()
	s.logf("%s connected from %s (%s %dx%d)", name, sess.RemoteAddr(), pty.Term, pty.Window.Width, pty.Window.Height)

	go func() {
		for {
			select {
			case <-ended:
				return
			case <-ctx.Done():
				// The client went: quit gracefully, then for good.
				s.quit(prog, ended, nil)
				return
			case w, ok := <-winCh:
				if !ok {
					winCh = nil
					continue
				}
				prog.Send(tea.WindowSizeMsg{Width: w.Width, Height: w.Height})
			}
		}
	}()
	start := time.Now()
	_, err = prog.Run()
	close(ended)
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		s.logf("%s: %v", name, err)
	}

	s.mu.Lock()
	delete(s.sessions, l)
	s.perLab[lab.ID]--
	last := s.perLab[lab.ID] == 0
	if last {
		delete(s.perLab, lab.ID)
	}
	closing := s.closing
	s.mu.Unlock()
	if last {
		// The pair on screen goes back to the pool at once.
		if err := s.cfg.Store.ReleaseLeases(context.WithoutCancel(ctx), lab.ID); err != nil {
			s.logf("%s: releasing leases: %v", name, err)
		}
	}
	s.logf("%s disconnected after %s", name, time.Since(start).Round(time.Second))
	if closing {
		fmt.Fprint(sess, "\r\nqrelbench: the server is shutting down. Every grade you gave is saved.\r\nReconnect with the same ssh command in a moment.\r\n")
	}
	_ = sess.Exit(0)
}

// quit asks a program to quit gracefully and kills it after the grace
// period if it has not.
func (s *Server) quit(prog *tea.Program, ended <-chan struct{}, first tea.Msg) {
	send := func(m tea.Msg) {
		select {
		case <-ended:
		default:
			go prog.Send(m)
		}
	}
	if first != nil {
		send(first)
	}
	send(s.cfg.QuitMsg)
	select {
	case <-ended:
	case <-time.After(s.cfg.Grace):
		prog.Kill()
	}
}

// Shutdown stops accepting connections, tells every session (ShutdownMsg,
// then QuitMsg, then a line in its terminal), waits for the models to quit
// (each within Grace; longer when ctx allows) and closes every connection.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.closing = true
	var ls []*live
	for l := range s.sessions {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	// Close the listeners now (Shutdown with a done context returns at once).
	done, cancel := context.WithCancel(context.Background())
	cancel()
	_ = s.srv.Shutdown(done)
	s.logf("shutting down: %d session(s) open", len(ls))
	var msg tea.Msg = ShutdownMsg{Reason: "The server is shutting down: your grades are saved. Reconnect in a moment."}
	if s.cfg.ShutdownMsg != nil {
		msg = s.cfg.ShutdownMsg
	}
	for _, l := range ls {
		go func(p *tea.Program) {
			// In order: the notice, then the request to quit.
			p.Send(msg)
			p.Send(s.cfg.QuitMsg)
		}(l.prog)
	}
	finished := make(chan struct{})
	go func() { s.wg.Wait(); close(finished) }()
	var err error
	select {
	case <-finished:
	case <-time.After(s.cfg.Grace):
		for _, l := range ls {
			l.prog.Kill()
		}
		select {
		case <-finished:
		case <-ctx.Done():
			err = ctx.Err()
		}
	case <-ctx.Done():
		err = ctx.Err()
	}
	// Let the goodbye lines reach the clients before cutting connections.
	time.Sleep(50 * time.Millisecond)
	if cerr := s.srv.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
		err = cerr
	}
	return err
}

// Sessions is the number of sessions running.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.sessions)
}

// holdEOF passes reads through but holds an end of input back until ended
// is closed.
type holdEOF struct {
	r     io.Reader
	ended <-chan struct{}
}

func (h *holdEOF) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if err != nil && n == 0 {
		<-h.ended
	}
	return n, err
}

// frame wraps a session's model: it shows the shutdown notice on the top
// line while the model finishes.
type frame struct {
	inner  tea.Model
	notice string
	width  int
}

func (f *frame) Init() tea.Cmd { return f.inner.Init() }

func (f *frame) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch m := msg.(type) {
	case ShutdownMsg:
		f.notice = m.Reason
	case tea.WindowSizeMsg:
		f.width = m.Width
	}
	var cmd tea.Cmd
	f.inner, cmd = f.inner.Update(msg)
	return f, cmd
}

func (f *frame) View() tea.View {
	v := f.inner.View()
	if f.notice != "" {
		_, rest, _ := strings.Cut(v.Content, "\n")
		line := " " + f.notice + " "
		if f.width > 0 {
			line = ansi.Truncate(line, f.width, "…")
		}
		v.Content = "\x1b[7m" + line + "\x1b[0m\n" + rest
	}
	return v
}
