package evalruns

import (
	"bytes"
	"encoding/json"
	"slices"

	"github.com/qrelbench/qrelbench/benchmark/syseval"
)

// object writes a JSON object with its keys in the order given (the
// measures in display order, as the shape lists them).
type object struct {
	b   bytes.Buffer
	err error
}

func (o *object) put(key string, v any) {
	if o.err != nil {
		return
	}
	if o.b.Len() == 0 {
		o.b.WriteByte('{')
	} else {
		o.b.WriteByte(',')
	}
	k, _ := json.Marshal(key)
	o.b.Write(k)
	o.b.WriteByte(':')
	val, err := json.Marshal(v)
	if err != nil {
		o.err = err
		return
	}
	o.b.Write(val)
}

func (o *object) done() (json.RawMessage, error) {
	if o.b.Len() == 0 {
		o.b.WriteByte('{')
	}
	o.b.WriteByte('}')
	return json.RawMessage(o.b.Bytes()), o.err
}

// interval is an estimate and its interval in JSON.
type interval struct {
	Estimate *float64    `json:"estimate"`
	CI       [2]*float64 `json:"ci"`
}

func jsonInterval(i syseval.Interval) interval {
	return interval{finite(i.Estimate), [2]*float64{finite(i.CI[0]), finite(i.CI[1])}}
}

// JSON is the report as `eval runs --json` prints it:
//
//	{"qrels": NAME, "threshold": N, "systems": [{"system": NAME, "queries": N,
//	  "ndcg_cut_10": x, "P_10": x, "map": x, "recall_100": x, "recip_rank": x,
//	  "unjudged_at_10": x, ["ppi": {...}]}, …],
//	 ["per_query": {SYSTEM: {QID: {measure: x}}},] ["compare": […],] …}
func (r Report) JSON(perQuery bool) (json.RawMessage, error) {
	var top object
	top.put("qrels", r.Qrels)
	top.put("threshold", r.Threshold)
	top.put("measure", r.Measure)
	systems := make([]json.RawMessage, 0, len(r.Systems))
	for _, s := range r.Systems {
		var o object
		o.put("system", s.System)
		o.put("queries", s.Queries)
		for _, m := range r.Measures {
			o.put(m, s.Mean[m])
		}
		if r.CorrectWith != "" {
			if s.PPI != nil {
				var p object
				in := jsonInterval(s.PPI.Interval)
				p.put("estimate", in.Estimate)
				p.put("ci", in.CI)
				p.put("human_only", jsonInterval(s.PPI.HumanOnly))
				p.put("n", s.PPI.Humans())
				p.put("N", s.PPI.N)
				raw, err := p.done()
				if err != nil {
					return nil, err
				}
				o.put("ppi", raw)
			} else {
				o.put("ppi", nil)
				o.put("ppi_error", s.PPIErr)
			}
		}
		raw, err := o.done()
		if err != nil {
			return nil, err
		}
		systems = append(systems, raw)
	}
	top.put("systems", systems)
	if perQuery {
		var pq object
		for _, s := range r.Systems {
			var qs object
			qids := make([]string, 0, len(s.PerQuery))
			for q := range s.PerQuery {
				qids = append(qids, q)
			}
			slices.Sort(qids)
			for _, q := range qids {
				var ms object
				for _, m := range r.Measures {
					ms.put(m, s.PerQuery[q][m])
				}
				raw, err := ms.done()
				if err != nil {
					return nil, err
				}
				qs.put(q, raw)
			}
			raw, err := qs.done()
			if err != nil {
				return nil, err
			}
			pq.put(s.System, raw)
		}
		raw, err := pq.done()
		if err != nil {
			return nil, err
		}
		top.put("per_query", raw)
	}
	if r.Pairs != nil {
		type pairJSON struct {
			A            string      `json:"a"`
			B            string      `json:"b"`
			Measure      string      `json:"measure"`
			Queries      int         `json:"queries"`
			MeanDiff     *float64    `json:"mean_diff"`
			CI           [2]*float64 `json:"ci"`
			TTestP       *float64    `json:"t_test_p"`
			RandP        *float64    `json:"randomisation_p"`
			Permutations int         `json:"permutations"`
			Exact        bool        `json:"exact"`
		}
		pairs := make([]pairJSON, len(r.Pairs))
		for i, p := range r.Pairs {
			pairs[i] = pairJSON{p.A, p.B, p.Measure, p.Queries, finite(p.MeanDiff), [2]*float64{finite(p.CI[0]), finite(p.CI[1])},
				finite(p.TTestP), finite(p.RandP), p.Permutations, p.Exact}
		}
		top.put("paired_tests", pairs)
	}
	if len(r.Compare) > 0 {
		type compareJSON struct {
			Labeler           string      `json:"labeler"`
			Queries           int         `json:"queries"`
			KendallTau        *float64    `json:"kendall_tau"`
			TauAP             *float64    `json:"tau_ap"`
			Spearman          *float64    `json:"spearman"`
			FlippedPairs      int         `json:"flipped_pairs"`
			SystemPairs       int         `json:"system_pairs"`
			SignificanceDiffs int         `json:"significance_disagreements"`
			Flipped           [][2]string `json:"flipped"`
		}
		cs := make([]compareJSON, len(r.Compare))
		for i, c := range r.Compare {
			flipped := c.Flipped
			if flipped == nil {
				flipped = [][2]string{}
			}
			cs[i] = compareJSON{c.Labeler, c.Queries, finite(c.KendallTau), finite(c.TauAP), finite(c.Spearman),
				c.FlippedPairs, c.SystemPairs, c.SignificanceDisagreements, flipped}
		}
		top.put("compare", cs)
	}
	if len(r.Notes) > 0 {
		top.put("notes", r.Notes)
	}
	return top.done()
}
