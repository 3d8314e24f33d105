package llm

import (
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Untrusted text (document body, title, metadata, query) must not be able
// to end the document block or to speak in the chat template of the model
// that reads the prompt. neutralise finds, in a folded view of the text,
// every document tag and chat-template token, and escapes the brackets of
// what it found in the text itself. The folded view is the text as a reader
// or a tokenizer's normaliser may see it:
//   - NFKC compatibility forms folded (fullwidth ＜／ｄｏｃｕｍｅｎｔ＞, small
//     ﹤, mathematical 𝐝𝐨𝐜, no-break and other spaces);
//   - invisible characters dropped: format characters (zero-width space and
//     joiners, word joiner, soft hyphen, byte order mark, bidi embeddings,
//     overrides and isolates, tag characters), combining marks, variation
//     selectors and Hangul fillers;
//   - Cyrillic and Greek letters and bracket, bar and slash signs that look
//     like the ASCII ones folded to them (the tables below);
//   - lower case.

// The patterns, on the folded view (spaces collapsed, so " ?" is any run
// of spaces), are the document tag and the special tokens of the chat
// templates an OpenAI-compatible server may render the prompt into: ChatML
// (Qwen, Phi-4) <|im_start|>, Llama 3 <|eot_id|>, Phi-3 <|end|> <|user|>,
// GPT <|endoftext|>, DeepSeek <｜User｜>, gpt-oss <|channel|>, Command R
// <|START_OF_TURN_TOKEN|> (every <|...|>); Llama 2 and Mistral [INST]
// <<SYS>> [TOOL_CALLS]; SentencePiece <s> </s>; Gemma <start_of_turn>;
// reasoning and tool tags <think> <tool_call>:
//
//	< ?/? ?document
//	< ?|x|| ?>          x: 1 to 64 characters other than < > |
//	< ?/? ?WORD ?>      WORD in angleWords
//	<< ?/? ?sys ?>>
//	[ ?/? ?WORD ?]      WORD in bracketWords
var (
	angleWords   = []string{"s", "unk", "pad", "bos", "eos", "sep", "cls", "mask", "think", "tool_call", "tool_response", "start_of_turn", "end_of_turn", "start_of_image", "end_of_image"}
	bracketWords = []string{"inst", "sys", "system_prompt", "available_tools", "tool_calls", "tool_results", "tool_content", "img"}
)

// matchDelimiter returns the length of the pattern match at the start of
// the folded bytes b, or 0. more is set when b ended before the match could
// be decided and b does not hold the whole rest of the text.
func matchDelimiter(b []byte, whole bool) (n int, more bool) {
	p := 0
	at := func(c byte) bool { // consumes c
		if p < len(b) && b[p] == c {
			p++
			return true
		}
		if p >= len(b) && !whole {
			more = true
		}
		return false
	}
	space := func() { at(' ') }
	word := func(w string) bool {
		rest := b[p:]
		if len(rest) >= len(w) {
			if string(rest[:len(w)]) == w {
				p += len(w)
				return true
			}
			return false
		}
		if !whole && strings.HasPrefix(w, string(rest)) {
			more = true
		}
		return false
	}
	words := func(ws []string, closing byte) bool {
		q := p
		for _, w := range ws {
			p = q
			if word(w) {
				space()
				if at(closing) {
					return true
				}
			}
		}
		return false
	}
	switch {
	case at('<'):
		if at('<') { // << ?/? ?sys ?>>
			space()
			at('/')
			space()
			if word("sys") {
				space()
				if at('>') && at('>') {
					return p, false
				}
			}
			return 0, more
		}
		space()
		if at('|') {
			start := p
			for p < len(b) && p-start <= 64 && b[p] != '|' && b[p] != '<' && b[p] != '>' {
				p++
			}
			if p > start && p-start <= 64 && at('|') {
				space()
				if at('>') {
					return p, false
				}
			}
			return 0, more || p == len(b) && !whole
		}
		at('/')
		space()
		q := p
		if word("document") {
			return p, false
		}
		p = q
		if words(angleWords, '>') {
			return p, false
		}
	case at('['):
		space()
		at('/')
		space()
		if words(bracketWords, ']') {
			return p, false
		}
	}
	return 0, more
}

// lookalikes maps characters that are not NFKC-equivalent to an ASCII
// character of a delimiter or token but are drawn like one.
var lookalikes = map[rune]rune{
	// brackets, bars and slashes
	'‹': '<', '›': '>', '˂': '<', '˃': '>', 'ᐸ': '<', 'ᐳ': '>', '〈': '<', '〉': '>', '⟨': '<', '⟩': '>',
	'❮': '<', '❯': '>', '❬': '<', '❭': '>', '⦑': '<', '⦒': '>', '⧼': '<', '⧽': '>', '«': '<', '»': '>',
	'⟦': '[', '⟧': ']', '⁅': '[', '⁆': ']', '〚': '[', '〛': ']', '【': '[', '】': ']', '〔': '[', '〕': ']',
	'ǀ': '|', '∣': '|', '│': '|', '┃': '|', '❘': '|', '￨': '|', 'ا': '|', '।': '|',
	'⁄': '/', '∕': '/', '⧸': '/', '╱': '/', 'ノ': '/', '〳': '/',
	// Cyrillic
	'а': 'a', 'в': 'b', 'е': 'e', 'к': 'k', 'м': 'm', 'н': 'h', 'о': 'o', 'р': 'p', 'с': 'c', 'т': 't',
	'у': 'y', 'х': 'x', 'і': 'i', 'ј': 'j', 'ѕ': 's', 'ԁ': 'd', 'һ': 'h', 'ԛ': 'q', 'ԝ': 'w', 'ӏ': 'l',
	'А': 'a', 'В': 'b', 'Е': 'e', 'К': 'k', 'М': 'm', 'Н': 'h', 'О': 'o', 'Р': 'p', 'С': 'c', 'Т': 't',
	'У': 'y', 'Х': 'x', 'І': 'i', 'Ј': 'j', 'Ѕ': 's', 'Ԁ': 'd', 'Һ': 'h', 'Ԛ': 'q', 'Ԝ': 'w', 'Ӏ': 'l',
	// Greek
	'α': 'a', 'ε': 'e', 'ι': 'i', 'κ': 'k', 'ν': 'v', 'ο': 'o', 'ρ': 'p', 'τ': 't', 'υ': 'u', 'χ': 'x',
	'Α': 'a', 'Β': 'b', 'Ε': 'e', 'Ζ': 'z', 'Η': 'h', 'Ι': 'i', 'Κ': 'k', 'Μ': 'm', 'Ν': 'n', 'Ο': 'o',
	'Ρ': 'p', 'Τ': 't', 'Υ': 'y', 'Χ': 'x',
	// Latin letters that are not their ASCII look-alike
	'ı': 'i', 'ȷ': 'j', 'ɑ': 'a', 'ɡ': 'g', 'ʟ': 'l', 'ɴ': 'n', 'ᴅ': 'd', 'ᴄ': 'c', 'ᴏ': 'o', 'ᴜ': 'u',
	'ᴍ': 'm', 'ᴇ': 'e', 'ᴛ': 't', 'ꜱ': 's',
}

// invisible reports whether r is drawn as nothing (or only changes the
// character before it): dropped from the folded view.
func invisible(r rune) bool {
	switch r {
	case '\u115f', '\u1160', '\u3164', '\uffa0', '\u034f', '\u2800':
		return true
	}
	return unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me, unicode.Mc, unicode.Variation_Selector)
}

