/**
 * Windowed evaluation: per-window NLL equals the model's own perplexity per window, the paired SE of the
 * perplexity ratio matches a numpy computation, calibration second moments match the layer inputs, and
 * the named evaluation and calibration texts are disjoint. Front helpers on hand-made points.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CALIBRATION_TEXT,
  EVAL_TEXT,
  bestWithin,
  calibrate,
  configCache,
  evaluateCache,
  fixedWindows,
  formatRatio,
  frontStartLayer,
  modelAttention,
  analyse,
  pairedRatio,
  paretoFront,
  planConfig,
  rowsOverlap,
  scoreWindows,
  whiten,
} from '../../src/methods/lorc';
import { CausalLM } from '../../src/models';
import type { TextTokenizer } from '../../src/models/tokenizer';
import { ShapeError, ValueError } from '../../src/errors';
import { tinyLlama } from '../models/tiny-model';
import { numpy } from './helpers';

test('pairedRatio: ratio, paired SE (delta method) and 95 % interval agree with numpy', () => {
  const a = [2.1, 3.4, 1.9, 2.8, 3.0, 2.2, 4.1, 2.6];
  const b = [2.0, 3.1, 1.9, 2.5, 2.9, 2.0, 3.6, 2.5];
  const ours = pairedRatio(a, b);
  const ref = numpy<{ ratio: number; se: number; lo: number; hi: number; ppl: number; refPpl: number }>(
    `
a = np.array(inp["a"]); b = np.array(inp["b"]); d = a - b; n = len(d)
se_d = d.std(ddof=1) / np.sqrt(n); r = np.exp(d.mean())
print(json.dumps({"ratio": r, "se": r * se_d, "lo": float(np.exp(d.mean() - 1.96 * se_d)),
                  "hi": float(np.exp(d.mean() + 1.96 * se_d)), "ppl": float(np.exp(a.mean())), "refPpl": float(np.exp(b.mean()))}))
`,
    { a, b },
  );
  // float64 on both sides: 1e-12 relative.
  for (const [k, v] of [
    ['ratio', ours.ratio],
    ['se', ours.se],
    ['ppl', ours.ppl],
    ['refPpl', ours.refPpl],
  ] as const)
    assert.ok(Math.abs(v - ref[k]) <= 1e-12 * Math.abs(ref[k]), `${k}: ${v} vs ${ref[k]}`);
  assert.ok(Math.abs(ours.ci95[0] - ref.lo) < 1e-12 && Math.abs(ours.ci95[1] - ref.hi) < 1e-12);
  assert.ok(Math.abs(ours.ratio - ours.ppl / ours.refPpl) < 1e-12, 'ratio = ppl / refPpl');
  // Pairing matters: shifting every window by the same amount leaves the SE at zero.
  const shifted = pairedRatio(
    b.map((x) => x + 0.05),
    b,
  );
  assert.ok(shifted.se < 1e-12 && Math.abs(shifted.ratio - Math.exp(0.05)) < 1e-12);
  assert.throws(() => pairedRatio([1, 2], [1]), ShapeError);
  assert.throws(() => pairedRatio([1, NaN], [1, 2]), ValueError);
});

test('fixedWindows cuts consecutive windows and refuses a short text; the named texts are disjoint', () => {
  const ids = Array.from({ length: 50 }, (_, i) => i);
  const w = fixedWindows(ids, 8, 6, 'digits');
  assert.equal(w.windows.length, 6);
  assert.deepEqual(w.windows[1], [8, 9, 10, 11, 12, 13, 14, 15]);
  assert.throws(() => fixedWindows(ids, 8, 7), ShapeError);
  assert.equal(rowsOverlap(EVAL_TEXT, CALIBRATION_TEXT), false, 'calibration must not overlap evaluation');
  assert.ok(EVAL_TEXT.windows * EVAL_TEXT.windowSize >= 4096, 'evaluation text has ≥ 4,096 tokens');
  assert.equal(rowsOverlap(EVAL_TEXT, { ...CALIBRATION_TEXT, endRow: 7300 }), true);
});

test('scoreWindows: per-window NLL equals CausalLM.perplexity on each window; evaluateCache pairs them', () => {
  const model = tinyLlama();
  const lm = new CausalLM(model, {} as TextTokenizer);
  const ids = Array.from({ length: 60 }, (_, i) => (i * 7 + 3) % 40);
  const w = fixedWindows(ids, 12, 5, 'synthetic');
  const ref = scoreWindows(model, w);
  w.windows.forEach((win, i) => {
    const p = lm.perplexity(win, { window: 12 });
    assert.ok(Math.abs(p.nll - ref.nll[i]) < 1e-6, `window ${i}: ${ref.nll[i]} vs ${p.nll}`);
  });
  assert.equal(ref.tokens, 5 * 11);
  const same = evaluateCache(model, w, () => model.createCache(), ref);
  assert.ok(
    Math.abs(same.ratio - 1) < 1e-12 && same.se === 0,
    'the full cache against itself: ratio 1, SE 0',
  );
  assert.equal(same.windowSize, 12);
});

test('calibrate collects XᵀX of every layer input; a whitened front config runs end to end', () => {
  const model = tinyLlama();
  const ids = Array.from({ length: 48 }, (_, i) => (i * 5 + 1) % 40);
  const cal = fixedWindows(ids, 16, 3, 'synthetic calibration');
  const stats = calibrate(model, cal);
  assert.equal(stats.tokens, 48);
  // Reference for layer 0: RMSNorm(embedding) rows, accumulated in float64.
  const D = model.config.hidden;
  const g0 = new Float64Array(D * D);
  for (const win of cal.windows) {
    const x = model.embedTokens(win);
    const w = model.weights.layers[0].attnNorm.data;
    for (let t = 0; t < win.length; t++) {
      let ms = 0;
      for (let j = 0; j < D; j++) ms += x.data[t * D + j] ** 2;
      const s = 1 / Math.sqrt(ms / D + model.config.rmsEps);
      const h = Array.from({ length: D }, (_, j) => x.data[t * D + j] * s * w[j]);
      for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) g0[i * D + j] += h[i] * h[j];
    }
  }
  let err = 0;
  let scale = 0;
  for (let i = 0; i < g0.length; i++) {
    err = Math.max(err, Math.abs(stats.grams[0][i] - g0[i]));
    scale = Math.max(scale, Math.abs(g0[i]));
  }
  assert.ok(err <= 1e-5 * scale, `layer-0 XᵀX off by ${err} (scale ${scale})`);
  const { shape, weights } = modelAttention(model);
  const an = analyse(shape, weights);
  const wh = whiten(an, stats);
  const evalW = fixedWindows(
    Array.from({ length: 40 }, (_, i) => (i * 3 + 2) % 40),
    10,
    4,
    'synthetic eval',
  );
  const ref = scoreWindows(model, evalW);
  const plan = planConfig(an, {
    name: 'whitened both',
    bases: 'whitened',
    schedule: 'uniform',
    keyRatio: 0.5,
    valueRatio: 0.25,
    skip: { kind: 'none' },
  });
  assert.deepEqual(plan.keyRanks, [8, 8]);
  assert.deepEqual(plan.valueRanks, [12, 12]);
  assert.ok(Math.abs(plan.removed - 0.375) < 1e-12);
  const r = evaluateCache(model, evalW, () => configCache(an, plan, wh), ref);
  assert.ok(Number.isFinite(r.ratio) && r.ratio > 0 && r.windows.length === 4);
  // At full rank on both sides the whitened cache is the model itself.
  const whole = planConfig(an, { ...plan, keyRatio: 0, valueRatio: 0 });
  const r0 = evaluateCache(model, evalW, () => configCache(an, whole, wh), ref);
  assert.ok(Math.abs(r0.ratio - 1) < 1e-9);
});

test('paretoFront and bestWithin read a front', () => {
  const pts = [
    { name: 'a', bytesPerToken: 100, ratio: 1.0, ci95: [1, 1] as [number, number] },
    { name: 'b', bytesPerToken: 80, ratio: 1.004, ci95: [1.001, 1.012] as [number, number] },
    { name: 'c', bytesPerToken: 80, ratio: 1.2, ci95: [1.1, 1.3] as [number, number] },
    { name: 'd', bytesPerToken: 60, ratio: 1.04, ci95: [1.02, 1.06] as [number, number] },
    { name: 'e', bytesPerToken: 70, ratio: 1.09, ci95: [1.05, 1.12] as [number, number] },
  ];
  assert.deepEqual(
    paretoFront(pts).map((p) => p.name),
    ['d', 'b', 'a'],
  );
  assert.equal(bestWithin(pts, 0.01)?.point.name, 'b');
  assert.equal(bestWithin(pts, 0.01)?.confident, false);
  assert.equal(bestWithin(pts, 0.05)?.point.name, 'd');
  assert.equal(bestWithin(pts, 0.05)?.confident, false);
  assert.equal(bestWithin(pts, 0.1)?.confident, true);
  assert.equal(bestWithin([pts[2]], 0.1), undefined);
});

test('one window has no standard error: pairedRatio gives NaN, formatRatio shows "n/a (1 window)"', () => {
  const one = pairedRatio([2.3], [2.0]);
  assert.ok(Math.abs(one.ratio - Math.exp(0.3)) < 1e-12, 'the ratio itself is defined');
  assert.ok(Number.isNaN(one.se) && Number.isNaN(one.ci95[0]) && Number.isNaN(one.ci95[1]));
  assert.equal(formatRatio(one), `${Math.exp(0.3).toFixed(4)} ± n/a (1 window)`);
  assert.ok(!formatRatio(one).includes('NaN'));
  // Two windows: a real SE, printed with the same format as the ratio.
  const two = pairedRatio([2.3, 2.1], [2.0, 2.0]);
  assert.equal(
    formatRatio(two, (x) => x.toFixed(3)),
    `${two.ratio.toFixed(3)} ± ${two.se.toFixed(3)}`,
  );
  assert.ok(two.se > 0);
  // Rows that only carry a window count (e.g. a table row) format the same way.
  assert.equal(formatRatio({ ratio: 1.5, se: NaN, windows: 1 }), '1.5000 ± n/a (1 window)');
});

test('configurations start at the reference residual of their first compressed layer: same NLL as a full forward', () => {
  const model = tinyLlama();
  const { shape, weights } = modelAttention(model);
  const an = analyse(shape, weights);
  const ids = Array.from({ length: 60 }, (_, i) => (i * 11 + 5) % 40);
  const w = fixedWindows(ids, 15, 4, 'synthetic');
  // Layer 0 held whole (custom skip), layer 1 compressed; and a config compressing layer 0 too.
  const skip0 = planConfig(an, {
    name: 'layer 1 only',
    bases: 'svd',
    schedule: 'uniform',
    keyRatio: 0.25,
    valueRatio: 0.25,
    skip: { kind: 'firstLayers', count: 1 },
  });
  const both = planConfig(an, { ...skip0, name: 'both layers', skip: { kind: 'none' } });
  assert.equal(frontStartLayer(an, [skip0]), 1);
  assert.equal(frontStartLayer(an, [skip0, both]), 0);
  const plain = scoreWindows(model, w);
  const kept = scoreWindows(model, w, undefined, { keepResidualAt: 1 });
  assert.deepEqual(kept.nll, plain.nll, 'keeping residuals does not change the reference');
  assert.equal(kept.residuals?.layer, 1);
  assert.equal(kept.residuals?.x.length, 4);
  for (const plan of [skip0, both]) {
    for (const valueMode of ['fold', 'reconstruct'] as const) {
      const mk = () => configCache(an, plan, undefined, { valueMode });
      const full = scoreWindows(model, w, mk); // every layer recomputed
      const resumed = evaluateCache(model, w, mk, kept);
      // Resuming runs the same ops on the same residual: identical float32 results.
      assert.deepEqual(resumed.nll, full.nll, `${plan.name} ${valueMode}`);
    }
    // Fold (Eq. 5.9) and reconstruct read the same compressed values: equal within float32 rounding.
    const f = scoreWindows(model, w, () => configCache(an, plan, undefined, { valueMode: 'fold' }));
    const r = scoreWindows(model, w, () => configCache(an, plan, undefined, { valueMode: 'reconstruct' }));
    f.nll.forEach((x, i) =>
      assert.ok(
        Math.abs(x - r.nll[i]) <= 1e-5 * Math.abs(x),
        `${plan.name} window ${i}: fold ${x} vs reconstruct ${r.nll[i]}`,
      ),
    );
  }
  // A compressed configuration differs from the model (so equality above is not vacuous).
  assert.ok(
    pairedRatio(
      scoreWindows(model, w, () => configCache(an, skip0)),
      plain,
    ).ratio !== 1,
  );
  // Residuals of other windows (other ids) are not reused: the result equals a full forward.
  const other = fixedWindows(ids.slice(2), 15, 3, 'shifted');
  const mk = () => configCache(an, skip0);
  assert.deepEqual(
    evaluateCache(model, other, mk, { ...scoreWindows(model, other), residuals: kept.residuals }).nll,
    scoreWindows(model, other, mk).nll,
  );
  assert.throws(() => scoreWindows(model, w, mk, { keepResidualAt: 1 }), ValueError);
  assert.throws(() => scoreWindows(model, w, undefined, { keepResidualAt: 3 }), ValueError);
});
