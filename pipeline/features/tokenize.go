package features

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Tokenization used by every feature: text is lowercased (unicode.ToLower)
// and split on every rune that is not a letter or a digit (unicode classes),
// so "Bounty-Hunter's" gives "bounty", "hunter", "s". Tokens are compared by
// a 64-bit FNV-1a hash of their lowercased UTF-8 bytes, which lets Extract
// work without allocating strings.

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// hashBytes is FNV-1a over b.
func hashBytes(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// isWordRune reports whether r belongs to a token.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// nextToken finds the next token of s at or after byte offset i. It appends
// the lowercased token bytes to buf[:0] and returns them, the offset just
// past the token, and ok=false when there is no further token.
func nextToken(s string, i int, buf []byte) (tok []byte, next int, ok bool) {
	n := len(s)
	// skip separators
	for i < n {
		c := s[i]
		if c < utf8.RuneSelf {
			if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			break
		}
		i += size
	}
	if i >= n {
		return buf[:0], n, false
	}
	buf = buf[:0]
	for i < n {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
				buf = append(buf, c)
			case 'A' <= c && c <= 'Z':
				buf = append(buf, c+('a'-'A'))
			default:
				return buf, i, true
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !(unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return buf, i, true
		}
		buf = utf8.AppendRune(buf, unicode.ToLower(r))
		i += size
	}
	return buf, n, true
}

// Tokenize appends the lowercased tokens of s to dst (stopwords included)
// and returns it. It is the tokenization every feature uses, exported so that
// callers (a BM25 index, tests) can agree with it.
func Tokenize(s string, dst []string) []string {
	var buf []byte
	i := 0
	for {
		tok, next, ok := nextToken(s, i, buf)
		if !ok {
			return dst
		}
		dst = append(dst, string(tok))
		buf, i = tok, next
	}
}

// stopwordList is a small English stopword list: function words that carry
// no topical signal in a query ("how does a bounty hunter make money").
var stopwordList = strings.Fields(`a about above after again against all am an and any are as at
be because been before being below between both but by can could did do does doing
down during each few for from further had has have having he her here hers herself him
himself his how i if in into is it its itself just me more most my myself no nor not of
off on once only or other our ours ourselves out over own same she should so some such
than that the their theirs them themselves then there these they this those through to
too under until up very was we were what when where which while who whom why will with
would you your yours yourself yourselves s t`)

var stopwords = func() map[uint64]struct{} {
	m := make(map[uint64]struct{}, len(stopwordList))
	for _, w := range stopwordList {
		m[hashBytes([]byte(w))] = struct{}{}
	}
	return m
}()

// IsStopword reports whether the lowercased token w is on the stopword list.
func IsStopword(w string) bool {
	_, ok := stopwords[hashBytes([]byte(w))]
	return ok
}

func isStopHash(h uint64) bool {
	_, ok := stopwords[h]
	return ok
}

// stem applies a light, deliberately conservative suffix stripping to a
// lowercased token (in place, returning the shortened slice): "ies" -> "y",
// then one of "ing", "ed", "es", "s" (not "ss"), then a final "e", keeping at
// least three bytes. Both sides of a comparison go through it, so "hunters",
// "hunter"; "houses", "house"; "making", "make" meet. Digits are left alone.
func stem(b []byte) []byte {
	n := len(b)
	if n <= 3 || (b[n-1] >= '0' && b[n-1] <= '9') {
		return b
	}
	switch {
	case n > 4 && hasSuffix(b, "ies"):
		b = append(b[:n-3], 'y')
		return b
	case n > 5 && hasSuffix(b, "ing"):
		b = b[:n-3]
	case n > 4 && hasSuffix(b, "ed"):
		b = b[:n-2]
	case n > 4 && hasSuffix(b, "es"):
		b = b[:n-2]
	case hasSuffix(b, "s") && !hasSuffix(b, "ss") && !hasSuffix(b, "us") && !hasSuffix(b, "is"):
		b = b[:n-1]
	}
	if n := len(b); n > 3 && b[n-1] == 'e' {
		b = b[:n-1]
	}
	return b
}

func hasSuffix(b []byte, suf string) bool {
	return len(b) >= len(suf) && string(b[len(b)-len(suf):]) == suf
}

// Stem returns the light stem of a lowercased token (see the package
// documentation of the coverage features).
func Stem(w string) string { return string(stem([]byte(w))) }

func isDigits(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
