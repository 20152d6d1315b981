/**
 * The prepared matcher (RowMatcher: unit rows once, one GEMM per match, sparse word overlap) against a
 * plain implementation of Eqs. 2.5-2.7 written out here: the ops cosine, a Set of strings per rule, the
 * mix, a first-wins argmax. The two must agree exactly (same float32 operations in the same order), on
 * random inputs with exact ties, empty word lists, repeated words and row subsets; and within 1e-5 of a
 * float64 reference (the float32 unit rows and GEMM of 16-48 wide rows stay well inside that).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  availableBackends,
  cosineSimilarity,
  getBackend,
  Tensor,
  withBackend,
  type BackendName,
} from '../../src/ops';
import { NonFiniteError, ShapeError, ValueError } from '../../src/errors';
import { bestMatches, matchScores, RowMatcher, vocabularyOverlap } from '../../src/methods/prboost';

function rand(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The plain implementation: what matchScores computed before the prepared matcher. */
function plainScores(
  rows: Tensor,
  rules: Tensor,
  rowWords: readonly (readonly string[])[],
  ruleWords: readonly (readonly string[])[],
  alpha: number,
  k: number,
): Float32Array {
  const n = rows.shape[0];
  const m = rules.shape[0];
  const cos = cosineSimilarity(rows, rules);
  const out = new Float32Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      const set = new Set(ruleWords[j]);
      let c = 0;
      for (const w of rowWords[i]) if (set.has(w)) c++;
      const overlap = Math.fround(c / k);
      out[i * m + j] = alpha * cos.data[i * m + j] + (1 - alpha) * overlap;
    }
  return out;
}

/** Float64 scores, for the tolerance check. */
function float64Scores(
  rows: Tensor,
  rules: Tensor,
  rowWords: readonly (readonly string[])[],
  ruleWords: readonly (readonly string[])[],
  alpha: number,
  k: number,
): Float64Array {
  const [n, d] = rows.shape;
  const m = rules.shape[0];
  const out = new Float64Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) {
      let dot = 0;
      let na = 0;
      let nb = 0;
      for (let t = 0; t < d; t++) {
        dot += rows.data[i * d + t] * rules.data[j * d + t];
        na += rows.data[i * d + t] ** 2;
        nb += rules.data[j * d + t] ** 2;
      }
      const c = rowWords[i].filter((w) => ruleWords[j].includes(w)).length;
      out[i * m + j] = alpha * (dot / Math.sqrt(na * nb)) + ((1 - alpha) * c) / k;
    }
  return out;
}

/** A random case: some rules duplicated (exact ties), empty and repeated words on both sides. */
function randomCase(seed: number, n: number, m: number, d: number, vocab: number) {
  const r = rand(seed);
  const rows = Tensor.from(
    Array.from({ length: n * d }, () => r() - 0.5),
    [n, d],
  );
  const ruleData = Array.from({ length: m * d }, () => r() - 0.5);
  const word = (): string => `w${Math.floor(r() * vocab)}`;
  const rowWords = Array.from({ length: n }, (_, i) =>
    i % 7 === 3 ? [] : Array.from({ length: 1 + Math.floor(r() * 10) }, word),
  );
  const ruleWords: string[][] = Array.from({ length: m }, (_, j) =>
    j % 5 === 4 ? [] : Array.from({ length: 1 + Math.floor(r() * 4) }, word),
  );
  ruleWords[0].push('never-in-a-row'); // a rule word no row holds
  // Rule 2j+1 copies rule 2j's embedding and words half the time: exact ties the first must win.
  for (let j = 1; j < m; j += 2)
    if (r() < 0.5) {
      for (let t = 0; t < d; t++) ruleData[j * d + t] = ruleData[(j - 1) * d + t];
      ruleWords[j] = [...ruleWords[j - 1]];
    }
  const rules = Tensor.from(ruleData, [m, d]);
  return { rows, rules, rowWords, ruleWords };
}

function plainBest(scores: Float32Array, n: number, m: number, labels: readonly number[], sigma: number) {
  const rule = new Int32Array(n).fill(-1);
  const label = new Int32Array(n).fill(-1);
  const score = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < m; j++) if (scores[i * m + j] > scores[i * m + best]) best = j;
    score[i] = scores[i * m + best];
    if (score[i] >= sigma) {
      rule[i] = best;
      label[i] = labels[best];
    }
  }
  return { rule, label, score };
}

