/**
 * Fleiss' kappa (thesis Eq. B.1): agreement among several annotators beyond chance,
 * κ = (P̄ − P̄e) / (1 − P̄e), as reported for PRBoost's rule annotation (Table 2.3).
 */
import { ShapeError, ValueError } from '../errors';
import type { Decision, Verdict } from '../protocol';

/** κ with its two ingredients. */
export interface FleissKappa {
  /** Eq. B.1. */
  kappa: number;
  /** Observed agreement P̄: mean over subjects of the share of agreeing rater pairs. */
  pBar: number;
  /** Expected agreement P̄e: sum over categories of the squared share of all assignments. */
  pBarE: number;
  subjects: number;
  raters: number;
}

/**
 * Fleiss' kappa of a subjects × categories count table: `counts[i][j]` raters put subject i in category j,
 * every row summing to the same number of raters n ≥ 2 (Eq. B.1).
 */
export function fleissKappa(counts: readonly (readonly number[])[]): FleissKappa {
  if (counts.length === 0) throw new ValueError('fleissKappa: no subjects');
  const k = counts[0].length;
  if (k < 2) throw new ValueError(`fleissKappa: need at least 2 categories, got ${k}`);
  let n = -1;
  counts.forEach((row, i) => {
    if (row.length !== k)
      throw new ShapeError(`fleissKappa: row ${i} has ${row.length} categories, row 0 has ${k}`);
    for (const c of row) {
      if (!Number.isInteger(c) || c < 0)
        throw new ValueError(`fleissKappa: row ${i} holds ${c}, not a count`);
    }
    const sum = row.reduce((a, b) => a + b, 0);
    if (n === -1) n = sum;
    else if (sum !== n) throw new ShapeError(`fleissKappa: row ${i} has ${sum} ratings, row 0 has ${n}`);
  });
  if (n < 2) throw new ValueError(`fleissKappa: each subject needs at least 2 ratings, got ${n}`);
  const N = counts.length;
  const pBar =
    counts.reduce((acc, row) => acc + (row.reduce((a, c) => a + c * c, 0) - n) / (n * (n - 1)), 0) / N;
  let pBarE = 0;
  for (let j = 0; j < k; j++) {
    const pj = counts.reduce((a, row) => a + row[j], 0) / (N * n);
    pBarE += pj * pj;
  }
  // With P̄e = 1 every rating fell in one category: agreement is perfect but chance explains all of it.
  const kappa = pBarE === 1 ? 1 : (pBar - pBarE) / (1 - pBarE);
  return { kappa, pBar, pBarE, subjects: N, raters: n };
}

/** Agreement of several annotators on candidate rules. */
export interface AnnotationAgreement extends FleissKappa {
  annotators: string[];
  /** The candidates every annotator accepted or rejected (the subjects κ is computed over). */
  candidateIds: string[];
}

/**
 * Fleiss' kappa over accept / reject decisions (d_j ∈ {1, 0}, thesis §2.4.2) of the given annotators
 * (default: everyone with a decision). Only candidates that every one of them accepted or rejected count;
 * skips are abstentions, not a category.
 */
export function annotationAgreement(
  decisions: readonly Decision[],
  annotators?: readonly string[],
): AnnotationAgreement {
  const names = annotators ? [...annotators] : [...new Set(decisions.map((d) => d.annotator))].sort();
  if (names.length < 2) {
    throw new ValueError(
      `annotationAgreement: need at least 2 annotators, got ${names.length} (${names.join(', ')})`,
    );
  }
  const table = new Map<string, Map<string, Verdict>>();
  for (const d of decisions) {
    if (!names.includes(d.annotator) || d.verdict === 'skip') continue;
    const row = table.get(d.candidateId) ?? new Map<string, Verdict>();
    row.set(d.annotator, d.verdict);
    table.set(d.candidateId, row);
  }
  const candidateIds = [...table.keys()].filter((id) => names.every((a) => table.get(id)!.has(a)));
  if (candidateIds.length === 0) {
    throw new ValueError(
      `annotationAgreement: no candidate was accepted or rejected by all of ${names.join(', ')}`,
    );
  }
  const counts = candidateIds.map((id) => {
    const row = table.get(id)!;
    let accept = 0;
    for (const a of names) if (row.get(a) === 'accept') accept++;
    return [accept, names.length - accept];
  });
  return { ...fleissKappa(counts), annotators: names, candidateIds };
}
