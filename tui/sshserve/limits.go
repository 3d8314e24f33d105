package sshserve

import (
	"fmt"
	"net"
	"sync"
	"time"

	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// Limits bound what one key, or anyone before authenticating, can make the
// server hold. Every connection either has a session open, and counts
// against its annotator's sessions, or is pending (still authenticating, or
// authenticated with no session open yet), and counts against Pending for
// at most PendingTimeout: so the connections held are at most Pending plus
// SessionsPerAnnotator for each annotator.
type Limits struct {
	// SessionsPerConn bounds the session channels of one connection
	// (default 2; plain ssh opens one).
	SessionsPerConn int
	// SessionsPerAnnotator bounds the session channels one annotator has
	// open over all connections (default 4).
	SessionsPerAnnotator int
	// Pending bounds the connections without an open session (default 32):
	// one more is closed at once.
	Pending int
	// PendingTimeout is how soon a connection must have a session open,
	// the SSH handshake included (default 30s); a connection whose last
	// session ended has as long to open another.
	PendingTimeout time.Duration
	// IdleTimeout closes a connection on which nothing was sent either way
	// for that long (default 30m; client keep-alives count as traffic).
	IdleTimeout time.Duration
	// MaxWidth and MaxHeight clamp the terminal size a client asks for, at
	// pty-req and at every window change (default 500×200): the renderer
	// keeps a cell buffer of that size per session.
	MaxWidth, MaxHeight int
	// MaxEnv bounds the environment variables a session may set (default
	// 64, each at most 4 KiB).
	MaxEnv int
}

// Default limits.
const (
	DefaultSessionsPerConn      = 2
	DefaultSessionsPerAnnotator = 4
	DefaultPending              = 32
	DefaultPendingTimeout       = 30 * time.Second
	DefaultIdleTimeout          = 30 * time.Minute
	DefaultMaxWidth             = 500
	DefaultMaxHeight            = 200
	DefaultMaxEnv               = 64
	maxEnvBytes                 = 4 << 10
	maxTermLen                  = 256
)

func (l Limits) withDefaults() Limits {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	set(&l.SessionsPerConn, DefaultSessionsPerConn)
	set(&l.SessionsPerAnnotator, DefaultSessionsPerAnnotator)
	set(&l.Pending, DefaultPending)
	set(&l.MaxWidth, DefaultMaxWidth)
	set(&l.MaxHeight, DefaultMaxHeight)
	set(&l.MaxEnv, DefaultMaxEnv)
	if l.PendingTimeout <= 0 {
		l.PendingTimeout = DefaultPendingTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	return l
}

// Permission extensions set when a key is accepted, read by the channel
// and session handlers.
const (
	extAnnotator = "qrelbench-annotator"
	extNoPty     = "qrelbench-no-pty"
)

type connStateKey struct{}

// connState is the accounting of one connection.
type connState struct {
	conn     net.Conn // the tracked connection
	remote   net.Addr
	sessions int
	pending  bool
	closed   bool
	timer    *time.Timer
}

// trackedConn ends its connection's accounting when closed.
type trackedConn struct {
	net.Conn
	s    *Server
	st   *connState
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.s.mu.Lock()
		c.st.closed = true
		c.s.setPending(c.st, false)
		c.s.mu.Unlock()
	})
	return c.Conn.Close()
}

// setPending moves a connection in or out of the pending count; s.mu held.
func (s *Server) setPending(st *connState, on bool) {
	if st.pending == on {
		return
	}
	st.pending = on
	if on {
		s.pending++
		st.timer.Reset(s.lim.PendingTimeout)
	} else {
		s.pending--
		st.timer.Stop()
	}
}

// onConn admits a new connection as pending, or closes it when Pending
// connections are already waiting.
func (s *Server) onConn(ctx ssh.Context, c net.Conn) net.Conn {
	st := &connState{remote: c.RemoteAddr()}
	tc := &trackedConn{Conn: c, s: s, st: st}
	st.conn = tc
	st.timer = time.AfterFunc(time.Hour, func() {
		s.logf("closed the connection from %s: no session within %s", st.remote, s.lim.PendingTimeout)
		tc.Close()
	})
	st.timer.Stop()
	s.mu.Lock()
	full := s.pending >= s.lim.Pending
	if !full {
		s.setPending(st, true)
	}
	s.mu.Unlock()
	if full {
		s.logf("refused a connection from %s: %d connections are already waiting to authenticate", st.remote, s.lim.Pending)
		return nil
	}
	ctx.SetValue(connStateKey{}, st)
	return tc
}

