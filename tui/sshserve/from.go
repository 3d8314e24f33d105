package sshserve

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// fromList is the pattern-list of an authorized_keys from= option, matched
// as sshd(8) does with UseDNS no (its default): against the client's IP
// address only. Entries are separated by commas; each is an address or
// address/masklen (CIDR), or a pattern in which * matches any run of
// characters and ? one character; a leading ! negates. The client is let in
// when some entry matches and no negated entry does.
type fromList []fromEntry

type fromEntry struct {
	neg     bool
	prefix  netip.Prefix // valid for an address or CIDR entry
	pattern string       // otherwise: a wildcard pattern over the address text
}

// parseFrom parses a from= value (its quotes already removed).
func parseFrom(v string) (fromList, error) {
	if v == "" {
		return nil, errors.New(`from="": the list is empty`)
	}
	var l fromList
	for _, item := range strings.Split(v, ",") {
		e := fromEntry{}
		if strings.HasPrefix(item, "!") {
			e.neg, item = true, item[1:]
		}
		switch {
		case item == "":
			return nil, fmt.Errorf("from=%q: an empty entry", v)
		case strings.Contains(item, "/"):
			p, err := netip.ParsePrefix(item)
			if err != nil {
				return nil, fmt.Errorf("from=%q: %q is not an address/masklen", v, item)
			}
			if p.Masked() != p {
				return nil, fmt.Errorf("from=%q: %q has host bits set beyond /%d (did you mean %s?)", v, item, p.Bits(), p.Masked())
			}
			e.prefix = p
		default:
			if a, err := netip.ParseAddr(item); err == nil {
				e.prefix = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
			} else {
				e.pattern = strings.ToLower(item)
			}
		}
		l = append(l, e)
	}
	return l, nil
}

// allows reports whether a client at ip may use the key.
func (l fromList) allows(ip netip.Addr) bool {
	ip = ip.Unmap()
	text := ip.String()
	matched := false
	for _, e := range l {
		var m bool
		if e.prefix.IsValid() {
			m = e.prefix.Contains(ip)
		} else {
			m = wildcard(e.pattern, text)
		}
		if m && e.neg {
			return false
		}
		matched = matched || m
	}
	return matched
}

// wildcard matches s against a pattern of * (any run) and ? (one
// character), as OpenSSH's match_pattern.
func wildcard(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if wildcard(p, s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			p, s = p[1:], s[1:]
		default:
			if s == "" || p[0] != s[0] {
				return false
			}
			p, s = p[1:], s[1:]
		}
	}
	return s == ""
}
