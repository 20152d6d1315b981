import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createHead,
  lagrangian,
  makeSyntheticTask,
  pairLosses,
  priorWeights,
  Rng,
  runBilevel,
  splitTask,
  trainWeighted,
  type HeadConfig,
  type LagrangianInput,
} from '../../src/methods/dorm';

const task = makeSyntheticTask({ pairs: 1200, seed: 11 });
const split = splitTask(task, { seed: 11 });

function fdInput(loss: 'bt' | 'regression'): LagrangianInput {
  const cfg: HeadConfig = {
    dim: task.dim,
    hidden: 6,
    outputs: loss === 'bt' ? 1 : 3,
    dropout: 0.2,
    loss,
    precision: 'float64', // finite differences need float64 (float32 rounding alone is ~1e-7·|L|/h)
  };
  const head = createHead(cfg, 5);
  const rng = new Rng(9);
  const theta = head.params.map((x) => x + 0.05 * rng.normal());
  const proxy = head.params.map((x) => x + 0.05 * rng.normal());
  return {
    head,
    theta,
    proxy,
    train: split.train,
    validation: split.validation,
    trainRows: [3, 10, 42, 77, 5],
    weights: [0.4, 1.3, 0.9, 2.0, 0.1],
    prior: [1, 0.5, 1.5, 0.2, 1],
    valRows: [0, 4, 9],
    alpha: 10,
    beta: 1.7,
    dropoutSeed: 123,
  };
}

/** Central difference in float64; h = 1e-6 keeps truncation (~h²) and rounding (~1e-16/h) errors below 1e-8. */
function central(f: (h: number) => number, h = 1e-6): number {
  return (f(h) - f(-h)) / (2 * h);
}

for (const loss of ['bt', 'regression'] as const) {
  test(`Eqs. 3.8 / 3.10 (${loss}): every gradient of L_α matches finite differences`, () => {
    const x = fdInput(loss);
    const g = lagrangian(x);
    const tol = (a: number, b: number) => Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b));
    const rng = new Rng(1);
    for (let t = 0; t < 25; t++) {
      const k = rng.int(x.theta.length);
      const fd = central((h) => {
        const th = Float64Array.from(x.theta);
        th[k] += h;
        return lagrangian({ ...x, theta: th }).value;
      });
      assert.ok(tol(g.gradTheta[k], fd), `∂L/∂θ_${k}: ${g.gradTheta[k]} vs ${fd}`);
      const fu = central((h) => {
        const u = Float64Array.from(x.proxy);
        u[k] += h;
        return lagrangian({ ...x, proxy: u }).value;
      });
      // ∂L_α/∂u = −α ∇_u L_tr(w, u).
      assert.ok(
        tol(-x.alpha * g.gradProxyTrain[k], fu),
        `∂L/∂u_${k}: ${-x.alpha * g.gradProxyTrain[k]} vs ${fu}`,
      );
    }
    for (let i = 0; i < x.weights.length; i++) {
      const fw = central((h) => {
        const w = Array.from(x.weights);
        w[i] += h;
        return lagrangian({ ...x, weights: w }).value;
      });
      assert.ok(tol(g.gradWeights[i], fw), `∂L/∂w_${i}: ${g.gradWeights[i]} vs ${fw}`);
    }
    // The per-pair losses the weight gradient reads are those of pairLosses with the same masks.
    const lt = pairLosses(x.head, x.theta, x.train, {
      rows: x.trainRows,
      dropout: { seed: 123, stream: 0 },
    });
    lt.forEach((l, i) => assert.equal(l, g.lossTheta[i]));
  });
}

const cfg: HeadConfig = { dim: task.dim, hidden: 16, outputs: 1, dropout: 0.1, loss: 'bt' };
const fit = trainWeighted(cfg, split.train, { seed: 2 });
const prior = priorWeights(fit.head, fit.params, split.train, { passes: 10 }).w0Normalized;

