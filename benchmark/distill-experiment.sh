#!/usr/bin/env bash
# Distillation experiment on real data.
#
# Part 1, through the CLI: a fresh workspace gets llmjudge/test-visible.jsonl
# (human grades recorded as human:imported) and the GPT-4o judge run
# Olz-gpt4o as teacher labeler gpt4o; the built-in lexical and bm25 graders
# label everything. The 13 queries are split as in pipeline/student's
# real-data test: the even-numbered positions of the sorted query ids (0, 2,
# 4, ...) train, the others are held out. The embedded student learns from
# gpt4o's grades on the training queries -- those pairs also carry human
# grades, hence --include-human-graded, which is safe only because the
# evaluation uses the other queries -- prints its training-time estimate
# (leave-one-query-out over the 7 training queries), labels everything, and
# is scored with the others against the humans on the held-out queries.
#
# Part 2, every split (pipeline/student's TestDistillExperiment and
# TestSelectionExperiment): all two-way query splits of test-visible (a
# seeded sample of 200 of the 1,716 six-query sets, each used both ways;
# SPLITS=all for every one) with each GPT-4o judge of runs-visible as
# teacher, and leave-k-queries-out on dev and dl19 with their human grades
# as teacher; the table of mean and worst-case differences against lexical,
# then the teacher-budget selection comparison. SKIP_SPLITS=1 skips it.
#
# usage: benchmark/distill-experiment.sh   (DATA=path/to/shared/data, KEEP=1 keeps the workspace)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DATA=${DATA:-$ROOT/../shared/data}
PAIRS=$DATA/llmjudge/test-visible.jsonl
QRELS=$DATA/llmjudge/runs-visible/Olz-gpt4o.qrels
for f in "$PAIRS" "$QRELS"; do
	[[ -f $f ]] || { echo "missing $f (set DATA to the shared data folder)" >&2; exit 1; }
done

TMP=$(mktemp -d)
if [[ -z ${KEEP:-} ]]; then trap 'rm -rf "$TMP"' EXIT; else echo "workspace kept in $TMP" >&2; fi
BIN=$TMP/qrelbench
(cd "$ROOT" && CGO_ENABLED=1 go build -tags sqlite_fts5 -o "$BIN" ./cmd/qrelbench)
q() { "$BIN" --db "$TMP/ws.db" "$@"; }

q init >/dev/null
q import pairs "$PAIRS"
q import qrels "$QRELS" --labeler gpt4o
q label --labeler lexical 2>/dev/null
q label --labeler bm25 2>/dev/null

# sorted query ids (byte order, like Go's sort.Strings); even positions train
mapfile -t IDS < <(grep -o '"query_id": *"[^"]*"' "$PAIRS" | sed 's/.*"\([^"]*\)"$/\1/' | LC_ALL=C sort -u)
TRAIN=() TEST=()
for i in "${!IDS[@]}"; do
	if ((i % 2 == 0)); then TRAIN+=("${IDS[i]}"); else TEST+=("${IDS[i]}"); fi
done
join() { local IFS=,; echo "$*"; }
echo "train queries: $(join "${TRAIN[@]}")"
echo "held-out queries: $(join "${TEST[@]}")"

q distill train --teacher gpt4o --labeler student --query "$(join "${TRAIN[@]}")" --include-human-graded 2>&1
q label --labeler student 2>/dev/null
q eval --reference human:imported --labelers gpt4o,student,lexical,bm25 --query "$(join "${TEST[@]}")" --bootstrap 0 --json >"$TMP/eval.json"

echo
echo "held-out queries (${#TEST[@]}), against human:imported:"
align() { if command -v column >/dev/null; then column -t -s $'\t'; else cat; fi; }
if ! command -v jq >/dev/null; then
	echo "(jq not found: the full evaluation instead)"
	q eval --reference human:imported --labelers gpt4o,student,lexical,bm25 --query "$(join "${TEST[@]}")" --bootstrap 0
else jq -r '
	def r3: if type == "number" and . != floor then (. * 1000 | round / 1000 | tostring) else tostring end;
	["labeler", "n", "kappa", "quad_kappa", "alpha_ord", "nDCG@10", "pair_acc"],
	(.labelers[] | [.labeler, .n, .cohen_kappa, .quadratic_kappa, .krippendorff_alpha_ordinal, .ndcg_at_10, .pairwise_accuracy] | map(r3))
	| @tsv' "$TMP/eval.json" | align
fi

[[ -n ${SKIP_SPLITS:-} ]] && exit 0
echo
echo "every split (pipeline/student TestDistillExperiment, TestSelectionExperiment; a few minutes):"
(cd "$ROOT" && QRELBENCH_EXPERIMENT=1 QRELBENCH_EXPERIMENT_OLD=1 QRELBENCH_EXPERIMENT_SPLITS=${SPLITS:-200} \
	go test -tags sqlite_fts5 -count=1 -timeout 3h -v -run 'TestDistillExperiment|TestSelectionExperiment' ./pipeline/student/ |
	grep -E '^ +\||experiment_test.go|^--- ' | sed 's/^ *//')
