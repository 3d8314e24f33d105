package sshserve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// Keys maps public keys to annotator names.
//
// The file is an OpenSSH authorized_keys file, one key a line, in which each
// key's comment names its annotator:
//
//	ssh-ed25519 AAAAC3Nza... alice
//	ssh-ed25519 AAAAC3Nza... bob@laptop      (the name is "bob": the comment up to '@')
//	from="10.1.0.0/16" ssh-ed25519 AAAAC3Nza... carol
//
// or, when the comments are not names, a mapping with the name first:
//
//	alice ssh-ed25519 AAAAC3Nza... anything
//	dave from="10.1.2.3" ssh-ed25519 AAAAC3Nza... anything
//
// Blank lines and lines starting with # are ignored. A name may have several
// keys (several machines); a key has one name, and may be on several lines
// (with different options: any line that lets the client in does). Names are
// letters, digits, '.', '_' and '-'; "gold" is reserved for adjudicated
// grades. A line longer than MaxLineLen is a bad line.
//
// Options (sshd(8), AUTHORIZED_KEYS FILE FORMAT) are honoured or the line is
// refused, never ignored:
//   - from="pattern-list" is honoured (see fromList);
//   - expiry-time="YYYYMMDD[HHMM[SS]][Z]" is honoured: the key is refused
//     after it (local time unless Z);
//   - no-pty, and restrict without pty, are honoured: the key cannot open the
//     workbench, which needs a terminal; pty lifts restrict's no-pty;
//   - no-port-forwarding, no-agent-forwarding, no-X11-forwarding,
//     no-user-rc and the rest of restrict are what the server does anyway
//     (it forwards nothing and runs no rc), and no-touch-required asks for
//     nothing the server checks: accepted;
//   - every other option (command=, environment=, permitopen=,
//     permitlisten=, tunnel=, principals=, cert-authority, port-forwarding,
//     agent-forwarding, X11-forwarding, user-rc, verify-required, and any
//     unknown one) asks for something the server cannot do: the line is
//     refused, with its number.
type Keys struct {
	byKey map[string][]keyEntry // key wire bytes → its lines
	names map[string]bool
}

// keyEntry is one line of the file.
type keyEntry struct {
	name     string
	line     int
	from     fromList // nil: any address
	fromText string
	noPty    bool
	expiry   time.Time // zero: none
}

// MaxLineLen is the longest line a keys file may have.
const MaxLineLen = 1 << 20

// LineError is a line of a keys file that was not taken; the other lines
// still are.
type LineError struct {
	Path string
	Line int
	Err  error
}

func (e LineError) Error() string { return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err) }

// Len is the number of keys.
func (k *Keys) Len() int { return len(k.byKey) }

