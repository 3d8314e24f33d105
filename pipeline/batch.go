package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/qrelbench/qrelbench/pipeline/llm"
	"github.com/qrelbench/qrelbench/store"
	"github.com/qrelbench/qrelbench/store/quote"
)

// BatchOptions configure a Batch API labeling run.
type BatchOptions struct {
	Label LabelOptions
	// Wait polls until the batch ends and ingests it; without it LabelBatch
	// submits (or polls once) and returns, and a later call continues.
	Wait         bool
	PollInterval time.Duration // default 30s
}

// batchPriceFactor: the Batch API costs half the synchronous price.
const batchPriceFactor = 0.5

// The Batch API's limits per input file (with a margin on the size).
var (
	maxBatchRequests = 50000
	maxBatchBytes    = 190 << 20
)

// LabelBatch grades pending pairs through the OpenAI Batch API. The batch id
// is recorded in the run, so a restart (or another call) polls the same
// batch instead of submitting and paying again; results are ingested once.
func LabelBatch(ctx context.Context, st *store.Store, opt BatchOptions) (string, error) {
	lab, err := st.Labeler(ctx, opt.Label.Labeler)
	if err != nil {
		return "", err
	}
	if lab.Model == "" {
		return "", fmt.Errorf("labeler %q has no model endpoint: the Batch API needs one", lab.Name)
	}
	client, err := ClientFor(lab, st.Scale())
	if err != nil {
		return "", err
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 30 * time.Second
	}
	run, ok, err := st.UnfinishedRun(ctx, store.RunBatch, lab.ID)
	if err != nil {
		return "", err
	}
	if ok && run.Status == store.RunFailed && run.ExternalID != "" {
		// Its batch ended (failed, expired, cancelled) and what it returned
		// was ingested: submit the pairs left instead of polling it again.
		ok = false
	}
	if !ok || run.ExternalID == "" {
		if ok { // a run that died before it submitted
			st.FinishRun(ctx, run.ID, store.RunFailed, fmt.Errorf("not submitted"))
		}
		if run, err = submitBatch(ctx, st, client, lab, opt.Label); err != nil {
			return "", err
		}
		if run.ID == 0 {
			return "nothing to grade: every pair already has a grade by " + lab.Name, nil
		}
	}
	for {
		status, outID, errID, counts, err := client.GetBatch(ctx, run.ExternalID)
		if err != nil {
			return "", fmt.Errorf("batch %s (run %d): %w", run.ExternalID, run.ID, err)
		}
		switch status {
		case "completed":
			return ingestBatch(ctx, st, client, lab, run, outID, errID)
		case "failed", "expired", "cancelled", "canceled":
			// Expired batches may still have partial output worth keeping.
			if outID != "" {
				if _, err := ingestBatch(ctx, st, client, lab, run, outID, errID); err != nil {
					return "", err
				}
			}
			st.FinishRun(ctx, run.ID, store.RunFailed, fmt.Errorf("batch %s %s", run.ExternalID, status))
			return "", fmt.Errorf("batch %s ended %s (run %d); rerun to submit the pairs left", run.ExternalID, status, run.ID)
		}
		msg := fmt.Sprintf("batch %s (run %d) is %s: %d/%d done, %d failed", run.ExternalID, run.ID, status, counts.Completed, counts.Total, counts.Failed)
		opt.Label.Progress.send(Progress{RunID: run.ID, Kind: store.RunBatch, Labeler: lab.Name, Total: counts.Total, Done: counts.Completed, Failed: counts.Failed, Notice: msg})
		if !opt.Wait {
			return msg + "; run the same command again to collect the results", nil
		}
		select {
		case <-ctx.Done():
			return msg + "; stopped waiting, rerun to collect the results", ctx.Err()
		case <-time.After(opt.PollInterval):
		}
	}
}