// folded is the folded view of a window of text: its bytes, and for each
// byte the end offset of the source character it comes from.
type folded struct {
	b   []byte
	end []int
}

func (f *folded) add(c byte, to int) {
	if isSpace(c) {
		if len(f.b) > 0 && f.b[len(f.b)-1] == ' ' {
			f.end[len(f.end)-1] = to // a run of spaces folds to one
			return
		}
		c = ' '
	}
	f.b = append(f.b, c)
	f.end = append(f.end, to)
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// foldRune returns the ASCII character r folds to, 0 when it is
// invisible, or utf8.RuneSelf when it folds to nothing a pattern holds. r
// is already NFKC-decomposed.
func foldRune(r rune) byte {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return byte(r)
	case invisible(r):
		return 0
	case unicode.IsSpace(r):
		return ' '
	}
	if a, ok := lookalikes[r]; ok {
		return byte(a)
	}
	return utf8.RuneSelf
}

// foldAt folds the character at s[i:], returning its folded bytes (a
// compatibility decomposition may give several) and its width.
func foldAt(s string, i int, out []byte) ([]byte, int) {
	r, w := utf8.DecodeRuneInString(s[i:])
	if r < utf8.RuneSelf {
		return append(out, foldRune(r)), w
	}
	if r < 1<<16 {
		t := bmpFolds()
		if c := t[r]; c != multi {
			if c != 0 {
				out = append(out, c)
			}
			return out, w
		}
	}
	return foldSlow(s[i:i+w], out), w
}