/**
 * Backends whose cosine op normalises the rows first and then runs one GEMM, as the matcher does: there
 * the matcher must equal the plain path bit for bit. Any other backend (native scales the raw products by
 * 1/‖a_i‖ afterwards, and OpenBLAS's last bit can depend on where a buffer lies) is held to 1e-6 per
 * score and the same winner wherever the top two are 1e-6 apart.
 */
const EXACT = ['js', 'wasm'].filter((b) => availableBackends().includes(b as BackendName)) as BackendName[];
const OTHER = getBackend();

for (const [seed, alpha] of [
  [1, 0.25],
  [2, 0],
  [3, 1],
  [4, 0.6],
] as const) {
  for (const backend of [...EXACT, ...(EXACT.includes(OTHER) ? [] : [OTHER])]) {
    const exact = EXACT.includes(backend);
    test(`RowMatcher vs the plain Eqs. 2.5-2.7 on ${backend} (${exact ? 'exact' : '1e-6'}; seed ${seed}, α = ${alpha}, ties, empty words)`, () =>
      withBackend(backend, () => {
        const n = 61;
        const m = 14;
        const d = 16 + seed * 8;
        const k = 10;
        const c = randomCase(seed, n, m, d, 25);
        const labels = Array.from({ length: m }, (_, j) => j % 4);
        const plain = plainScores(c.rows, c.rules, c.rowWords, c.ruleWords, alpha, k);
        const f64 = float64Scores(c.rows, c.rules, c.rowWords, c.ruleWords, alpha, k);
        const mt = RowMatcher.prepare(c.rows, c.rowWords, k);
        const s = mt.scores(c.rules, c.ruleWords, { alpha });
        assert.deepEqual(s.shape, [n, m]);
        for (let i = 0; i < n * m; i++) {
          if (exact) assert.equal(s.data[i], plain[i], `score ${i}: ${s.data[i]} vs plain ${plain[i]}`);
          else
            assert.ok(Math.abs(s.data[i] - plain[i]) < 1e-6, `score ${i}: ${s.data[i]} vs plain ${plain[i]}`);
          assert.ok(Math.abs(s.data[i] - f64[i]) < 1e-5, `score ${i}: ${s.data[i]} vs float64 ${f64[i]}`);
        }
        // matchScores (the one-shot entry) is the same matcher.
        assert.deepEqual(
          Array.from(matchScores(c.rows, c.rules, c.rowWords, c.ruleWords, { alpha, k }).data),
          Array.from(s.data),
        );
        for (const sigma of [-Infinity, 0.1, 0.3]) {
          const want = plainBest(plain, n, m, labels, sigma);
          const got = mt.best(c.rules, c.ruleWords, labels, sigma, { alpha });
          // The winner from the matcher's own scores: first-wins argmax of exactly these floats.
          const own = plainBest(s.data, n, m, labels, sigma);
          assert.deepEqual(Array.from(got.rule), Array.from(own.rule), `rules at σ = ${sigma}`);
          assert.deepEqual(Array.from(got.label), Array.from(own.label), `labels at σ = ${sigma}`);
          assert.deepEqual(Array.from(got.score), Array.from(own.score), `scores at σ = ${sigma}`);
          for (let i = 0; i < n; i++) {
            if (exact) {
              assert.equal(got.rule[i], want.rule[i], `row ${i} at σ = ${sigma}`);
              continue;
            }
            const row = Array.from(plain.subarray(i * m, (i + 1) * m)).sort((x, y) => y - x);
            const clear = row[0] - row[1] > 1e-6 && Math.abs(row[0] - sigma) > 1e-6;
            if (clear) assert.equal(got.rule[i], want.rule[i], `row ${i} at σ = ${sigma}`);
          }
          const old = bestMatches(new Tensor(s.data, [n, m]), labels, sigma);
          assert.deepEqual(Array.from(got.rule), Array.from(old.rule));
        }
        // Exact ties (duplicated rules) go to the first rule on every backend.
        let ties = 0;
        for (let i = 0; i < n; i++) {
          const top = own0(s.data, i, m);
          for (let j = top + 1; j < m; j++) if (s.data[i * m + j] === s.data[i * m + top]) ties++;
        }
        assert.ok(ties > 0 || alpha > 0, 'α = 0 must produce ties (the first rule has to win them)');
      }));
  }
}

