/**
 * The simulated annotator's evidence (text, LM vocabulary, both) on a hand-made clean set, and the match
 * diagnostics of a run (stand-in models, real AG News rows): the best rule's score, vocabulary overlap and
 * cosine recomputed independently in float64 from Eqs. 2.5-2.7, and the diagnostics' counts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ValueError } from '../../src/errors';
import {
  matchDiagnostics,
  matchDiagnosticsRows,
  ruleReach,
  ruleReachRows,
  calibrationFigure,
  calibrationRows,
  prboostConfig,
  prepareWorkspace,
  PrboostRun,
  WordIndex,
  type SigmaRows,
} from '../../src/methods/prboost';
import { hashingEncoder, longestWordsLM, useSharedData } from './helpers';

useSharedData();
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-diag-'));
process.env.EFFLAB_PRBOOST_CACHE = cacheDir;

test('WordIndex: a word is associated with a row by its text, its LM words, or either', () => {
  const texts = ['the court ruled on the law', 'a new law for banks', 'markets rally', 'court drama'];
  const labels = [0, 2, 2, 1];
  const vocab = [['world', 'law'], ['business'], ['business', 'law'], ['entertainment']];
  // "law": text rows {0, 1} → label 0 precision 1/2; LM rows {0, 2} → 1/2; either {0, 1, 2} → 1/3.
  assert.deepEqual(new WordIndex(texts, labels).wordRule('law', 0), { matches: 2, precision: 0.5 });
  assert.deepEqual(new WordIndex(texts, labels, vocab, 'lm').wordRule('law', 2), {
    matches: 2,
    precision: 0.5,
  });
  const both = new WordIndex(texts, labels, vocab, 'text+lm').wordRule('law', 2);
  assert.equal(both.matches, 3);
  assert.ok(Math.abs(both.precision - 2 / 3) < 1e-15);
  // "business" never occurs in a text: only the LM view sees it.
  assert.equal(new WordIndex(texts, labels, vocab, 'text').wordRule('business', 2).matches, 0);
  assert.deepEqual(new WordIndex(texts, labels, vocab).wordRule('business', 2), { matches: 2, precision: 1 });
  assert.throws(() => new WordIndex(texts, labels, undefined, 'lm'), ValueError);
  assert.throws(() => new WordIndex(texts, labels, vocab.slice(1), 'text+lm'), /LM words of every row/);
});

const D = 48;
const encoder = hashingEncoder(D, false);
// Proposes the prompt's longest words: rows sharing rare long words share vocabulary.
const lm = longestWordsLM;

test('bestRules and matchDiagnostics agree with an independent float64 recomputation of Eq. 2.7', async () => {
  const cfg = prboostConfig('quick', {
    unlabelledLimit: 200,
    testLimit: 60,
    iterations: 2,
    topN: 6,
    weakModel: { epochs: 4, hidden: 16, batchSize: 32, selfTrainRounds: 1, selfTrainEpochs: 1 },
  });
  const ws = await prepareWorkspace(cfg, { lm, encoder });
  // The annotators' evidence needs D_l's LM words too: every clean row has them.
  const vu = ws.words.get(ws.templates[0].name)!;
  assert.ok([...ws.labelled, ...ws.validation].every((p) => vu[p].words.length > 0));
  const run = new PrboostRun(ws, { storeDir: cacheDir });
  await run.run();
  assert.ok(run.rules.length > 0, 'the stand-in run accepted rules');
  const rows = ws.unlabelled.filter((p) => ws.keywordLabels[p] < 0);
  const b = run.bestRules(rows);
  // Reference: rule embeddings as the run built them (e_r = normalised sum of word and instance embeddings).
  const unit = (v: Float64Array): Float64Array => {
    const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0)) || 1;
    return v.map((x) => x / n);
  };
  const emb = (texts: string[]): Float64Array[] => {
    const e = encoder.embed(texts);
    return texts.map((_, i) => Float64Array.from(e.data.subarray(i * D, (i + 1) * D)));
  };
  const rowOf = (p: number): Float64Array =>
    Float64Array.from(ws.embeddings.data.subarray(p * D, (p + 1) * D));
  const ruleE = run.rules.map((r) => {
    const w = unit(emb([r.words.join(', ')])[0]);
    const src = ws.items.findIndex((it) => it.row === r.sourceRow);
    const inst = unit(rowOf(src));
    return unit(w.map((x, j) => x + inst[j]));
  });
  const a = cfg.alpha;
  let maxErr = 0;
  rows.forEach((p, i) => {
    const e = unit(rowOf(p));
    const scores = run.rules.map((r, j) => {
      const cos = e.reduce((s, x, k) => s + x * ruleE[j][k], 0);
      const ov = r.words.filter((w) => vu[p].words.includes(w)).length;
      return { s: a * cos + ((1 - a) * ov) / cfg.k, cos, ov };
    });
    const best = scores.reduce((m, x, j) => (x.s > scores[m].s ? j : m), 0);
    maxErr = Math.max(maxErr, Math.abs(b.score[i] - scores[best].s));
    // Float32 scores: near-ties may pick another rule; then the scores must agree anyway.
    if (b.rule[i] === best) {
      assert.equal(b.overlap[i], scores[best].ov);
      assert.ok(
        Math.abs(b.cosine[i] - scores[best].cos) < 1e-4,
        `cosine of row ${p}: ${b.cosine[i]} vs ${scores[best].cos}; score ${b.score[i]} vs ${scores[best].s}, ov ${b.overlap[i]}`,
      );
    }
  });
  // Float32 storage of embeddings and scores: 1e-5 covers their rounding on |s| ≤ 1.
  assert.ok(maxErr < 1e-5, `best score differs from the float64 reference by ${maxErr}`);

  // σ was calibrated on the default rows (sigmaRows 'uncovered-clean'): at σ = 0 each is matched by its best rule.
  assert.equal(cfg.sigmaRows, 'uncovered-clean');
  assert.equal(
    run.calibration!.curve[0].matched,
    calibrationRows(
      ws,
      run.rules.map((r) => r.sourceRow),
    ).length,
  );
  const diags = matchDiagnostics(run);
  assert.equal(diags.length, 2);
  const du = diags[1];
  assert.equal(du.rows, rows.length);
  assert.equal(
    du.buckets.reduce((s, x) => s + x.rows, 0),
    rows.length,
  );
  const sigma = run.calibration!.sigma;
  const expect = rows.filter((_, i) => b.score[i] >= sigma).length;
  assert.equal(du.matched, expect);
  const share = rows.filter((_, i) => b.overlap[i] > 0).length / rows.length;
  assert.ok(Math.abs(du.overlapShare - share) < 1e-12);
  // Rule reach: the wins at σ partition the matched rows among the rules.
  const reach = ruleReach(run);
  assert.equal(reach.length, run.rules.length);
  assert.equal(
    reach.reduce((a, r) => a + r.unlabelledWins, 0),
    du.matched,
  );
  const vAll = run.bestRules(ws.validation);
  assert.equal(
    reach.reduce((a, r) => a + r.validationWins, 0),
    ws.validation.filter((_, i) => vAll.score[i] >= sigma).length,
  );
  assert.equal(ruleReachRows(reach).length, run.rules.length);
  // The calibration rows of each sigmaRows choice.
  const with_ = (sigmaRows: SigmaRows) => ({ ...ws, config: { ...ws.config, sigmaRows } });
  const sources = run.rules.map((r) => r.sourceRow);
  assert.deepEqual(calibrationRows(with_('all'), sources), [...ws.validation]);
  const unc = calibrationRows(with_('uncovered'), sources);
  assert.deepEqual(
    unc,
    ws.validation.filter((p) => ws.keywordLabels[p] < 0),
  );
  const clean = calibrationRows(with_('uncovered-clean'), sources);
  const fromDl = clean.slice(unc.length);
  assert.deepEqual(clean.slice(0, unc.length), unc);
  assert.ok(fromDl.every((p) => ws.labelled.includes(p) && ws.keywordLabels[p] < 0));
  assert.ok(
    fromDl.every((p) => !sources.includes(ws.items[p].row)),
    'a rule source row was kept',
  );
  const dlUncovered = ws.labelled.filter((p) => ws.keywordLabels[p] < 0);
  assert.equal(fromDl.length, dlUncovered.filter((p) => !sources.includes(ws.items[p].row)).length);
  const table = matchDiagnosticsRows(diags);
  assert.equal(table.length, 10);
  const fig = calibrationFigure(run.calibration!, { name: 'D_u', curve: du.curve });
  assert.equal(fig.data.length, 6);
});
