package store

// A port of the stemmer of SQLite FTS5's `porter` tokenizer (fts5_porter.c,
// itself the original Porter algorithm), so that the BM25 score of a
// (query, document) pair can be computed from the document's own text, the
// way FTS5 would, without asking FTS5 to rank every match in the corpus.
// It must agree with FTS5 token for token: TestPorterMatchesFTS5 compares it
// with the index's vocabulary on real text.

// porterMaxToken is FTS5_PORTER_MAX_TOKEN: longer tokens pass unstemmed.
const porterMaxToken = 64

// porterStem stems one lower-case ASCII token as FTS5's porter tokenizer
// does. Tokens shorter than 3 or longer than 64 bytes pass through.
func porterStem(tok string) string {
	if len(tok) > porterMaxToken || len(tok) < 3 {
		return tok
	}
	b := []byte(tok)

	// Step 1.
	b = porterStep1A(b)
	var fired bool
	if b, fired = porterStep1B(b); fired {
		var grown bool
		if b, grown = porterStep1B2(b); !grown {
			c := b[len(b)-1]
			if !porterIsVowel(c, false) && c != 'l' && c != 's' && c != 'z' && c == b[len(b)-2] {
				b = b[:len(b)-1]
			} else if porterMEq1(b) && porterOStar(b) {
				b = append(b, 'e')
			}
		}
	}

	// Step 1C.
	if b[len(b)-1] == 'y' && porterHasVowel(b[:len(b)-1]) {
		b[len(b)-1] = 'i'
	}

	// Steps 2 through 4.
	b = porterRules(b, porterStep2Rules)
	b = porterRules(b, porterStep3Rules)
	b = porterRules(b, porterStep4Rules)

	// Step 5a.
	if n := len(b); b[n-1] == 'e' {
		if porterMGt1(b[:n-1]) || (porterMEq1(b[:n-1]) && !porterOStar(b[:n-1])) {
			b = b[:n-1]
		}
	}

	// Step 5b.
	if n := len(b); n > 1 && b[n-1] == 'l' && b[n-2] == 'l' && porterMGt1(b[:n-1]) {
		b = b[:n-1]
	}
	return string(b)
}

func porterIsVowel(c byte, yIsVowel bool) bool {
	return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || (yIsVowel && c == 'y')
}

// porterGobbleVC returns the length of the first vowel-consonant sequence of
// stem (0 if there is none), as fts5PorterGobbleVC.
func porterGobbleVC(stem []byte, prevCons bool) int {
	cons := prevCons
	i := 0
	for ; i < len(stem); i++ {
		cons = !porterIsVowel(stem[i], cons)
		if !cons {
			break
		}
	}
	for i++; i < len(stem); i++ {
		cons = !porterIsVowel(stem[i], cons)
		if cons {
			return i + 1
		}
	}
	return 0
}

// porterMGt0 is the condition (m > 0).
func porterMGt0(stem []byte) bool { return porterGobbleVC(stem, false) != 0 }

// porterMGt1 is the condition (m > 1).
func porterMGt1(stem []byte) bool {
	n := porterGobbleVC(stem, false)
	return n != 0 && porterGobbleVC(stem[n:], true) != 0
}

// porterMEq1 is the condition (m = 1).
func porterMEq1(stem []byte) bool {
	n := porterGobbleVC(stem, false)
	return n != 0 && porterGobbleVC(stem[n:], true) == 0
}

// porterOStar is the condition (*o): the stem ends consonant-vowel-consonant
// and the last consonant is not w, x or y.
func porterOStar(stem []byte) bool {
	last := stem[len(stem)-1]
	if last == 'w' || last == 'x' || last == 'y' {
		return false
	}
	mask := 0
	cons := false
	for _, c := range stem {
		cons = !porterIsVowel(c, cons)
		bit := 0
		if cons {
			bit = 1
		}
		mask = ((mask << 1) + bit) & 7
	}
	return mask == 5
}

// porterMGt1SorT is the condition (m > 1 and (*S or *T)).
func porterMGt1SorT(stem []byte) bool {
	last := stem[len(stem)-1]
	return (last == 's' || last == 't') && porterMGt1(stem)
}

// porterHasVowel is the condition (*v*).
func porterHasVowel(stem []byte) bool {
	for i, c := range stem {
		if porterIsVowel(c, i > 0) {
			return true
		}
	}
	return false
}

func porterStep1A(b []byte) []byte {
	n := len(b)
	if b[n-1] != 's' {
		return b
	}
	if b[n-2] == 'e' {
		if (n > 4 && b[n-4] == 's' && b[n-3] == 's') || (n > 3 && b[n-3] == 'i') {
			return b[:n-2]
		}
		return b[:n-1]
	}
	if b[n-2] != 's' {
		return b[:n-1]
	}
	return b
}