// Names are the annotators, sorted.
func (k *Keys) Names() []string {
	var out []string
	for n := range k.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the annotator of a key, whatever its options say.
func (k *Keys) Lookup(pk gossh.PublicKey) (string, bool) {
	ents := k.entries(pk)
	if len(ents) == 0 {
		return "", false
	}
	return ents[0].name, true
}

func (k *Keys) entries(pk gossh.PublicKey) []keyEntry {
	if k == nil || pk == nil {
		return nil
	}
	return k.byKey[string(pk.Marshal())]
}

// authorize returns the line that lets pk in from ip at now, or why none
// does.
func (k *Keys) authorize(pk gossh.PublicKey, ip netip.Addr, now time.Time) (keyEntry, error) {
	ents := k.entries(pk)
	if len(ents) == 0 {
		return keyEntry{}, errors.New("unknown key")
	}
	var why []string
	for _, e := range ents {
		switch {
		case e.from != nil && !e.from.allows(ip):
			why = append(why, fmt.Sprintf("line %d: from=%q does not match %s", e.line, e.fromText, ip))
		case !e.expiry.IsZero() && !now.Before(e.expiry):
			why = append(why, fmt.Sprintf("line %d: expired %s", e.line, e.expiry.Format(time.RFC3339)))
		default:
			return e, nil
		}
	}
	return keyEntry{}, fmt.Errorf("%s's key: %s", ents[0].name, strings.Join(why, "; "))
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ValidName reports why an annotator name cannot be used, or nil.
func ValidName(name string) error {
	if !nameRE.MatchString(name) || len(name) > 64 {
		return fmt.Errorf("annotator name %q: use letters, digits, '.', '_' and '-' (at most 64)", name)
	}
	if strings.EqualFold(name, "gold") {
		return fmt.Errorf("annotator name %q is reserved for adjudicated grades", name)
	}
	return nil
}

// isKeyType reports whether s names an SSH public key algorithm.
func isKeyType(s string) bool {
	switch strings.TrimSuffix(s, "-cert-v01@openssh.com") {
	case gossh.KeyAlgoED25519, gossh.KeyAlgoRSA, gossh.KeyAlgoDSA, gossh.KeyAlgoECDSA256, gossh.KeyAlgoECDSA384,
		gossh.KeyAlgoECDSA521, gossh.KeyAlgoSKED25519, gossh.KeyAlgoSKECDSA256:
		return true
	}
	return false
}

// ParseKeys reads a keys file (see Keys). Lines it cannot take are returned
// as LineErrors with their line numbers; every other line is kept.
func ParseKeys(r io.Reader, path string) (*Keys, []LineError, error) {
	k := &Keys{byKey: map[string][]keyEntry{}, names: map[string]bool{}}
	var bad []LineError
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, tooLong, err := readLine(br, MaxLineLen)
		if err != nil && err != io.EOF {
			return k, bad, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		if err == io.EOF && line == nil && !tooLong {
			break
		}
		if tooLong {
			bad = append(bad, LineError{Path: path, Line: n, Err: fmt.Errorf("line is longer than %d bytes: not a key", MaxLineLen)})
		} else if e := k.add(bytes.TrimSpace(line), n); e != nil {
			bad = append(bad, LineError{Path: path, Line: n, Err: e})
		}
		if err == io.EOF {
			break
		}
	}
	return k, bad, nil
}

// readLine reads one line (without its newline) of at most limit bytes; a
// longer one is read to its end and dropped, with tooLong set. At the end of
// the input it returns io.EOF with the last line, if any (nil if none).
func readLine(br *bufio.Reader, limit int) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if !tooLong {
			if len(line)+len(chunk) > limit+1 { // +1: the newline
				tooLong, line = true, nil
			} else {
				line = append(line, chunk...)
			}
		}
		switch {
		case err == bufio.ErrBufferFull:
			continue
		case err == io.EOF && len(line) == 0 && !tooLong:
			return nil, false, io.EOF
		case err != nil && err != io.EOF:
			return nil, tooLong, err
		}
		return bytes.TrimSuffix(line, []byte("\n")), tooLong, err
	}
}

// add takes one line of the file, or says why not.
func (k *Keys) add(line []byte, n int) error {
	if len(line) == 0 || line[0] == '#' {
		return nil
	}
	name, pk, opts, err := parseKeyLine(line)
	if err != nil {
		return err
	}
	if err := ValidName(name); err != nil {
		return err
	}
	e := keyEntry{name: name, line: n}
	if err := e.applyOptions(opts); err != nil {
		return err
	}
	id := string(pk.Marshal())
	if prev := k.byKey[id]; len(prev) > 0 && prev[0].name != name {
		return fmt.Errorf("this key is already %s's (line %d): a key names one annotator", prev[0].name, prev[0].line)
	}
	k.byKey[id] = append(k.byKey[id], e)
	k.names[name] = true
	return nil
}

