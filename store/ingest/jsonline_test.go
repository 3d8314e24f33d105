package ingest

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// standardDecode is what decodeLine must agree with.
func standardDecode(line []byte) (map[string]any, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil || dec.More() || obj == nil {
		return nil, false
	}
	return obj, true
}

var jsonLineSeeds = []string{
	`{"query_id":"q1","query_text":"how is honey made","doc_id":"d1","doc_text":"bees make honey","human_grade":3}`,
	`  {"id": 42, "text": "x", "score": -0.5e+3, "ok": true, "no": false, "nothing": null}  `,
	`{"id":"a","text":"caf\u00e9 \ud83d\ude00 \"quoted\" back\\slash \/ tab\t","meta":{"deep":{"k":[1,2,{"z":"}"}]}},"tags":["a","b"]}`,
	`{}`, `{"a":{}}`, `{"a":[]}`, `{"a":"]"}`, `{"a":"{"}`,
	// not accepted
	``, `{`, `}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,}`, `{"a":1}{"b":2}`, `{"a":1} x`, `[1,2]`, `null`, `"s"`, `3`,
	`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1e}`, `{"a":+1}`, `{"a":tru}`, `{"a":nulll}`, `{"a":"\x"}`,
	"{\"a\":\"tab\there\"}", `{"a":"\ud800"}`, `{"a":[1,2}`, `{"a":{"b":1]}`, `{'a':1}`, `{"a":1 "b":2}`, `{"a":"unterminated}`,
	`{"a":"x\`, `{"a":NaN}`, `{"a":Infinity}`, `{"a" : 1 , "a" : 2}`,
}

func TestDecodeLineAgreesWithEncodingJSON(t *testing.T) {
	for _, s := range jsonLineSeeds {
		checkDecodeLine(t, []byte(s))
	}
}

func FuzzDecodeLine(f *testing.F) {
	for _, s := range jsonLineSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(checkDecodeLine)
}

func checkDecodeLine(t *testing.T, line []byte) {
	got, ok := decodeLine(line)
	want, wantOK := standardDecode(line)
	if ok && !wantOK {
		t.Fatalf("decodeLine accepts %q, which encoding/json refuses", line)
	}
	if ok && !reflect.DeepEqual(got, want) {
		t.Fatalf("decodeLine(%q) = %#v, encoding/json %#v", line, got, want)
	}
	// Refusing is always safe (the caller falls back), but a flat object of
	// strings and numbers must take the fast path.
	if !ok && wantOK && json.Valid(line) && utf8.Valid(line) && flat(want) && bytes.IndexByte(line, 0x5c) < 0 {
		t.Fatalf("decodeLine refuses the plain object %q", line)
	}
}

func flat(m map[string]any) bool {
	for _, v := range m {
		switch v.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}