func submitBatch(ctx context.Context, st *store.Store, client *llm.Client, lab store.Labeler, opt LabelOptions) (store.Run, error) {
	// Pairs a synchronous run holds a claim on are being paid for there.
	views, err := st.PairViews(ctx, store.PairFilter{QueryExtIDs: opt.Queries, UngradedBy: lab.ID, Unclaimed: true, Limit: opt.Limit})
	if err != nil {
		return store.Run{}, err
	}
	if len(views) == 0 {
		return store.Run{}, nil
	}
	var buf bytes.Buffer
	for i, v := range views {
		line, err := client.BatchLine("pair-"+strconv.FormatInt(v.ID, 10), v.QueryText, LLMDoc(v.Doc))
		if err != nil {
			return store.Run{}, err
		}
		// The Batch API takes at most 50,000 requests and 200 MB per file:
		// the rest stay pending for the next batch.
		if i == maxBatchRequests || buf.Len()+len(line)+1 > maxBatchBytes {
			views = views[:i]
			break
		}
		buf.Write(line)
		buf.WriteByte('\n')
	}
	params, _ := json.Marshal(map[string]any{"pairs": len(views), "prompt_version": client.PromptVersion()})
	run := store.Run{Kind: store.RunBatch, LabelerID: lab.ID, Params: params, Total: len(views)}
	if err := st.StartRun(ctx, &run); err != nil {
		return run, err
	}
	// StartRun does not fill StartedAt; ingestBatch measures busy time from
	// it when one call submits and ingests.
	run.StartedAt = time.Now()
	fileID, err := client.UploadBatchFile(ctx, fmt.Sprintf("qrelbench-run-%d.jsonl", run.ID), buf.Bytes())
	if err != nil {
		return run, finish(st, run.ID, fmt.Errorf("upload batch file: %w", err))
	}
	batchID, err := client.CreateBatch(ctx, fileID)
	if err != nil {
		return run, finish(st, run.ID, fmt.Errorf("create batch: %w", err))
	}
	if err := st.SetRunExternalID(ctx, run.ID, batchID); err != nil {
		return run, err
	}
	run.ExternalID = batchID
	return run, nil
}

// ingestBatch stores every result line as a judgment, all in one
// transaction, and finishes the run.
func ingestBatch(ctx context.Context, st *store.Store, client *llm.Client, lab store.Labeler, run store.Run, outID, errID string) (string, error) {
	var js []store.Judgment
	if outID != "" {
		data, err := client.Download(ctx, outID)
		if err != nil {
			return "", fmt.Errorf("download batch output: %w", err)
		}
		for i, line := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			customID, j, err := client.ParseBatchOutputLine(line)
			if err != nil {
				return "", fmt.Errorf("batch output line %d: %w", i+1, err)
			}
			pairID, err := strconv.ParseInt(strings.TrimPrefix(customID, "pair-"), 10, 64)
			if err != nil {
				return "", fmt.Errorf("batch output line %d: unexpected custom_id %s", i+1, quote.Input(customID))
			}
			sj := judgmentFrom(pairID, lab, j, batchPriceFactor)
			sj.RunID = run.ID
			js = append(js, sj)
		}
	}
	d, _ := tally(js)
	d.BusySeconds = time.Since(run.StartedAt).Seconds()
	err := st.Background().Tx(ctx, func(tx *store.Store) error {
		if err := tx.PutJudgments(ctx, js); err != nil {
			return err
		}
		if err := tx.AddRunProgress(ctx, run.ID, d); err != nil {
			return err
		}
		return tx.FinishRun(ctx, run.ID, store.RunDone, nil)
	})
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("batch %s (run %d) ingested: %d judgments, %d failed, $%.4f at batch price", run.ExternalID, run.ID, d.Done, d.Failed, d.CostUSD)
	if missing := run.Total - d.Done; missing > 0 {
		msg += fmt.Sprintf("; %d pairs had no result and stay pending", missing)
	}
	if left, err := st.CountPairs(ctx, store.PairFilter{UngradedBy: lab.ID}); err == nil && left > 0 {
		msg += fmt.Sprintf("; %d pairs still to grade: run the same command again to submit the next batch", left)
	}
	return msg, nil
}
