package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"sort"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/qrelbench/qrelbench/internal/words"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
	"github.com/qrelbench/qrelbench/tui"
	"github.com/qrelbench/qrelbench/tui/sshserve"
)

func init() {
	register("serve", "serve the workbench to a team over SSH (one session per annotator key)", runServe)
	register("annotator", "list human annotators, or mark one as an adjudicator", runAnnotator)
}

func runServe(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "serve", "serve --authorized-keys FILE [--listen :2222] [--host-key PATH] [--k N] [--adjudicators a,b] [--priority]")
	listen := fs.String("listen", ":2222", "address to listen on")
	keys := fs.String("authorized-keys", "", "keys file: authorized_keys lines whose comment names the annotator, or `NAME KEY` lines (required)")
	hostKey := fs.String("host-key", "", "host key file, created once (default: the workspace path + .hostkey)")
	k := kFlag(fs)
	var adjudicators multiFlag
	fs.Var(&adjudicators, "adjudicators", "annotators allowed to adjudicate disagreements (comma-separated; added to those already marked)")
	blind := fs.Bool("blind", true, "hide other labelers' grades on a pair until the annotator has graded it")
	priority := fs.Bool("priority", false, "serve first the pairs where the teacher and the student disagree most or are least certain")
	grace := fs.Duration("grace", 10*time.Second, "on shutdown, how long each session has to save before it is closed")
	perConn := fs.Int("max-sessions-per-conn", sshserve.DefaultSessionsPerConn, "session channels one connection may open")
	perAnnotator := fs.Int("max-sessions-per-annotator", sshserve.DefaultSessionsPerAnnotator, "sessions one annotator may have open over all connections")
	pending := fs.Int("max-pending", sshserve.DefaultPending, "connections that may be authenticating (or without a session) at once; more are closed")
	pendingTimeout := fs.Duration("pending-timeout", sshserve.DefaultPendingTimeout, "how soon a connection must authenticate and open a session")
	idle := fs.Duration("idle-timeout", sshserve.DefaultIdleTimeout, "close a connection with no traffic for this long")
	maxWindow := fs.String("max-window", fmt.Sprintf("%dx%d", sshserve.DefaultMaxWidth, sshserve.DefaultMaxHeight), "largest terminal COLSxROWS a session gets; larger ones are clamped")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("serve takes no arguments (got %s)", quote.Input(strings.Join(pos, " ")))
	}
	if *keys == "" {
		return errors.New("serve needs --authorized-keys FILE: one line per annotator key (see `qrelbench serve -h`)")
	}
	var maxW, maxH int
	if n, err := fmt.Sscanf(*maxWindow, "%dx%d", &maxW, &maxH); n != 2 || err != nil || maxW < 20 || maxH < 5 {
		return fmt.Errorf("--max-window %s: want COLSxROWS, at least 20x5", quote.Input(*maxWindow))
	}
	for name, v := range map[string]int{"--max-sessions-per-conn": *perConn, "--max-sessions-per-annotator": *perAnnotator, "--max-pending": *pending} {
		if v < 1 {
			return fmt.Errorf("%s must be at least 1", name)
		}
	}
	for name, v := range map[string]time.Duration{"--pending-timeout": *pendingTimeout, "--idle-timeout": *idle} {
		if v <= 0 {
			return fmt.Errorf("%s must be positive", name)
		}
	}
	if *hostKey == "" {
		*hostKey = e.db + ".hostkey"
	}
	st, err := openStore(ctx, e)
	if err != nil {
		return err
	}
	defer st.Close()
	kk, err := applyK(ctx, st, *k)
	if err != nil {
		return err
	}
	for _, name := range adjudicators {
		if err := markAdjudicator(ctx, st, name, true); err != nil {
			return err
		}
	}

	srv, _, err := sshserve.New(sshserve.Config{
		Store:          st,
		AuthorizedKeys: *keys,
		HostKey:        *hostKey,
		Log:            e.stderr, // bad key lines are reported here with their line numbers
		Grace:          *grace,
		ShutdownMsg:    tui.ShutdownMsg{Reason: "server shutting down — your grades are saved"},
		Limits: sshserve.Limits{SessionsPerConn: *perConn, SessionsPerAnnotator: *perAnnotator, Pending: *pending,
			PendingTimeout: *pendingTimeout, IdleTimeout: *idle, MaxWidth: maxW, MaxHeight: maxH},
		NewModel: func(s *sshserve.Session) tea.Model {
			return tui.New(st, tui.Options{Annotator: s.Annotator, Blind: *blind, Priority: *priority, Environ: s.Environ})
		},
	})
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	port := *listen
	if _, p, err := net.SplitHostPort(l.Addr().String()); err == nil {
		port = p
	}
	fmt.Fprintf(e.stdout, "serving %s on %s: each pair graded by %s\n", e.db, l.Addr(), words.Count(kk, "human"))
	fmt.Fprintf(e.stdout, "host key %s %s\n", *hostKey, gossh.FingerprintSHA256(srv.HostKey()))
	fmt.Fprintf(e.stdout, "annotators: %s\n", strings.Join(srv.Annotators(), ", "))
	fmt.Fprintf(e.stdout, "connect with: ssh -p %s HOST\n", port)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	select {
	case err := <-served:
		if !errors.Is(err, ssh.ErrServerClosed) {
			return err
		}
		return nil
	case <-ctx.Done():
	}
	fmt.Fprintf(e.stdout, "shutting down: telling %s…\n", words.Count(srv.Sessions(), "session"))
	sctx, cancel := context.WithTimeout(context.Background(), *grace+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-served
	fmt.Fprintln(e.stdout, "stopped; every grade given is saved")
	return nil
}