// sessionChannel admits a session channel within the per-connection and
// per-annotator limits, then serves it as ssh.DefaultSessionHandler does,
// with its requests filtered (see filterRequests).
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, nc gossh.NewChannel, ctx ssh.Context) {
	st, _ := ctx.Value(connStateKey{}).(*connState)
	name := ""
	if conn.Permissions != nil {
		name = conn.Permissions.Extensions[extAnnotator]
	}
	if st == nil || name == "" {
		_ = nc.Reject(gossh.Prohibited, "not authorized")
		return
	}
	reason := ""
	s.mu.Lock()
	switch {
	case st.sessions >= s.lim.SessionsPerConn:
		reason = fmt.Sprintf("qrelbench: at most %d sessions per connection", s.lim.SessionsPerConn)
	case s.chans[name] >= s.lim.SessionsPerAnnotator:
		reason = fmt.Sprintf("qrelbench: %s already has %d sessions open, the most one annotator may have: close one first", name, s.lim.SessionsPerAnnotator)
	default:
		st.sessions++
		s.chans[name]++
		s.setPending(st, false)
	}
	s.mu.Unlock()
	if reason != "" {
		s.logf("refused a session of %s from %s: %s", name, st.remote, reason)
		_ = nc.Reject(gossh.ResourceShortage, reason)
		return
	}
	defer func() {
		s.mu.Lock()
		st.sessions--
		if s.chans[name]--; s.chans[name] == 0 {
			delete(s.chans, name)
		}
		closeIt := false
		if st.sessions == 0 && !st.closed {
			if closeIt = s.pending >= s.lim.Pending; !closeIt {
				s.setPending(st, true)
			}
		}
		s.mu.Unlock()
		if closeIt {
			st.conn.Close()
		}
	}()
	ssh.DefaultSessionHandler(srv, conn, &filteredChannel{NewChannel: nc, lim: s.lim}, ctx)
}

// filteredChannel is a session channel whose requests pass filterRequests.
type filteredChannel struct {
	gossh.NewChannel
	lim Limits
}

func (f *filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := f.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go filterRequests(reqs, out, f.lim)
	return ch, out, nil
}

// filterRequests passes a session's requests on, with the terminal size of
// pty-req and window-change clamped to the limits, environment variables
// bounded in number and size, and agent forwarding refused (the server
// forwards nothing).
func filterRequests(in <-chan *gossh.Request, out chan<- *gossh.Request, lim Limits) {
	defer close(out)
	envs := 0
	for req := range in {
		ok := true
		switch req.Type {
		case "env":
			envs++
			ok = envs <= lim.MaxEnv && len(req.Payload) <= maxEnvBytes
		case "pty-req":
			var p struct {
				Term                    string
				Columns, Rows, Wpx, Hpx uint32
				Modes                   string
			}
			if ok = gossh.Unmarshal(req.Payload, &p) == nil && len(p.Term) <= maxTermLen; ok {
				p.Columns, p.Rows = clamp(p.Columns, lim.MaxWidth), clamp(p.Rows, lim.MaxHeight)
				p.Wpx, p.Hpx = clamp(p.Wpx, 1<<15), clamp(p.Hpx, 1<<15)
				req.Payload = gossh.Marshal(&p)
			}
		case "window-change":
			var w struct{ Columns, Rows, Wpx, Hpx uint32 }
			if ok = gossh.Unmarshal(req.Payload, &w) == nil; ok {
				w.Columns, w.Rows = clamp(w.Columns, lim.MaxWidth), clamp(w.Rows, lim.MaxHeight)
				w.Wpx, w.Hpx = clamp(w.Wpx, 1<<15), clamp(w.Hpx, 1<<15)
				req.Payload = gossh.Marshal(&w)
			}
		case "auth-agent-req@openssh.com":
			ok = false
		}
		if !ok {
			if req.WantReply {
				_ = req.Reply(false, nil)
			}
			continue
		}
		out <- req
	}
}

func clamp(v uint32, most int) uint32 {
	if int64(v) > int64(most) {
		return uint32(most)
	}
	return v
}
