/**
 * Rule votes as a label matrix (rows × rules, −1 = abstain, the thesis's r(x) → 0) and the policies that
 * turn several votes on one row into one weak label. The thesis does not say how disagreeing keyword rules
 * are resolved; the default, `majority-first`, is a majority vote whose ties go to the earliest firing rule
 * in file order (that reproduces the 81.09 % majority-vote accuracy of the WRENCH rules on AG News).
 */
import type { AgNewsItem, KeywordRule } from '../../data/agnews';
import { ConfigError, ShapeError } from '../../errors';

/** Votes of `ruleIds.length` rules on `rows` rows, row-major; −1 where a rule abstains. */
export interface LabelMatrix {
  readonly rows: number;
  readonly ruleIds: readonly string[];
  readonly ruleLabels: readonly number[];
  readonly votes: Int8Array;
}

/** How disagreeing votes become one label (see the module comment). */
export type TiePolicy =
  'majority-first' | 'majority-last' | 'first-firing' | 'last-firing' | 'majority-abstain' | 'unanimous';

export const TIE_POLICIES: readonly TiePolicy[] = [
  'majority-first',
  'majority-last',
  'first-firing',
  'last-firing',
  'majority-abstain',
  'unanimous',
];

/** Applies keyword rules: a rule votes its label when one of its keywords is a substring of `matchText`. */
export function applyKeywordRules(items: readonly AgNewsItem[], rules: readonly KeywordRule[]): LabelMatrix {
  const m = rules.length;
  const votes = new Int8Array(items.length * m).fill(-1);
  items.forEach((it, i) => {
    rules.forEach((r, j) => {
      if (r.keywords.some((k) => it.matchText.includes(k))) votes[i * m + j] = r.label;
    });
  });
  return {
    rows: items.length,
    ruleIds: rules.map((r) => r.id),
    ruleLabels: rules.map((r) => r.label),
    votes,
  };
}

/** Rows `index` of a label matrix. */
export function selectRows(lm: LabelMatrix, index: readonly number[]): LabelMatrix {
  const m = lm.ruleIds.length;
  const votes = new Int8Array(index.length * m);
  index.forEach((r, i) => {
    if (!(r >= 0 && r < lm.rows)) throw new ShapeError(`selectRows: row ${r} outside 0..${lm.rows - 1}`);
    votes.set(lm.votes.subarray(r * m, (r + 1) * m), i * m);
  });
  return { ...lm, rows: index.length, votes };
}

/** One weak label per row (−1 = no rule fired or the policy abstained), from `classes` classes. */
export function aggregateVotes(
  lm: LabelMatrix,
  classes: number,
  policy: TiePolicy = 'majority-first',
): Int32Array {
  if (!TIE_POLICIES.includes(policy))
    throw new ConfigError(
      `aggregateVotes: unknown tie policy "${String(policy)}" (${TIE_POLICIES.join(', ')})`,
    );
  const m = lm.ruleIds.length;
  const out = new Int32Array(lm.rows).fill(-1);
  const counts = new Int32Array(classes);
  for (let i = 0; i < lm.rows; i++) {
    const fired: number[] = [];
    for (let j = 0; j < m; j++) if (lm.votes[i * m + j] >= 0) fired.push(lm.votes[i * m + j]);
    if (fired.length === 0) continue;
    if (policy === 'first-firing') {
      out[i] = fired[0];
      continue;
    }
    if (policy === 'last-firing') {
      out[i] = fired[fired.length - 1];
      continue;
    }
    counts.fill(0);
    for (const v of fired) counts[v]++;
    let top = 0;
    for (let c = 0; c < classes; c++) top = Math.max(top, counts[c]);
    const tied = fired.filter((v) => counts[v] === top);
    const distinct = new Set(tied).size;
    if (policy === 'unanimous') out[i] = new Set(fired).size === 1 ? fired[0] : -1;
    else if (policy === 'majority-abstain') out[i] = distinct === 1 ? tied[0] : -1;
    else if (policy === 'majority-last') out[i] = tied[tied.length - 1];
    else out[i] = tied[0];
  }
  return out;
}

/** Coverage (share of rows labelled) and accuracy on the labelled rows of weak labels against gold. */
export function weakLabelQuality(
  weak: ArrayLike<number>,
  gold: ArrayLike<number>,
): { coverage: number; accuracy: number; covered: number } {
  if (weak.length !== gold.length)
    throw new ShapeError(`weakLabelQuality: ${weak.length} weak labels but ${gold.length} gold labels`);
  let covered = 0;
  let correct = 0;
  for (let i = 0; i < weak.length; i++) {
    if (weak[i] < 0) continue;
    covered++;
    if (weak[i] === gold[i]) correct++;
  }
  return {
    coverage: weak.length ? covered / weak.length : 0,
    accuracy: covered ? correct / covered : NaN,
    covered,
  };
}