func markAdjudicator(ctx context.Context, st *store.Store, name string, on bool) error {
	name = strings.TrimPrefix(name, "human:")
	if err := sshserve.ValidName(name); err != nil {
		return err
	}
	if _, err := st.EnsureLabeler(ctx, "human:"+name, store.KindHuman); err != nil {
		return err
	}
	return st.SetAdjudicator(ctx, "human:"+name, on)
}

// runAnnotator: `annotator list` and `annotator set NAME --adjudicator[=false]`.
func runAnnotator(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "annotator", "annotator list | annotator set NAME --adjudicator[=false]")
	adj := fs.Bool("adjudicator", false, "with set: allow (or, =false, forbid) NAME to adjudicate disagreements")
	st, pos, err := fs.open(ctx, e, args, -1)
	if err != nil {
		return err
	}
	defer st.Close()
	switch {
	case len(pos) == 1 && pos[0] == "list":
		ls, err := st.Labelers(ctx)
		if err != nil {
			return err
		}
		stats, err := st.Stats(ctx)
		if err != nil {
			return err
		}
		graded := map[string]int{}
		for _, s := range stats.Labelers {
			graded[s.Labeler] = s.ByStatus[store.StatusOK]
		}
		sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
		humans := 0
		for _, l := range ls {
			if l.Kind != store.KindHuman {
				continue
			}
			humans++
			flag := ""
			if l.Config.Adjudicator {
				flag = "  adjudicator"
			}
			fmt.Fprintf(e.stdout, "%-24s %6d graded%s\n", l.Name, graded[l.Name], flag)
		}
		if humans == 0 {
			fmt.Fprintln(e.stdout, "no human annotators yet: they appear when someone grades in the workbench (qrelbench tui --as NAME, or over qrelbench serve)")
		}
		return nil
	case len(pos) == 2 && pos[0] == "set":
		set := false
		fs.Visit(func(f *flag.Flag) {
			if f.Name == "adjudicator" {
				set = true
			}
		})
		if !set {
			return errors.New("annotator set: say what to set: --adjudicator or --adjudicator=false")
		}
		if err := markAdjudicator(ctx, st, pos[1], *adj); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "human:%s adjudicator: %v\n", strings.TrimPrefix(pos[1], "human:"), *adj)
		return nil
	}
	return errors.New("usage: qrelbench annotator list | annotator set NAME --adjudicator[=false]")
}
