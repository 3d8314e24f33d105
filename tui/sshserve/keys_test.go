package sshserve

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// TestKeyOptions: each authorized_keys option is either honoured or refused
// with its line number; none is silently ignored.
func TestKeyOptions(t *testing.T) {
	k := newSigner(t)
	key := strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k.PublicKey())))
	cases := []struct {
		opts string
		ok   bool
		want string // in the error, or what the entry holds
	}{
		{`from="10.9.9.9"`, true, "from"},
		{`from="10.0.0.0/8,!10.9.9.9,192.168.?.*"`, true, "from"},
		{`restrict`, true, "no-pty"},
		{`restrict,pty`, true, ""},
		{`no-pty`, true, "no-pty"},
		{`no-port-forwarding,no-agent-forwarding,no-X11-forwarding,no-user-rc`, true, ""},
		{`no-touch-required`, true, ""},
		{`expiry-time="20300101"`, true, "expiry"},
		{`expiry-time="201001011200Z"`, true, "expiry"},
		{`command="/bin/date"`, false, "command"},
		{`permitopen="host:80"`, false, "permitopen"},
		{`permitlisten="8080"`, false, "permitlisten"},
		{`environment="A=b"`, false, "environment"},
		{`tunnel="1"`, false, "tunnel"},
		{`cert-authority`, false, "cert-authority"},
		{`principals="a"`, false, "principals"},
		{`port-forwarding`, false, "port-forwarding"},
		{`agent-forwarding`, false, "agent-forwarding"},
		{`X11-forwarding`, false, "X11-forwarding"},
		{`user-rc`, false, "user-rc"},
		{`verify-required`, false, "verify-required"},
		{`no-pty,frobnicate`, false, "frobnicate"},
		{`frobnicate="1"`, false, "frobnicate"},
		{`from="10.0.0.1/8"`, false, "host bits"},
		{`from="10.0.0.0/33"`, false, "from"},
		{`from=""`, false, "from"},
		{`from="a,,b"`, false, "from"},
		{`expiry-time="tomorrow"`, false, "expiry-time"},
	}
	var lines []string
	for _, c := range cases {
		lines = append(lines, c.opts+" "+key+" carol")
	}
	keys, bad, err := ParseKeys(strings.NewReader(strings.Join(lines, "\n")), "team.keys")
	if err != nil {
		t.Fatal(err)
	}
	badAt := map[int]string{}
	for _, b := range bad {
		badAt[b.Line] = b.Error()
	}
	for i, c := range cases {
		line := i + 1
		msg, refused := badAt[line]
		switch {
		case c.ok && refused:
			t.Errorf("line %d %s refused: %s", line, c.opts, msg)
		case !c.ok && !refused:
			t.Errorf("line %d %s accepted: it cannot be honoured", line, c.opts)
		case !c.ok && (!strings.HasPrefix(msg, fmt.Sprintf("team.keys:%d: ", line)) || !strings.Contains(msg, c.want)):
			t.Errorf("line %d %s: error %q should name the line and %q", line, c.opts, msg, c.want)
		}
	}
	ents := keys.entries(k.PublicKey())
	if len(ents) == 0 {
		t.Fatal("no entry for the key")
	}
	// restrict alone means no pty, as in sshd; restrict,pty allows one.
	var noPty []bool
	for _, e := range ents {
		noPty = append(noPty, e.noPty)
	}
	if fmt.Sprint(noPty[2:5]) != "[true false true]" {
		t.Errorf("no-pty of restrict, restrict+pty, no-pty: %v", noPty[2:5])
	}
}

// TestNameFirstWithOptions: in the NAME KEY form options follow the name,
// and a first word that is an option keyword is an option, not a name.
func TestNameFirstWithOptions(t *testing.T) {
	d, r := newSigner(t), newSigner(t)
	text := `dave from="127.0.0.1" ` + authorizedLine(d, "anything") + "\n" + "restrict,pty " + authorizedLine(r, "rita")
	keys, bad, err := ParseKeys(strings.NewReader(text), "k")
	if err != nil || len(bad) != 0 {
		t.Fatal(err, bad)
	}
	e, err := keys.authorize(d.PublicKey(), netip.MustParseAddr("127.0.0.1"), time.Now())
	if err != nil || e.name != "dave" {
		t.Errorf("dave from loopback: %+v %v", e, err)
	}
	if _, err := keys.authorize(d.PublicKey(), netip.MustParseAddr("10.0.0.1"), time.Now()); err == nil {
		t.Error("dave from 10.0.0.1 let in")
	}
	if e, _ := keys.authorize(r.PublicKey(), netip.MustParseAddr("10.0.0.1"), time.Now()); e.name != "rita" || e.noPty {
		t.Errorf("rita: %+v", e)
	}
}

