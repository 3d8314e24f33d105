// Package words writes numbers the way people read them on a screen or in
// a message: "1 pair", "2,123 pairs", "1 query", "3 queries". Every count
// shown to a person goes through Count, so no screen says "1 pairs".
package words

import (
	"strconv"
	"strings"
)

// Count is n followed by the noun, singular for exactly one and plural
// otherwise, with thousands separated: Count(2123, "pair") = "2,123 pairs".
func Count(n int, noun string) string {
	return Int(n) + " " + Noun(n, noun)
}

// Noun is the noun in the form that goes with n: "pair" for 1, "pairs"
// otherwise (English rules for -y, -s, -x, -ch, -sh, on the last word:
// "human grade" → "human grades").
func Noun(n int, noun string) string {
	if n == 1 || n == -1 || noun == "" {
		return noun
	}
	switch {
	case strings.HasSuffix(noun, "y") && len(noun) > 1 && !strings.ContainsRune("aeiou", rune(noun[len(noun)-2])):
		return noun[:len(noun)-1] + "ies"
	case strings.HasSuffix(noun, "s"), strings.HasSuffix(noun, "x"), strings.HasSuffix(noun, "ch"), strings.HasSuffix(noun, "sh"):
		return noun + "es"
	}
	return noun + "s"
}

// Int writes n with commas between thousands: 1054 → "1,054".
func Int(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	if len(s) <= 3 {
		if neg {
			return "-" + s
		}
		return s
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	head := len(s) % 3
	if head > 0 {
		b.WriteString(s[:head])
	}
	for i := head; i < len(s); i += 3 {
		if b.Len() > 0 && !(neg && b.Len() == 1) {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}
