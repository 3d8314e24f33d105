package sshserve

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strings"

	gossh "golang.org/x/crypto/ssh"
)

// Keys maps public keys to annotator names.
//
// The file is an OpenSSH authorized_keys file, one key a line, in which each
// key's comment names its annotator:
//
//	ssh-ed25519 AAAAC3Nza... alice
//	ssh-ed25519 AAAAC3Nza... bob@laptop      (the name is "bob": the comment up to '@')
//
// or, when the comments are not names, a mapping with the name first:
//
//	alice ssh-ed25519 AAAAC3Nza... anything
//
// Blank lines and lines starting with # are ignored. A name may have several
// keys (several machines); a key has one name. Names are letters, digits,
// '.', '_' and '-'; "gold" is reserved for adjudicated grades.
type Keys struct {
	byKey map[string]string // key wire bytes → name
	names map[string]bool
}

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

// Lookup returns the annotator of a key.
func (k *Keys) Lookup(pk gossh.PublicKey) (string, bool) {
	if k == nil || pk == nil {
		return "", false
	}
	name, ok := k.byKey[string(pk.Marshal())]
	return name, ok
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
	k := &Keys{byKey: map[string]string{}, names: map[string]bool{}}
	firstLine := map[string]int{}
	var bad []LineError
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		name, pk, err := parseKeyLine(line)
		if err == nil {
			err = ValidName(name)
		}
		if err == nil {
			if prev, dup := k.byKey[string(pk.Marshal())]; dup && prev != name {
				err = fmt.Errorf("this key is already %s's (line %d): a key names one annotator", prev, firstLine[string(pk.Marshal())])
			}
		}
		if err != nil {
			bad = append(bad, LineError{Path: path, Line: n, Err: err})
			continue
		}
		if _, dup := k.byKey[string(pk.Marshal())]; !dup {
			firstLine[string(pk.Marshal())] = n
		}
		k.byKey[string(pk.Marshal())] = name
		k.names[name] = true
	}
	return k, bad, sc.Err()
}

func parseKeyLine(line []byte) (string, gossh.PublicKey, error) {
	fields := strings.Fields(string(line))
	// "NAME TYPE KEY [comment]"
	if len(fields) >= 3 && !isKeyType(fields[0]) && isKeyType(fields[1]) && !strings.ContainsAny(fields[0], "=\"") {
		rest := strings.TrimSpace(strings.TrimPrefix(string(line), fields[0]))
		pk, _, _, _, err := gossh.ParseAuthorizedKey([]byte(rest))
		if err != nil {
			return "", nil, fmt.Errorf("not a public key after the name %q: %v", fields[0], err)
		}
		return fields[0], pk, nil
	}
	pk, comment, _, _, err := gossh.ParseAuthorizedKey(line)
	if err != nil {
		return "", nil, fmt.Errorf("not an authorized_keys line or NAME KEY: %v", err)
	}
	name := strings.Fields(comment + " ")
	if len(name) == 0 {
		return "", nil, errors.New("the key has no comment to name its annotator: add one (… alice) or write NAME KEY")
	}
	nm, _, _ := strings.Cut(name[0], "@")
	return nm, pk, nil
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
