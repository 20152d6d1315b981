/**
 * Soft matching (thesis Eqs. 2.5-2.7) with the rows prepared once. PRBoost re-matches every accepted rule
 * against the same rows each iteration; their embeddings and LM words never change, so a `RowMatcher`
 * normalises the row embeddings and turns the row words into integer ids once. Each match is then one
 * GEMM of unit rows against unit rules on the ops backend (the cosine of Eq. 2.5) and a sparse count of
 * shared words (Eq. 2.6) through an index from word id to the rules that hold it: about n·k look-ups
 * instead of n·m set probes of strings (or numpy's dense n × V × m multi-hot product).
 *
 * The scores are the ones `matchScores` computed before this module existed: bit for bit on the js and
 * wasm backends (whose cosine op also normalises the rows in float64 sums, rounds them to float32 and runs
 * one GEMM), within 1e-6 on native (its cosine op scales the raw products afterwards); the overlap is
 * rounded to float32 before the mix, the mix to float32, and the first rule wins ties.
 */
import { matmul, Tensor } from '../../ops';
import { NonFiniteError, ShapeError, ValueError } from '../../errors';

/** Each row's best rule, its score and label (−1 below σ). */
export interface RuleMatch {
  label: Int32Array;
  rule: Int32Array;
  score: Float32Array;
}

/** Options of a match: α of Eq. 2.7 (default: Table A.3's 0.25). */
export interface MatchMixOptions {
  alpha?: number;
}

/** Rows scaled to unit L2 norm (float64 sums, float32 result); a zero or non-finite row is an error. */
export function unitRows(x: Tensor, operand: string): Tensor {
  if (x.rank !== 2)
    throw new ShapeError(`${operand}: expected a matrix [rows, dim], got [${x.shape.join(', ')}]`);
  const [n, d] = x.shape;
  const src = x.data;
  const out = new Float32Array(n * d);
  for (let r = 0; r < n; r++) {
    const o = r * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += src[o + j] * src[o + j];
    if (!(s > 0 && Number.isFinite(s)))
      throw new NonFiniteError(
        `${operand}: row ${r} has ${s === 0 ? 'zero norm (cosine undefined)' : 'a non-finite value'}`,
      );
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < d; j++) out[o + j] = src[o + j] * inv;
  }
  return new Tensor(out, [n, d]);
}

/** Row words as integer ids: row i holds ids[start[i] .. start[i + 1]). */
interface InternedWords {
  vocab: Map<string, number>;
  start: Int32Array;
  ids: Int32Array;
}

function internWords(rowWords: readonly (readonly string[])[], n: number): InternedWords {
  if (rowWords.length !== n)
    throw new ShapeError(`RowMatcher: ${rowWords.length} row vocabularies for ${n} rows`);
  const vocab = new Map<string, number>();
  const start = new Int32Array(n + 1);
  let total = 0;
  for (const ws of rowWords) total += ws.length;
  const ids = new Int32Array(total);
  let at = 0;
  rowWords.forEach((ws, i) => {
    start[i] = at;
    for (const w of ws) {
      let id = vocab.get(w);
      if (id === undefined) {
        id = vocab.size;
        vocab.set(w, id);
      }
      ids[at++] = id;
    }
  });
  start[n] = at;
  return { vocab, start, ids };
}

/**
 * Overlap counts [rows, m] through an index from word id to the rules holding it (CSR): each row's word
 * ids are looked up once, so the work is about n·k plus the matches, whatever m is.
 */
