package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/qrelbench/qrelbench/pipeline/llm"
	"github.com/qrelbench/qrelbench/pipeline/synth"
	"github.com/qrelbench/qrelbench/store"
)

// OfflineSynthesizer is the generator name of the built-in extractive
// synthesizer, which needs no model.
const OfflineSynthesizer = "offline"

// SynthOptions configure query synthesis.
type SynthOptions struct {
	Labeler  string   // model labeler that writes queries; "" or "offline" for the built-in one
	Docs     int      // seed this many documents not seeded yet (0: all)
	DocIDs   []string // or exactly these documents
	PerDoc   int      // queries per seed document (default 3)
	Progress ProgressFunc
}

type synthParams struct {
	Docs   int      `json:"docs,omitempty"`
	DocIDs []string `json:"doc_ids,omitempty"`
	PerDoc int      `json:"per_doc"`
}

// Synthesize writes queries for seed documents and pairs each query with its
// seed. Documents already seeded by the same generator are skipped, so a
// rerun continues where an interrupted one stopped without paying twice.
// Queries are deduplicated against every query in the workspace.
func Synthesize(ctx context.Context, st *store.Store, opt SynthOptions) (store.Run, error) {
	if opt.PerDoc <= 0 {
		opt.PerDoc = 3
	}
	generator := OfflineSynthesizer
	var client *llm.Client
	var lab store.Labeler
	if opt.Labeler != "" && opt.Labeler != OfflineSynthesizer {
		var err error
		if lab, err = st.Labeler(ctx, opt.Labeler); err != nil {
			return store.Run{}, err
		}
		if lab.Model == "" {
			return store.Run{}, fmt.Errorf("labeler %q has no model endpoint to write queries with (use --labeler offline for the built-in synthesizer)", lab.Name)
		}
		if client, err = ClientFor(lab, st.Scale()); err != nil {
			return store.Run{}, err
		}
		generator = lab.Name
	}
	seeds, df, err := pickSeeds(ctx, st, generator, opt)
	if err != nil {
		return store.Run{}, err
	}
	run, resuming, err := resumable(ctx, st, store.RunSynthesis, lab.ID, synthParams{Docs: opt.Docs, DocIDs: opt.DocIDs, PerDoc: opt.PerDoc})
	if err != nil || (len(seeds) == 0 && !resuming) {
		return run, err // every document is seeded: no empty run recorded
	}
	notice, err := begin(ctx, st, &run, resuming)
	if err != nil {
		return run, err
	}
	if err := st.SetRunTotal(ctx, run.ID, run.Done+len(seeds)); err != nil {
		return run, finish(st, run.ID, err)
	}
	existing, err := st.Queries(ctx)
	if err != nil {
		return run, finish(st, run.ID, err)
	}
	seen := map[string]bool{}
	for _, q := range existing {
		seen[normaliseQuery(q.Text)] = true
	}

	type result struct {
		doc     store.Document
		queries []synth.Query
		usage   llm.Usage
		err     error
	}
	results := make(chan result)
	// A store error stops the model calls: their answers could not be kept.
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	go func() {
		defer close(results)
		if client == nil {
			for _, d := range seeds {
				if workCtx.Err() != nil {
					return
				}
				results <- result{doc: d, queries: synth.Offline(seedOf(d), opt.PerDoc, df)}
			}
			return
		}
		work := make(chan store.Document)
		var wg sync.WaitGroup
		for range max(lab.Config.Concurrency, 4) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for d := range work {
					qs, u, err := client.Synthesize(workCtx, LLMDoc(d), opt.PerDoc)
					if err != nil && workCtx.Err() != nil {
						continue // interrupted, not failed: left for the rerun
					}
					r := result{doc: d, usage: u, err: err}
					for _, q := range qs {
						r.queries = append(r.queries, synth.Query{Text: q.Text, Style: q.Style})
					}
					results <- r
				}
			}()
		}
		for _, d := range seeds {
			if workCtx.Err() != nil {
				break
			}
			work <- d
		}
		close(work)
		wg.Wait()
	}()

	started := time.Now()
	p := Progress{RunID: run.ID, Kind: store.RunSynthesis, Labeler: generator, Total: len(seeds), Notice: notice}
	opt.Progress.send(p)
	p.Notice = ""
	var runErr error
	for r := range results {
		var d store.RunDelta
		d.Done = 1
		d.TokensIn, d.TokensOut = int64(r.usage.TokensIn), int64(r.usage.TokensOut)
		d.CostUSD = lab.Cost(r.usage.TokensIn, r.usage.TokensOut)
		if r.err != nil {
			d.Failed = 1
			p.LastError = r.err.Error()
		}
		// Paid-for results are stored even when the run is being canceled.
		bg := context.Background()
		err := st.Background().Tx(bg, func(tx *store.Store) error {
			if r.err == nil {
				if err := storeSynthQueries(bg, tx, run.ID, generator, r.doc, synth.Dedup(r.queries), seen); err != nil {
					return err
				}
			}
			return tx.AddRunProgress(bg, run.ID, d)
		})
		if err != nil {
			runErr = err
			stopWork()
			break
		}
		p.Done++
		p.Failed += d.Failed
		p.TokensIn += d.TokensIn
		p.TokensOut += d.TokensOut
		p.CostUSD += d.CostUSD
		p.Elapsed = time.Since(started)
		opt.Progress.send(p)
	}
	for range results { // drain after a store error
	}
	if runErr == nil {
		runErr = ctx.Err()
	}
	return endRun(st, run, p, opt.Progress, runErr)
}