// applyOptions honours the line's options or refuses the line (see Keys).
func (e *keyEntry) applyOptions(opts []string) error {
	restrict, pty := false, false
	for _, o := range opts {
		name, value, hasValue := strings.Cut(o, "=")
		if hasValue {
			v, err := strconv.Unquote(value)
			if err != nil || !strings.HasPrefix(value, `"`) {
				return fmt.Errorf("option %s: the value must be in double quotes", o)
			}
			value = v
		}
		switch lname := strings.ToLower(name); {
		case lname == "from" && hasValue:
			if e.from != nil {
				return errors.New("two from= options on one line: put the patterns in one list")
			}
			l, err := parseFrom(value)
			if err != nil {
				return err
			}
			e.from, e.fromText = l, value
		case lname == "expiry-time" && hasValue:
			t, err := parseExpiry(value)
			if err != nil {
				return err
			}
			if e.expiry.IsZero() || t.Before(e.expiry) {
				e.expiry = t
			}
		case !hasValue && lname == "restrict":
			restrict = true
		case !hasValue && lname == "pty":
			pty = true
		case !hasValue && lname == "no-pty":
			e.noPty = true
		case !hasValue && (lname == "no-port-forwarding" || lname == "no-agent-forwarding" || lname == "no-x11-forwarding" ||
			lname == "no-user-rc" || lname == "no-touch-required"):
			// what the server does anyway
		case knownOption[lname]:
			return fmt.Errorf("option %s cannot be honoured: this server only runs the workbench (it runs no command, sets no environment, forwards nothing, takes no certificates, checks no FIDO verification); remove it from the line", name)
		default:
			return fmt.Errorf("unknown option %q: sshd(8) would refuse the line too", name)
		}
	}
	if restrict && !pty {
		e.noPty = true
	}
	return nil
}

// knownOption are the sshd(8) options this server cannot honour.
var knownOption = map[string]bool{
	"command": true, "environment": true, "permitopen": true, "permitlisten": true, "tunnel": true,
	"principals": true, "cert-authority": true, "port-forwarding": true, "agent-forwarding": true,
	"x11-forwarding": true, "user-rc": true, "verify-required": true,
}

// parseExpiry reads sshd's YYYYMMDD[HHMM[SS]][Z] (local time unless Z).
func parseExpiry(v string) (time.Time, error) {
	loc := time.Local
	s := v
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		loc, s = time.UTC, s[:len(s)-1]
	}
	layout := map[int]string{8: "20060102", 12: "200601021504", 14: "20060102150405"}[len(s)]
	if layout == "" {
		return time.Time{}, fmt.Errorf("expiry-time=%q: want YYYYMMDD[HHMM[SS]][Z]", v)
	}
	t, err := time.ParseInLocation(layout, s, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("expiry-time=%q: want YYYYMMDD[HHMM[SS]][Z]", v)
	}
	return t, nil
}

// isOptionList reports whether s reads as authorized_keys options rather
// than an annotator name: it has a value (=) or quotes, or every comma-
// separated item is an option keyword.
func isOptionList(s string) bool {
	if strings.ContainsAny(s, "=\"") {
		return true
	}
	for _, o := range strings.Split(strings.ToLower(s), ",") {
		switch o {
		case "restrict", "pty", "no-pty", "no-port-forwarding", "no-agent-forwarding", "no-x11-forwarding",
			"no-user-rc", "no-touch-required", "cert-authority", "port-forwarding", "agent-forwarding",
			"x11-forwarding", "user-rc", "verify-required":
		default:
			return false
		}
	}
	return true
}

func parseKeyLine(line []byte) (string, gossh.PublicKey, []string, error) {
	fields := strings.Fields(string(line))
	// "NAME [OPTIONS] TYPE KEY [comment]"
	if len(fields) >= 3 && !isKeyType(fields[0]) && !isOptionList(fields[0]) {
		rest := strings.TrimSpace(strings.TrimPrefix(string(line), fields[0]))
		pk, _, opts, _, err := gossh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return "", nil, nil, fmt.Errorf("not a public key after the name %q: %v", fields[0], err)
		}
		return fields[0], pk, opts, nil
	}
	pk, comment, opts, _, err := gossh.ParseAuthorizedKey(line)
	if err != nil {
		return "", nil, nil, fmt.Errorf("not an authorized_keys line or NAME KEY: %v", err)
	}
	name := strings.Fields(comment + " ")
	if len(name) == 0 {
		return "", nil, nil, errors.New("the key has no comment to name its annotator: add one (… alice) or write NAME KEY")
	}
	nm, _, _ := strings.Cut(name[0], "@")
	return nm, pk, opts, nil
}

// LoadKeys reads a keys file.
func LoadKeys(path string) (*Keys, []LineError, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return ParseKeys(f, path)
}
