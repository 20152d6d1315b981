/**
 * Soft matching of accepted rules with unlabelled rows (thesis Eqs. 2.5-2.7):
 *   s_a = cos(e_u, e_r) (Eq. 2.5), s_b = |V_u ∩ V_r| / k (Eq. 2.6), s = α s_a + (1 − α) s_b (Eq. 2.7).
 * A row takes the label of its highest-scoring rule when that score reaches σ, else it stays unmatched.
 * The thesis does not define a rule's embedding e_r. Here it is a choice (`RuleEmbedding`):
 * 'words' embeds the rule's kept words as a short text ("business, market, economy"); 'instance' uses
 * the embedding of the instance the rule came from; 'mix' (default) is the normalised sum of the two,
 * so e_r carries both what the annotator endorsed and the context it was endorsed in.
 * σ is not given either: `calibrateSigma` picks it on D_v (see there).
 */
import { Tensor } from '../../ops';
import { RowMatcher, sparseOverlap } from './matcher';
import { ShapeError, ValueError } from '../../errors';

export type RuleEmbedding = 'words' | 'instance' | 'mix';

/** α of Eq. 2.7 for AG News (Table A.3). */
export const THESIS_ALPHA = 0.25;

/** The text whose embedding stands for a rule's words. */
export function ruleWordsText(words: readonly string[]): string {
  return words.join(', ');
}

/** e_r per rule [m, d] from the words' and the instances' embeddings ([m, d] each). */
export function ruleEmbeddings(words: Tensor, instances: Tensor, kind: RuleEmbedding = 'mix'): Tensor {
  if (words.shape.join() !== instances.shape.join())
    throw new ShapeError(
      `ruleEmbeddings: words [${words.shape.join(', ')}] vs instances [${instances.shape.join(', ')}]`,
    );
  if (kind === 'words') return words;
  if (kind === 'instance') return instances;
  const [m, d] = words.shape;
  const out = new Float32Array(m * d);
  const norm = (t: Tensor, r: number): number => {
    let n = 0;
    for (let j = 0; j < d; j++) n += t.data[r * d + j] ** 2;
    return Math.sqrt(n) || 1;
  };
  for (let r = 0; r < m; r++) {
    // Each part at unit length first, so neither dominates when the encoder does not normalise.
    const nw = norm(words, r);
    const ni = norm(instances, r);
    let n = 0;
    for (let j = 0; j < d; j++) {
      const v = words.data[r * d + j] / nw + instances.data[r * d + j] / ni;
      out[r * d + j] = v;
      n += v * v;
    }
    n = Math.sqrt(n) || 1;
    for (let j = 0; j < d; j++) out[r * d + j] /= n;
  }
  return new Tensor(out, [m, d]);
}

/** |V_u ∩ V_r| / k for every row × rule [n, m] (Eq. 2.6); sparse, through interned word ids. */
export function vocabularyOverlap(
  rowWords: readonly (readonly string[])[],
  ruleWords: readonly (readonly string[])[],
  k: number,
): Float32Array {
  return sparseOverlap(rowWords, ruleWords, k);
}

/**
 * Matching scores s [n, m] (Eq. 2.7) from row embeddings [n, d], rule embeddings [m, d] and vocabularies.
 * One-shot: it prepares the rows each call. Matching the same rows again (every PRBoost iteration), keep a
 * `RowMatcher` instead; the scores are the same.
 */
export function matchScores(
  rowEmb: Tensor,
  ruleEmb: Tensor,
  rowWords: readonly (readonly string[])[],
  ruleWords: readonly (readonly string[])[],
  options: { alpha?: number; k?: number } = {},
): Tensor {
  const alpha = options.alpha ?? THESIS_ALPHA;
  if (!(alpha >= 0 && alpha <= 1)) throw new ValueError(`matchScores: α = ${alpha} is not in [0, 1]`);
  const [n] = rowEmb.shape;
  const [m] = ruleEmb.shape;
  if (rowWords.length !== n)
    throw new ShapeError(`matchScores: ${rowWords.length} row vocabularies for ${n} rows`);
  if (ruleWords.length !== m)
    throw new ShapeError(`matchScores: ${ruleWords.length} rule vocabularies for ${m} rules`);
  if (rowEmb.rank === 2 && ruleEmb.rank === 2 && rowEmb.shape[1] !== ruleEmb.shape[1])
    throw new ShapeError(
      `matchScores: row embeddings [${rowEmb.shape.join(', ')}] vs rule embeddings [${ruleEmb.shape.join(', ')}]`,
    );
  if (n === 0 || m === 0) return Tensor.zeros([n, m]);
  return RowMatcher.prepare(rowEmb, rowWords, options.k ?? 10).scores(ruleEmb, ruleWords, { alpha });
}