function countOverlap(
  words: InternedWords,
  ruleWords: readonly (readonly string[])[],
  pos: readonly number[] | undefined,
): Int32Array {
  const { vocab, start, ids } = words;
  const m = ruleWords.length;
  const n = pos ? pos.length : start.length - 1;
  const lists = new Map<number, number[]>();
  ruleWords.forEach((ws, j) => {
    for (const w of new Set(ws)) {
      const id = vocab.get(w);
      if (id === undefined) continue; // no row holds it
      const l = lists.get(id);
      if (l) l.push(j);
      else lists.set(id, [j]);
    }
  });
  const V = vocab.size;
  const ruleStart = new Int32Array(V + 1);
  for (const [id, l] of lists) ruleStart[id + 1] = l.length;
  for (let v = 0; v < V; v++) ruleStart[v + 1] += ruleStart[v];
  const ruleOf = new Int32Array(ruleStart[V]);
  for (const [id, l] of lists) ruleOf.set(l, ruleStart[id]);
  const out = new Int32Array(n * m);
  for (let i = 0; i < n; i++) {
    const p = pos ? pos[i] : i;
    const o = i * m;
    for (let q = start[p]; q < start[p + 1]; q++) {
      const id = ids[q];
      for (let e = ruleStart[id]; e < ruleStart[id + 1]; e++) out[o + ruleOf[e]]++;
    }
  }
  return out;
}

/** |V_u ∩ V_r| / k for every row × rule [n, m] (Eq. 2.6), float32, through the sparse count. */
export function sparseOverlap(
  rowWords: readonly (readonly string[])[],
  ruleWords: readonly (readonly string[])[],
  k: number,
): Float32Array {
  if (!(k > 0)) throw new ValueError(`vocabularyOverlap: k must be > 0, got ${k}`);
  const c = countOverlap(internWords(rowWords, rowWords.length), ruleWords, undefined);
  const out = new Float32Array(c.length);
  for (let i = 0; i < c.length; i++) out[i] = c[i] / k;
  return out;
}

/** α checked to lie in [0, 1]. */
function checkedAlpha(alpha: number | undefined, where: string): number {
  const a = alpha ?? 0.25;
  if (!(a >= 0 && a <= 1)) throw new ValueError(`${where}: α = ${a} is not in [0, 1]`);
  return a;
}

/**
 * Rows prepared for soft matching: unit embeddings and interned words. Build it once per run (and
 * template) and call `scores` / `best` with each iteration's rules.
 */
export class RowMatcher {
  /** Rows and embedding width. */
  readonly n: number;
  readonly d: number;
  /** k of Eq. 2.6 (s_b = |V_u ∩ V_r| / k). */
  readonly k: number;
  private readonly unit: Tensor;
  /** Word ids per row (a row's repeated word counts each time). */
  private readonly words: InternedWords;

  private constructor(unit: Tensor, k: number, words: InternedWords) {
    this.unit = unit;
    this.n = unit.shape[0];
    this.d = unit.shape[1];
    this.k = k;
    this.words = words;
  }

  /** Prepares `rowEmb` [n, d] and each row's words V_u; `k` divides the overlap (Eq. 2.6). */
  static prepare(rowEmb: Tensor, rowWords: readonly (readonly string[])[], k = 10): RowMatcher {
    if (!(k > 0)) throw new ValueError(`RowMatcher: k must be > 0, got ${k}`);
    const unit = unitRows(rowEmb, 'RowMatcher row embeddings');
    return new RowMatcher(unit, k, internWords(rowWords, unit.shape[0]));
  }

  /** The same rows with other words (another template's V_u); the unit embeddings are shared. */
  withWords(rowWords: readonly (readonly string[])[]): RowMatcher {
    return new RowMatcher(this.unit, this.k, internWords(rowWords, this.n));
  }

  /** The row positions to score: all rows, or a checked subset. */
  private positions(rows: readonly number[] | undefined): readonly number[] | undefined {
    if (rows === undefined) return undefined;
    for (const r of rows)
      if (!(Number.isInteger(r) && r >= 0 && r < this.n))
        throw new ShapeError(`RowMatcher: row ${r} outside 0..${this.n - 1}`);
    return rows;
  }

  /** Cosines [rows, m] (Eq. 2.5): one GEMM of the unit rows against the unit rules. */
  private cosines(ruleEmb: Tensor, rows: readonly number[] | undefined): Float32Array {
    if (ruleEmb.rank !== 2 || ruleEmb.shape[1] !== this.d)
      throw new ShapeError(
        `RowMatcher: rule embeddings [${ruleEmb.shape.join(', ')}] do not match rows of width ${this.d}`,
      );
    const rules = unitRows(ruleEmb, 'RowMatcher rule embeddings');
    let a = this.unit;
    if (rows !== undefined) {
      const d = this.d;
      const sub = new Float32Array(rows.length * d);
      rows.forEach((p, i) => sub.set(this.unit.data.subarray(p * d, (p + 1) * d), i * d));
      a = new Tensor(sub, [rows.length, d]);
    }
    return matmul(a, rules, { transB: true }).data;
  }

