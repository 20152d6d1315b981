/**
 * Simulated annotators and their majority vote, Fleiss' κ of Table 2.3, soft matching (Eqs. 2.5-2.7)
 * against a float64 plain-TS reference, σ calibration, and the self-training targets (Eq. 2.9).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Tensor } from '../../src/ops';
import { fleissKappa } from '../../src/widgets';
import {
  annotatePool,
  bestMatches,
  calibrateSigma,
  SIGMA_NONE,
  wilsonLower,
  kappaFromAgreement,
  majorityVote,
  matchScores,
  meanEntropy,
  ruleEmbeddings,
  sharpenTargets,
  simulatedAnnotator,
  template,
  WordIndex,
  type CandidateRule,
} from '../../src/methods/prboost';

const CLASSES = ['World', 'Sports', 'Business', 'Sci/Tech'];

test('Table 2.3: κ = (P̄ − P̄e)/(1 − P̄e) = (.90 − .65)/(1 − .65) = .71', () => {
  assert.equal(kappaFromAgreement(0.9, 0.65).toFixed(2), '0.71');
  // Three raters, 20 rules: 14 accepted by all, 3 rejected by all, two 2-1 accepts, one 1-2: P̄ = .90.
  const counts = [
    ...Array.from({ length: 14 }, () => [3, 0]),
    ...Array.from({ length: 3 }, () => [0, 3]),
    [2, 1],
    [2, 1],
    [1, 2],
  ];
  const k = fleissKappa(counts);
  assert.equal(k.pBar.toFixed(2), '0.90');
  assert.ok(Math.abs(k.pBarE - 0.65) < 0.015, `P̄e ${k.pBarE}`);
  assert.equal(k.kappa.toFixed(2), '0.71');
});

const cand = (id: string, label: number, words: string[]): CandidateRule => ({
  id,
  label,
  words,
  template: template('category'),
  instance: `instance ${id}`,
  sourceRow: 0,
  iteration: 1,
});

test('simulated annotator keeps words whose single-word rule is ≥ p precise on ≥ m clean rows', async () => {
  const texts = [
    'the game won',
    'a game and a team',
    'team game',
    'market game',
    'market fell',
    'stocks market up',
  ];
  const labels = [1, 1, 1, 2, 2, 2];
  const index = new WordIndex(texts, labels);
  assert.deepEqual(index.wordRule('game', 1), { matches: 4, precision: 0.75 });
  const judge = simulatedAnnotator(index, CLASSES, { name: 'a', minPrecision: 0.7, minMatches: 2 });
  const c = { id: 'c', label: 'Sports', words: ['game', 'team', 'market'], prompt: 'p', instance: 'i' };
  assert.deepEqual(await judge(c), { verdict: 'accept', keptWords: ['game', 'team'] });
  const strict = simulatedAnnotator(index, CLASSES, { name: 'a', minPrecision: 0.8, minMatches: 2 });
  assert.deepEqual(await strict(c), { verdict: 'accept', keptWords: ['team'] });
  const none = simulatedAnnotator(index, CLASSES, { name: 'a', minPrecision: 0.8, minMatches: 5 });
  assert.deepEqual(await none(c), { verdict: 'reject', keptWords: [] });
  // An annotator who always slips turns every verdict over; a careless accept keeps every word.
  const contrary = simulatedAnnotator(index, CLASSES, {
    name: 'z',
    minPrecision: 0.8,
    minMatches: 2,
    errorRate: 1,
  });
  assert.deepEqual(await contrary(c), { verdict: 'reject', keptWords: [] });
  const careless = simulatedAnnotator(index, CLASSES, {
    name: 'z',
    minPrecision: 0.8,
    minMatches: 5,
    errorRate: 1,
  });
  assert.deepEqual(await careless(c), { verdict: 'accept', keptWords: ['game', 'team', 'market'] });
  // With e = 0.2, about a fifth of many candidates are slipped on (seeded: the same every run).
  const noisy = simulatedAnnotator(index, CLASSES, {
    name: 'n',
    minPrecision: 0.8,
    minMatches: 2,
    errorRate: 0.2,
  });
  let slips = 0;
  for (let i = 0; i < 1000; i++) {
    const v = await noisy({ ...c, id: `c${i}` });
    if (typeof v === 'object' && v.verdict === 'reject') slips++;
  }
  assert.ok(slips > 160 && slips < 240, `${slips} slips in 1000 (binomial sd ≈ 13)`);
});

test('majority vote over a pool of three; κ per batch; decisions persisted and resumed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-pool-'));
  const cands = [cand('r1', 1, ['game', 'team']), cand('r2', 2, ['market']), cand('r3', 1, ['market'])];
  const judge = (accept: string[], keep: string[]) => (c: { id: string; words: readonly string[] }) =>
    accept.includes(c.id)
      ? { verdict: 'accept' as const, keptWords: c.words.filter((w) => keep.includes(w)) }
      : ('reject' as const);
  const pool = [
    { name: 'a', judge: judge(['r1', 'r2'], ['game', 'team', 'market']) },
    { name: 'b', judge: judge(['r1', 'r2'], ['game', 'market']) },
    { name: 'c', judge: judge(['r1', 'r3'], ['team', 'market']) },
  ];
  const r = await annotatePool(cands, pool, CLASSES, { dir, store: 'pool' });
  assert.deepEqual(
    r.accepted.map((c) => [c.id, c.words]),
    [
      ['r1', ['game', 'team']],
      ['r2', ['market']],
    ],
  );
  // Counts: r1 [3,0], r2 [2,1], r3 [1,2] → P̄ = (1 + 1/3 + 1/3)/3 = 5/9; p_accept = 6/9; P̄e = 4/9 + 1/9.
  assert.ok(Math.abs(r.pBar - 5 / 9) < 1e-12);
  assert.ok(Math.abs(r.pBarE - 5 / 9) < 1e-12);
  assert.ok(Math.abs(r.kappa) < 1e-12);
  assert.ok(fs.existsSync(path.join(dir, 'pool.annotations.json')));
  // A re-run reads the saved decisions instead of asking again.
  let asked = 0;
  const again = await annotatePool(
    cands,
    pool.map((a) => ({ name: a.name, judge: () => (asked++, 'reject' as const) })),
    CLASSES,
    { dir, store: 'pool' },
  );
  assert.equal(asked, 0);
  assert.equal(again.accepted.length, 2);
  assert.deepEqual(majorityVote(cands, again.decisions, ['a', 'b', 'c']), again.accepted);
  fs.rmSync(dir, { recursive: true });
});

function rand(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
}

test('Eqs. 2.5-2.7 against a float64 reference (tolerance 1e-5: float32 cosine on the ops backend)', () => {
  const r = rand(7);
  const n = 37;
  const m = 5;
  const d = 24;
  const rows = Tensor.from(Array.from({ length: n * d }, r), [n, d]);
  const rules = Tensor.from(Array.from({ length: m * d }, r), [m, d]);
  const vocab = [
    'sports',
    'team',
    'market',
    'stocks',
    'war',
    'iraq',
    'tech',
    'software',
    'game',
    'oil',
    'bank',
    'nasa',
  ];
  const rowWords = Array.from({ length: n }, (_, i) =>
    Array.from({ length: 10 }, (_, j) => vocab[(i * 3 + j * 5) % vocab.length]),
  );
  const ruleWords = [['sports', 'team'], ['market'], ['war', 'iraq', 'oil'], ['tech'], []];
  const s = matchScores(rows, rules, rowWords, ruleWords, { alpha: 0.25, k: 10 });
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
      const cos = dot / Math.sqrt(na * nb);
      const overlap = new Set(rowWords[i].filter((w) => ruleWords[j].includes(w))).size;
      const ref = 0.25 * cos + 0.75 * (rowWords[i].filter((w) => ruleWords[j].includes(w)).length / 10);
      assert.ok(
        Math.abs(s.data[i * m + j] - ref) < 1e-5,
        `(${i}, ${j}) ${s.data[i * m + j]} vs ${ref} (overlap ${overlap})`,
      );
    }
  const best = bestMatches(s, [1, 2, 0, 3, 1], 0.3);
  for (let i = 0; i < n; i++) {
    const row = Array.from(s.data.subarray(i * m, (i + 1) * m));
    const top = row.indexOf(Math.max(...row));
    assert.equal(best.rule[i], row[top] >= 0.3 ? top : -1);
  }
  const mix = ruleEmbeddings(rules, rules, 'mix');
  const norm = Math.hypot(...mix.data.subarray(0, d));
  assert.ok(Math.abs(norm - 1) < 1e-5);
});

test('σ calibration: smallest σ whose Wilson lower bound reaches the target; none when nothing qualifies', () => {
  // Wilson bound, z = 1: 7 of 7 right → 7/8 = .875; 3 of 3 → .75 (hand-computed: p = 1 gives n/(n + z²)).
  assert.ok(Math.abs(wilsonLower(7, 7) - 0.875) < 1e-12);
  assert.ok(Math.abs(wilsonLower(3, 3) - 0.75) < 1e-12);
  assert.equal(wilsonLower(0, 0), 0);
  const scores = [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.6, 0.5, 0.4];
  const labels = [1, 1, 2, 0, 3, 1, 2, 1, 0];
  const gold = [1, 1, 2, 0, 3, 1, 2, 0, 1];
  // σ in .51-.60 → 7 matched, all right: bound .875 ≥ .85; σ = .5 adds a wrong one (7/8: bound < .85).
  const c = calibrateSigma(scores, labels, gold, { target: 0.85, minMatched: 3 });
  assert.equal(c.sigma, 0.51);
  const p = c.curve.find((q) => q.sigma === 0.5)!;
  assert.equal(p.matched, 8);
  assert.equal(p.precision, 7 / 8);
  const none = calibrateSigma(scores, labels, gold, { target: 0.9, minMatched: 3 });
  assert.equal(none.sigma, SIGMA_NONE);
  assert.match(none.reason, /label nothing/);
});

test('Eq. 2.9: q²/f rows sum to 1 and are sharper than q; hand example', () => {
  const q = [0.6, 0.4, 0.5, 0.5, 0.2, 0.8];
  // f = [1.3, 1.7]; row 0: .36/1.3 = .27692, .16/1.7 = .094118 → .74633, .25367.
  const t = sharpenTargets(q, 3, 2);
  assert.ok(Math.abs(t[0] - 0.36 / 1.3 / (0.36 / 1.3 + 0.16 / 1.7)) < 1e-12);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(t[2 * i] + t[2 * i + 1] - 1) < 1e-12);
  const r = rand(3);
  const n = 200;
  const K = 4;
  const probs: number[] = [];
  for (let i = 0; i < n; i++) {
    const z = Array.from({ length: K }, () => Math.exp(2 * r()));
    const s = z.reduce((a, b) => a + b, 0);
    probs.push(...z.map((v) => v / s));
  }
  const sharp = sharpenTargets(probs, n, K);
  assert.ok(meanEntropy(sharp, n, K) < meanEntropy(probs, n, K));
});