/** First index of the largest score of row i. */
function own0(s: Float32Array, i: number, m: number): number {
  let b = 0;
  for (let j = 1; j < m; j++) if (s[i * m + j] > s[i * m + b]) b = j;
  return b;
}

test('RowMatcher on a row subset (repeats allowed) equals the matcher on the gathered rows', () =>
  withBackend(EXACT[0] ?? OTHER, () => {
    const c = randomCase(9, 40, 9, 24, 12);
    const mt = RowMatcher.prepare(c.rows, c.rowWords, 10);
    const subset = [5, 3, 3, 39, 0, 17];
    const d = 24;
    const gathered = new Float32Array(subset.length * d);
    subset.forEach((p, i) => gathered.set(c.rows.data.subarray(p * d, (p + 1) * d), i * d));
    const plain = plainScores(
      new Tensor(gathered, [subset.length, d]),
      c.rules,
      subset.map((p) => c.rowWords[p]),
      c.ruleWords,
      0.25,
      10,
    );
    const s = mt.scores(c.rules, c.ruleWords, { alpha: 0.25, rows: subset });
    const direct = RowMatcher.prepare(
      new Tensor(gathered, [subset.length, d]),
      subset.map((p) => c.rowWords[p]),
      10,
    ).scores(c.rules, c.ruleWords, { alpha: 0.25 });
    assert.deepEqual(Array.from(s.data), Array.from(direct.data));
    s.data.forEach((v, i) => assert.ok(Math.abs(v - plain[i]) < 1e-6, `score ${i}: ${v} vs ${plain[i]}`));
    const labels = Array.from({ length: 9 }, (_, j) => j);
    const got = mt.best(c.rules, c.ruleWords, labels, 0.05, { alpha: 0.25, rows: subset });
    const want = plainBest(s.data, subset.length, 9, labels, 0.05);
    assert.deepEqual(Array.from(got.rule), Array.from(want.rule));
    // Another template's words over the same rows.
    const other = c.rowWords.map((ws) => ws.slice().reverse().concat(['extra']));
    const s2 = mt.withWords(other).scores(c.rules, c.ruleWords, { alpha: 0.25 });
    assert.deepEqual(
      Array.from(s2.data),
      Array.from(plainScores(c.rows, c.rules, other, c.ruleWords, 0.25, 10)),
    );
  }));

test('vocabularyOverlap counts every row occurrence of a rule word once per rule (Eq. 2.6)', () => {
  const o = vocabularyOverlap(
    [['oil', 'oil', 'bank'], [], ['nasa']],
    [['oil', 'oil'], ['bank', 'nasa'], []],
    4,
  );
  assert.deepEqual(Array.from(o), [0.5, 0.25, 0, 0, 0, 0, 0, 0.25, 0]);
});

test('RowMatcher: bad input gives named errors', () => {
  const rows = Tensor.from([1, 0, 0, 1], [2, 2]);
  assert.throws(() => RowMatcher.prepare(rows, [['a']], 10), ShapeError);
  assert.throws(() => RowMatcher.prepare(rows, [['a'], []], 0), ValueError);
  assert.throws(() => RowMatcher.prepare(Tensor.from([1, 0, 0, 0], [2, 2]), [[], []]), /row 1 has zero norm/);
  assert.throws(() => RowMatcher.prepare(Tensor.from([1, NaN, 0, 1], [2, 2]), [[], []]), NonFiniteError);
  const mt = RowMatcher.prepare(rows, [['a'], []]);
  assert.throws(() => mt.best(Tensor.from([1, 1], [1, 2]), [['a']], [0, 1], 0), ShapeError);
  assert.throws(() => mt.scores(Tensor.from([1, 1, 1], [1, 3]), [['a']]), ShapeError);
  assert.throws(() => mt.scores(Tensor.from([1, 1], [1, 2]), [['a']], { rows: [2] }), /row 2 outside/);
  assert.throws(() => mt.scores(Tensor.from([1, 1], [1, 2]), [['a']], { alpha: 2 }), ValueError);
  assert.throws(() => mt.scores(Tensor.from([0, 0], [1, 2]), [['a']]), NonFiniteError);
  const none = mt.best(new Tensor(new Float32Array(0), [0, 2]), [], [], 0);
  assert.deepEqual(Array.from(none.rule), [-1, -1]);
});