  /**
   * |V_u ∩ V_r| as counts [rows, m] (Eq. 2.6 before the division by k): every occurrence of a row word that
   * is one of the rule's words counts once (a rule's repeated words count once).
   */
  overlapCounts(ruleWords: readonly (readonly string[])[], rows?: readonly number[]): Int32Array {
    return countOverlap(this.words, ruleWords, this.positions(rows));
  }

  /** (1 − α)·fround(c / k) for every count c a row can reach (the overlap term of Eq. 2.7). */
  private overlapTerms(alpha: number, counts: Int32Array): Float64Array {
    let top = 0;
    for (let i = 0; i < counts.length; i++) if (counts[i] > top) top = counts[i];
    const t = new Float64Array(top + 1);
    for (let c = 0; c <= top; c++) t[c] = (1 - alpha) * Math.fround(c / this.k);
    return t;
  }

  private checkRules(ruleEmb: Tensor, ruleWords: readonly (readonly string[])[]): number {
    const m = ruleEmb.rank === 2 ? ruleEmb.shape[0] : -1;
    if (ruleWords.length !== m)
      throw new ShapeError(`RowMatcher: ${ruleWords.length} rule vocabularies for ${m} rules`);
    return m;
  }

  /** Scores s [rows, m] of Eq. 2.7 (all rows, or `rows` in that order). */
  scores(
    ruleEmb: Tensor,
    ruleWords: readonly (readonly string[])[],
    options: MatchMixOptions & { rows?: readonly number[] } = {},
  ): Tensor {
    const alpha = checkedAlpha(options.alpha, 'RowMatcher.scores');
    const m = this.checkRules(ruleEmb, ruleWords);
    const pos = this.positions(options.rows);
    const n = pos ? pos.length : this.n;
    if (n === 0 || m === 0) return Tensor.zeros([n, m]);
    const out = this.cosines(ruleEmb, pos); // Eq. 2.5, mixed in place
    const counts = this.overlapCounts(ruleWords, pos); // Eq. 2.6
    const term = this.overlapTerms(alpha, counts);
    for (let i = 0; i < out.length; i++) out[i] = alpha * out[i] + term[counts[i]];
    return new Tensor(out, [n, m]);
  }

  /** Each row's best rule by Eq. 2.7; the first rule wins ties; rows whose best score is below σ abstain. */
  best(
    ruleEmb: Tensor,
    ruleWords: readonly (readonly string[])[],
    ruleLabels: readonly number[],
    sigma: number,
    options: MatchMixOptions & { rows?: readonly number[] } = {},
  ): RuleMatch {
    const alpha = checkedAlpha(options.alpha, 'RowMatcher.best');
    const m = this.checkRules(ruleEmb, ruleWords);
    if (ruleLabels.length !== m)
      throw new ShapeError(`RowMatcher.best: ${ruleLabels.length} labels for ${m} rules`);
    const pos = this.positions(options.rows);
    const n = pos ? pos.length : this.n;
    const label = new Int32Array(n).fill(-1);
    const rule = new Int32Array(n).fill(-1);
    const score = new Float32Array(n);
    if (n === 0 || m === 0) return { label, rule, score };
    const cos = this.cosines(ruleEmb, pos);
    const counts = this.overlapCounts(ruleWords, pos);
    const term = this.overlapTerms(alpha, counts);
    for (let i = 0; i < n; i++) {
      const o = i * m;
      let best = 0;
      let bs = Math.fround(alpha * cos[o] + term[counts[o]]);
      for (let r = 1; r < m; r++) {
        const s = Math.fround(alpha * cos[o + r] + term[counts[o + r]]);
        if (s > bs) {
          bs = s;
          best = r;
        }
      }
      score[i] = bs;
      if (bs >= sigma) {
        rule[i] = best;
        label[i] = ruleLabels[best];
      }
    }
    return { label, rule, score };
  }
}