export type { RuleMatch } from './matcher';
import type { RuleMatch } from './matcher';

/** Highest score wins; rows whose best score is below σ abstain (§2.4.2). */
export function bestMatches(scores: Tensor, ruleLabels: readonly number[], sigma: number): RuleMatch {
  const [n, m] = scores.shape;
  if (ruleLabels.length !== m)
    throw new ShapeError(`bestMatches: ${ruleLabels.length} labels for ${m} rules`);
  const label = new Int32Array(n).fill(-1);
  const rule = new Int32Array(n).fill(-1);
  const score = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bs = -Infinity;
    for (let r = 0; r < m; r++) {
      const s = scores.data[i * m + r];
      if (s > bs) {
        bs = s;
        best = r;
      }
    }
    score[i] = m ? bs : 0;
    if (best >= 0 && bs >= sigma) {
      rule[i] = best;
      label[i] = ruleLabels[best];
    }
  }
  return { label, rule, score };
}

/** One point of the calibration curve on D_v. */
export interface CalibrationPoint {
  sigma: number;
  /** Share of D_v rows matched, and how many. */
  coverage: number;
  matched: number;
  /** Accuracy of the matched rows' labels (NaN when none). */
  precision: number;
}

/** The curve and the chosen σ. */
export interface Calibration {
  sigma: number;
  target: number;
  curve: CalibrationPoint[];
  /** How σ was chosen, in words. */
  reason: string;
}

/** Wilson score lower bound of a proportion `right / n` at z standard errors (0 when n = 0). */
export function wilsonLower(right: number, n: number, z = 1): number {
  if (n === 0) return 0;
  const p = right / n;
  const z2 = z * z;
  return (p + z2 / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
}

/** σ above every possible score (|s| ≤ 1): nothing is matched. */
export const SIGMA_NONE = 1.01;

/**
 * Chooses σ on D_v: the smallest σ on a 0.01 grid at which the matched D_v rows are at least `target`
 * precise with some confidence — the Wilson lower bound (z = `z`, default 1) of their precision must reach
 * the target, over at least `minMatched` rows. New rules must be as precise as the rules they join, and a
 * handful of lucky matches on a small D_v does not prove that. When no σ qualifies, σ = SIGMA_NONE (new
 * rules label nothing yet) and the reason says so.
 */
export function calibrateSigma(
  bestScores: ArrayLike<number>,
  bestLabels: ArrayLike<number>,
  gold: ArrayLike<number>,
  options: { target: number; minMatched?: number; grid?: number[]; z?: number },
): Calibration {
  const n = gold.length;
  if (bestScores.length !== n || bestLabels.length !== n)
    throw new ShapeError(
      `calibrateSigma: ${bestScores.length} scores, ${bestLabels.length} labels, ${n} gold`,
    );
  const minMatched = options.minMatched ?? 3;
  const z = options.z ?? 1;
  const grid = options.grid ?? Array.from({ length: 101 }, (_, i) => i / 100);
  const curve = grid.map((sigma) => {
    let matched = 0;
    let right = 0;
    for (let i = 0; i < n; i++) {
      if (bestLabels[i] < 0 || bestScores[i] < sigma) continue;
      matched++;
      if (bestLabels[i] === gold[i]) right++;
    }
    return {
      sigma,
      coverage: n ? matched / n : 0,
      matched,
      precision: matched ? right / matched : NaN,
      lower: wilsonLower(right, matched, z),
    };
  });
  const ok = curve.find((p) => p.matched >= minMatched && p.lower >= options.target);
  const points = curve.map(({ sigma, coverage, matched, precision }) => ({
    sigma,
    coverage,
    matched,
    precision,
  }));
  if (ok)
    return {
      sigma: ok.sigma,
      target: options.target,
      curve: points,
      reason: `smallest σ whose D_v precision is ≥ ${options.target.toFixed(3)} (Wilson bound, z = ${z}) over ≥ ${minMatched} rows`,
    };
  return {
    sigma: SIGMA_NONE,
    target: options.target,
    curve: points,
    reason: `no σ shows D_v precision ≥ ${options.target.toFixed(3)} with confidence; new rules label nothing yet`,
  };
}