test('β → ∞ holds the weights at the prior ("prior only"); β = 0 is "bilevel without prior"', () => {
  const base = { epochs: 2, seed: 4 };
  const inf = runBilevel(cfg, split.train, split.validation, 4, { ...base, prior, beta: Infinity });
  inf.weights.forEach((w, i) => assert.equal(w, prior[i]));
  const big = runBilevel(cfg, split.train, split.validation, 4, { ...base, prior, beta: 1e7, init: 'prior' });
  big.weights.forEach((w, i) => assert.ok(Math.abs(w - prior[i]) < 1e-4, `w_${i} ${w} vs ${prior[i]}`));
  const zero = runBilevel(cfg, split.train, split.validation, 4, { ...base, prior, beta: 0 });
  const none = runBilevel(cfg, split.train, split.validation, 4, { ...base });
  assert.deepEqual(zero.weights, none.weights);
  assert.deepEqual(zero.theta, none.theta);
  // and the weights did move away from 1 (the test is not vacuous)
  assert.ok(none.weights.some((w) => Math.abs(w - 1) > 0.05));
  const ws = runBilevel(cfg, split.train, split.validation, 4, {
    ...base,
    prior,
    beta: Infinity,
    weighting: 'source',
  });
  const shares = ws.history[ws.history.length - 1].shares;
  const ps = [0, 1, 2, 3].map(
    (s) => prior.reduce((a, w, i) => a + (split.train.source[i] === s ? w : 0), 0) / prior.length,
  );
  shares.forEach((v, s) => assert.ok(Math.abs(v - ps[s]) < 1e-9));
});

test('synthetic task: DORM gives flipped pairs less weight than clean ones and the noisy sources lose share', () => {
  const r = runBilevel(cfg, split.train, split.validation, 4, { seed: 5, prior });
  const first = r.history[0];
  const last = r.history[r.history.length - 1];
  first.shares.forEach((s) => assert.ok(Math.abs(s - 0.25) < 0.01));
  console.log(
    `METRIC dorm_synthetic_shares ${last.shares.map((s) => s.toFixed(3)).join(' ')} auroc ${last.auroc.toFixed(3)} clean ${last.meanClean.toFixed(3)} flipped ${last.meanFlipped.toFixed(3)}`,
  );
  assert.ok(last.meanFlipped < 0.8 * last.meanClean);
  assert.ok(last.shares[3] < 0.25 && last.shares[2] < 0.25 && last.shares[0] > 0.25);
  assert.ok(
    last.shares[0] > last.shares[1] && last.shares[1] > last.shares[2] && last.shares[2] > last.shares[3],
  );
  assert.ok(last.auroc > 0.75);
  assert.ok(Math.abs(last.shares.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  const src = runBilevel(cfg, split.train, split.validation, 4, { seed: 5, weighting: 'source' });
  const s = src.history[src.history.length - 1].shares;
  assert.ok(s[3] < 0.25 && s[0] > s[3], `per-source shares ${s}`);
});

test('divergence: a step that makes θ non-finite is undone and the learning rates halved, state kept', () => {
  const init = createHead(cfg, 4).params;
  const r = runBilevel(cfg, split.train, split.validation, 4, {
    steps: 3,
    seed: 4,
    lrTheta: Infinity,
    initParams: init,
  });
  assert.equal(r.status, 'diverged');
  assert.match(r.message, /non-finite.*learning rates/);
  assert.ok(r.rejected.length > 0 && r.rejected[0].reason.includes('θ'));
  assert.ok(r.rejected[1].lrProxy < r.rejected[0].lrProxy);
  assert.deepEqual(r.theta, init);
  r.weights.forEach((w) => assert.ok(Number.isFinite(w)));
});

test('divergence in the weights: a step that makes w non-finite is undone and reported', () => {
  const r = runBilevel(cfg, split.train, split.validation, 4, {
    steps: 3,
    seed: 4,
    prior,
    lrWeights: Infinity,
  });
  assert.equal(r.status, 'diverged');
  assert.ok(r.rejected.every((x) => x.reason === 'w became non-finite'));
  r.weights.forEach((w) => assert.equal(w, 1)); // uniform start kept
  r.theta.forEach((x) => assert.ok(Number.isFinite(x)));
});