// pickSeeds chooses the seed documents and, for the offline synthesizer,
// builds the corpus document frequencies it ranks terms by.
func pickSeeds(ctx context.Context, st *store.Store, generator string, opt SynthOptions) ([]store.Document, synth.DocFreq, error) {
	seeded, err := st.SeededDocs(ctx, generator)
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	for _, id := range opt.DocIDs {
		want[id] = true
	}
	df := &synth.MapDocFreq{}
	var seeds []store.Document
	err = st.EachDocument(ctx, func(d store.Document) error {
		df.Add(d.Title + "\n" + d.Body)
		if seeded[d.ID] {
			delete(want, d.ExtID)
			return nil
		}
		if len(opt.DocIDs) > 0 {
			if want[d.ExtID] {
				seeds = append(seeds, d)
				delete(want, d.ExtID)
			}
			return nil
		}
		if opt.Docs <= 0 || len(seeds) < opt.Docs {
			seeds = append(seeds, d)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(want) > 0 {
		var missing []string
		for id := range want {
			missing = append(missing, id)
		}
		return nil, nil, fmt.Errorf("unknown document id(s): %s", strings.Join(missing, ", "))
	}
	return seeds, df, nil
}

func seedOf(d store.Document) synth.Seed {
	return synth.Seed{ID: d.ExtID, Title: d.Title, Text: d.Body, Author: d.Author, Type: d.Type, URL: d.URL, Modified: d.Modified, Meta: d.Meta}
}

// storeSynthQueries stores new queries of one seed and pairs them with it.
func storeSynthQueries(ctx context.Context, tx *store.Store, runID int64, generator string, seed store.Document, qs []synth.Query, seen map[string]bool) error {
	n := 0
	for _, sq := range qs {
		key := normaliseQuery(sq.Text)
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		n++
		q := store.Query{Text: strings.TrimSpace(sq.Text), Origin: store.OriginSynthetic, SeedDocID: seed.ID, Generator: generator, Style: sq.Style, RunID: runID}
		// Ids are readable ("syn-offline-doc-0001-1") but generator and
		// document ids may themselves contain dashes, so two seeds can
		// spell the same id: take the next free number instead of failing.
		for suffix := n; ; suffix++ {
			q.ExtID = fmt.Sprintf("syn-%s-%s-%d", generator, seed.ExtID, suffix)
			_, err := tx.PutQuery(ctx, &q, false)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrConflict) {
				return err
			}
		}
		p := store.Pair{QueryID: q.ID, DocID: seed.ID, Source: store.SourceSeed, RunID: runID}
		if _, err := tx.PutPair(ctx, &p); err != nil {
			return err
		}
	}
	return tx.MarkSeeded(ctx, seed.ID, generator, runID, n)
}

// normaliseQuery is the dedup key: lowercase words joined by single spaces.
func normaliseQuery(s string) string {
	return strings.Join(strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }), " ")
}
