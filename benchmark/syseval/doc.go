// Package syseval evaluates search systems: it scores ranked runs against
// graded qrels with the measures of trec_eval 10.0, tests the differences
// between systems, compares the verdicts two sets of qrels give on the same
// systems, and corrects a model's estimate with a few human grades by
// prediction-powered inference. It is pure computation over in-memory data;
// reading runs and grades is the caller's job.
//
// The measures follow trec_eval 10.0 (usnistgov/trec_eval) rule for rule,
// so that its printed numbers are reproduced to 1e-4:
//
//   - Order. A query's documents are ordered by score descending, ties by
//     document id descending (byte-wise string compare, as trec_eval's
//     strcmp); the rank column of a run is ignored (see [TopK]).
//   - Judgments. A document with no qrels entry is unjudged and counts as
//     non-relevant. A negative grade is trec_eval's "in the pool but not
//     judged": never relevant, no gain, not counted among the judged.
//   - Binary measures (P_10, map, recall_100, recip_rank) count a document
//     relevant when its grade is >= Options.Threshold (trec_eval -l; callers
//     default to 2 on the 0–3 scale). num_rel, the denominator of map and
//     recall_100, is the number of the query's qrels at or above the
//     threshold, retrieved or not.
//   - ndcg_cut_K uses the grade itself as gain (the threshold plays no
//     part), discount log2(rank+1), and the ideal ranking of all the
//     query's positive judged grades; a query without any has nDCG 0.
//   - P_10 divides by 10 even when fewer were retrieved; recall_100 is 0
//     when num_rel is 0; map is the sum of the precisions at the relevant
//     retrieved ranks over num_rel; recip_rank is 0 when nothing relevant
//     was retrieved.
//   - A document twice in one query's ranking is an error, as trec_eval
//     refuses such a run ("duplicate docs").
//   - Averages are over the queries present in both the run and the qrels
//     (trec_eval without -c). A query of the qrels missing from the run is
//     skipped: trec_eval 10.0 itself exits with an error then, older
//     versions skip it, and skipping is what the workbench wants.
//
// unjudged_at_10 is not a trec_eval measure: it is the fraction of the
// retrieved top 10 (or fewer, when fewer were retrieved) with no usable
// grade (no qrels entry, or a negative one), i.e. how far the qrels are from
// covering what the system shows.
package syseval