// foldSlow folds one non-ASCII character from the NFKC tables.
func foldSlow(ch string, out []byte) []byte {
	r, _ := utf8.DecodeRuneInString(ch)
	if d := norm.NFKC.PropertiesString(ch).Decomposition(); d != nil {
		for _, dr := range string(d) {
			if c := foldRune(dr); c != 0 {
				out = append(out, c)
			}
		}
		return out
	}
	if c := foldRune(r); c != 0 {
		out = append(out, c)
	}
	return out
}

// multi marks, in bmpFolds, a character that folds to several bytes.
const multi = 0xFF

// bmpFolds is the fold of every character of the Basic Multilingual Plane
// to one byte (0: invisible; utf8.RuneSelf: nothing a pattern holds; multi:
// several, see foldSlow), computed once: the folds of a window are table
// look-ups.
var bmpFolds = sync.OnceValue(func() *[1 << 16]byte {
	t := new([1 << 16]byte)
	var buf [utf8.UTFMax]byte
	for r := rune(0); r < 1<<16; r++ {
		if r >= 0xD800 && r <= 0xDFFF {
			t[r] = utf8.RuneSelf
			continue
		}
		n := utf8.EncodeRune(buf[:], r)
		switch cs := foldSlow(string(buf[:n]), nil); len(cs) {
		case 0:
		case 1:
			t[r] = cs[0]
		default:
			t[r] = multi
		}
	}
	return t
})

// window folds s from i until the view holds n bytes or s ends.
func (f *folded) window(s string, i, n int) {
	f.b, f.end = f.b[:0], f.end[:0]
	var buf [16]byte
	for i < len(s) && len(f.b) < n {
		cs, w := foldAt(s, i, buf[:0])
		i += w
		for _, c := range cs {
			f.add(c, i)
		}
	}
}

// maxPattern bounds the length of a match in the folded view, where spaces
// are collapsed: the longest is a <|...|> token of 64 characters.
const maxPattern = 80

// opens reports whether the character at s[i:] folds to '<' or '[', with
// which every pattern starts.
func opens(s string, i int) bool {
	c := s[i]
	if c < utf8.RuneSelf {
		return c == '<' || c == '['
	}
	if c < 0xC0 {
		return false // inside a character
	}
	var buf [16]byte
	cs, _ := foldAt(s, i, buf[:0])
	return len(cs) > 0 && (cs[0] == '<' || cs[0] == '[')
}

// neutralise makes document-tag and chat-template-token look-alikes inside
// untrusted text inert: in each one found, every character that folds to
// < > [ or ] is written as an HTML reference (&lt; &gt; &#91; &#93;) and
// invisible characters are dropped; the rest of the text is unchanged.
func neutralise(s string) string {
	var b strings.Builder
	var f folded
	last, changed := 0, false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < utf8.RuneSelf && c != '<' && c != '[' || !opens(s, i) {
			continue
		}
		// Most openers are decided by a few characters: fold a short window
		// first, the longest pattern's only when that was too short.
		const short = 8
		f.window(s, i, short)
		n, more := matchDelimiter(f.b, len(f.b) < short)
		if more {
			f.window(s, i, maxPattern)
			n, _ = matchDelimiter(f.b, true)
		}
		if n == 0 {
			continue
		}
		to := f.end[n-1]
		if !changed {
			b.Grow(len(s) + 32)
			changed = true
		}
		b.WriteString(s[last:i])
		writeInert(&b, s[i:to])
		last, i = to, to-1
	}
	if !changed {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// writeInert writes span with its brackets escaped and its invisible
// characters dropped.
func writeInert(b *strings.Builder, span string) {
	var buf [16]byte
	for i := 0; i < len(span); {
		cs, w := foldAt(span, i, buf[:0])
		switch {
		case len(cs) == 0: // invisible
		case cs[0] == '<':
			b.WriteString("&lt;")
		case cs[0] == '>':
			b.WriteString("&gt;")
		case cs[0] == '[':
			b.WriteString("&#91;")
		case cs[0] == ']':
			b.WriteString("&#93;")
		default:
			b.WriteString(span[i : i+w])
		}
		i += w
	}
}