// porterStep1B removes -eed/-ed/-ing; fired reports whether -ed or -ing
// went (which is when step 1B2 runs).
func porterStep1B(b []byte) ([]byte, bool) {
	n := len(b)
	switch b[n-2] {
	case 'e':
		if n > 3 && string(b[n-3:]) == "eed" {
			if porterMGt0(b[:n-3]) {
				return append(b[:n-3], "ee"...), false
			}
		} else if n > 2 && string(b[n-2:]) == "ed" {
			if porterHasVowel(b[:n-2]) {
				return b[:n-2], true
			}
		}
	case 'n':
		if n > 3 && string(b[n-3:]) == "ing" {
			if porterHasVowel(b[:n-3]) {
				return b[:n-3], true
			}
		}
	}
	return b, false
}

// porterStep1B2 restores an e after at/bl/iz; grown reports whether it did.
func porterStep1B2(b []byte) ([]byte, bool) {
	n := len(b)
	if n < 3 {
		// Every rule needs a longer word (FTS5 requires nBuf > 2).
		return b, false
	}
	switch string(b[n-2:]) {
	case "at":
		return append(b[:n-2], "ate"...), true
	case "bl":
		return append(b[:n-2], "ble"...), true
	case "iz":
		return append(b[:n-2], "ize"...), true
	}
	return b, false
}

// porterRule replaces suffix by output when the stem before it meets cond.
type porterRule struct {
	suffix, output string
	cond           func([]byte) bool
}

// porterRules applies the first rule whose suffix the word ends with, as the
// generated switch statements of fts5_porter.c do: rules are grouped by the
// suffix's second-to-last letter, tried in order, and only the first
// matching suffix is considered (its condition may then fail).
func porterRules(b []byte, rules map[byte][]porterRule) []byte {
	n := len(b)
	if n < 2 {
		return b
	}
	for _, r := range rules[b[n-2]] {
		k := len(r.suffix)
		if n > k && string(b[n-k:]) == r.suffix {
			if r.cond(b[:n-k]) {
				return append(b[:n-k], r.output...)
			}
			return b
		}
	}
	return b
}

var porterStep2Rules = map[byte][]porterRule{
	'a': {{"ational", "ate", porterMGt0}, {"tional", "tion", porterMGt0}},
	'c': {{"enci", "ence", porterMGt0}, {"anci", "ance", porterMGt0}},
	'e': {{"izer", "ize", porterMGt0}},
	'g': {{"logi", "log", porterMGt0}},
	'l': {{"bli", "ble", porterMGt0}, {"alli", "al", porterMGt0}, {"entli", "ent", porterMGt0},
		{"eli", "e", porterMGt0}, {"ousli", "ous", porterMGt0}},
	'o': {{"ization", "ize", porterMGt0}, {"ation", "ate", porterMGt0}, {"ator", "ate", porterMGt0}},
	's': {{"alism", "al", porterMGt0}, {"iveness", "ive", porterMGt0}, {"fulness", "ful", porterMGt0},
		{"ousness", "ous", porterMGt0}},
	't': {{"aliti", "al", porterMGt0}, {"iviti", "ive", porterMGt0}, {"biliti", "ble", porterMGt0}},
}

var porterStep3Rules = map[byte][]porterRule{
	'a': {{"ical", "ic", porterMGt0}},
	's': {{"ness", "", porterMGt0}},
	't': {{"icate", "ic", porterMGt0}, {"iciti", "ic", porterMGt0}},
	'u': {{"ful", "", porterMGt0}},
	'v': {{"ative", "", porterMGt0}},
	'z': {{"alize", "al", porterMGt0}},
}

var porterStep4Rules = map[byte][]porterRule{
	'a': {{"al", "", porterMGt1}},
	'c': {{"ance", "", porterMGt1}, {"ence", "", porterMGt1}},
	'e': {{"er", "", porterMGt1}},
	'i': {{"ic", "", porterMGt1}},
	'l': {{"able", "", porterMGt1}, {"ible", "", porterMGt1}},
	'n': {{"ant", "", porterMGt1}, {"ement", "", porterMGt1}, {"ment", "", porterMGt1}, {"ent", "", porterMGt1}},
	'o': {{"ion", "", porterMGt1SorT}, {"ou", "", porterMGt1}},
	's': {{"ism", "", porterMGt1}},
	't': {{"ate", "", porterMGt1}, {"iti", "", porterMGt1}},
	'u': {{"ous", "", porterMGt1}},
	'v': {{"ive", "", porterMGt1}},
	'z': {{"ize", "", porterMGt1}},
}