// TestFromPatterns follows the PATTERNS of ssh_config(5) as sshd(8) applies
// them to from=: wildcards * and ?, negation !, CIDR, comma lists; a
// negated match refuses whatever else matches.
func TestFromPatterns(t *testing.T) {
	for _, c := range []struct {
		list, ip string
		want     bool
	}{
		{"10.9.9.9", "10.9.9.9", true},
		{"10.9.9.9", "127.0.0.1", false},
		{"10.9.*", "10.9.1.2", true},
		{"10.9.*", "10.19.1.2", false},
		{"10.9.9.?", "10.9.9.7", true},
		{"10.9.9.?", "10.9.9.17", false},
		{"*", "203.0.113.5", true},
		{"!127.0.0.1,*", "127.0.0.1", false},
		{"!127.0.0.1,*", "127.0.0.2", true},
		{"*,!127.0.0.1", "127.0.0.1", false},
		{"!127.0.0.1", "10.0.0.1", false}, // only a negation: nothing matches positively
		{"127.0.0.0/8", "127.0.0.1", true},
		{"127.0.0.0/8", "128.0.0.1", false},
		{"10.0.0.0/8,!10.9.0.0/16", "10.9.9.9", false},
		{"10.0.0.0/8,!10.9.0.0/16", "10.8.9.9", true},
		{"192.168.1.1,10.9.9.9", "10.9.9.9", true},
		{"::1", "::1", true},
		{"2001:db8::/32", "2001:db8::5", true},
		{"2001:db8::/32", "2001:db9::5", false},
		{"127.0.0.1", "::ffff:127.0.0.1", true}, // an IPv4 client on a dual-stack socket
		{"*.example.com", "10.9.9.9", false},    // no reverse DNS, as sshd's UseDNS no
		{"10.9.9.9 ", "10.9.9.9", false},        // sshd does not trim either
	} {
		l, err := parseFrom(c.list)
		if err != nil {
			t.Errorf("parseFrom(%q): %v", c.list, err)
			continue
		}
		if got := l.allows(netip.MustParseAddr(c.ip)); got != c.want {
			t.Errorf("from=%q allows %s = %v, want %v", c.list, c.ip, got, c.want)
		}
	}
}

// TestFromRefusesOtherAddresses is issue 11's item 8: a key restricted to
// another address must not let its annotator in from loopback, and one
// restricted to loopback must.
func TestFromRefusesOtherAddresses(t *testing.T) {
	e := newEnv(t, []string{"alice"}, 1, 2)
	carol, dave, erin, frank := newSigner(t), newSigner(t), newSigner(t), newSigner(t)
	f, _ := os.OpenFile(e.keyFile, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintln(f, `from="10.9.9.9" `+authorizedLine(carol, "carol"))
	fmt.Fprintln(f, `from="127.0.0.0/8,!10.0.0.0/8" `+authorizedLine(dave, "dave"))
	fmt.Fprintln(f, `expiry-time="20200101" `+authorizedLine(erin, "erin"))
	fmt.Fprintln(f, `restrict `+authorizedLine(frank, "frank"))
	f.Close()
	_, addr := e.start()
	if c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(carol), nil)); err == nil {
		c.Close()
		t.Error(`carol (from="10.9.9.9") got in from 127.0.0.1`)
	}
	if !strings.Contains(e.log.String(), "from=") {
		t.Errorf("the refusal should say why:\n%s", e.log)
	}
	if c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(erin), nil)); err == nil {
		c.Close()
		t.Error("erin's expired key got in")
	}
	tm := openTerminal(t, addr, dave, nil, 80, 24, nil)
	labelerID(t, e.st, "dave") // dave's session started
	tm.c.Close()

	// restrict disables the pty, and the workbench needs one.
	c, err := gossh.Dial("tcp", addr, clientConfig(gossh.PublicKeys(frank), nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, _ := c.NewSession()
	var out strings.Builder
	s.Stdout, s.Stderr = &out, &out
	s.RequestPty("xterm", 24, 80, nil)
	s.Shell()
	s.Wait()
	if !strings.Contains(out.String(), "no-pty") {
		t.Errorf("frank's restricted session said %q", out.String())
	}
}

// TestLongKeysLine is issue 11's item 10: a line over the limit is a bad
// line with its file and number, and the lines after it are read.
func TestLongKeysLine(t *testing.T) {
	a, b := newSigner(t), newSigner(t)
	text := authorizedLine(a, "alice") + "\n" + strings.Repeat("x", 2<<20) + "\n" + authorizedLine(b, "bob") + "\n" +
		strings.Repeat("y", 3<<20) // the last line, without a newline
	keys, bad, err := ParseKeys(strings.NewReader(text), "team.keys")
	if err != nil {
		t.Fatalf("ParseKeys stopped: %v", err)
	}
	if len(bad) != 2 || bad[0].Line != 2 || bad[1].Line != 4 || !strings.HasPrefix(bad[0].Error(), "team.keys:2: ") ||
		!strings.Contains(bad[0].Error(), "longer than") {
		t.Errorf("bad lines %v", bad)
	}
	for s, want := range map[gossh.Signer]string{a: "alice", b: "bob"} {
		if got, ok := keys.Lookup(s.PublicKey()); !ok || got != want {
			t.Errorf("lookup %q %v, want %q", got, ok, want)
		}
	}

	// serve starts, names the line, and lets bob in.
	e := newEnv(t, nil, 1, 1)
	os.WriteFile(e.keyFile, []byte(text), 0o600)
	srv, bad, err := New(Config{Store: e.st, AuthorizedKeys: e.keyFile, HostKey: filepath.Join(e.dir, "hk"), Log: e.log,
		NewModel: e.model})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(l)
	defer srv.Shutdown(context.Background())
	c, err := gossh.Dial("tcp", l.Addr().String(), clientConfig(gossh.PublicKeys(b), nil))
	if err != nil {
		t.Fatalf("bob, after the long line: %v", err)
	}
	c.Close()
	if len(bad) != 2 || !strings.Contains(e.log.String(), "authorized_keys:2: ") {
		t.Errorf("bad %v, log:\n%s", bad, e.log)
	}
}
