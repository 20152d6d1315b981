/**
 * The fused Algorithm 1 step (src/methods/dorm/step.ts and the preallocated solver loop) against the
 * implementation it replaced (tests/dorm/reference: three generic trainer passes per step through
 * `pairLosses`, fresh arrays everywhere), on fixed seeds with dropout on.
 * Tolerances: in float64 the two differ only in summation order (the validation and training rows of θ now
 * share one pass, so their gradient contributions are summed inside one product rather than added
 * afterwards): 1e-10 relative. In float32 the products round to float32 (the ops `matmul`), and a
 * 256-row product rounds differently from two 128-row ones added in float64: 2e-5 of the largest entry.
 * Over a 40-step run the 1e-16 differences grow (Adam divides by √v, which amplifies them in entries whose
 * gradients are near zero): θ and u within 1e-7 relative in float64, 1e-4 in float32 (20 steps).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  createHead,
  lagrangian,
  LagrangianWorkspace,
  makeSyntheticTask,
  Rng,
  runBilevel,
  splitTask,
  type HeadConfig,
  type LagrangianInput,
} from '../../src/methods/dorm';
import { lagrangianReference } from './reference/bilevel';
import { runBilevelReference } from './reference/solver';

const task = makeSyntheticTask({ pairs: 900, dim: 48, seed: 21, attributes: 3 });
const split = splitTask(task, { seed: 21 });

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]));
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
  }
  return diff / Math.max(scale, 1e-300);
}

function input(cfg: HeadConfig, B: number, V: number, seed: number): LagrangianInput {
  const head = createHead(cfg, seed);
  const rng = new Rng(seed + 1);
  return {
    head,
    theta: head.params.map((x) => x + 0.05 * rng.normal()),
    proxy: head.params.map((x) => x + 0.05 * rng.normal()),
    train: split.train,
    validation: split.validation,
    trainRows: Int32Array.from({ length: B }, () => rng.int(split.train.n)),
    weights: Float64Array.from({ length: B }, () => 0.2 + 2 * rng.next()),
    prior: Float64Array.from({ length: B }, () => 0.5 + rng.next()),
    valRows: Int32Array.from({ length: V }, () => rng.int(split.validation.n)),
    alpha: 10,
    beta: 1.3,
    dropoutSeed: 77,
  };
}

for (const precision of ['float64', 'float32'] as const) {
  const tol = precision === 'float64' ? 1e-10 : 2e-5;
  for (const loss of ['bt', 'regression'] as const) {
    test(`fused L_α and gradients equal the previous implementation (${precision}, ${loss}, dropout on)`, () => {
      const cfg: HeadConfig = {
        dim: task.dim,
        hidden: 16,
        outputs: loss === 'bt' ? 1 : 3,
        dropout: 0.2,
        loss,
        precision,
      };
      for (const [B, V] of [
        [32, 16],
        [7, 5],
      ]) {
        const x = input(cfg, B, V, 3 + B);
        const want = lagrangianReference(x);
        // Twice through one workspace: the reused buffers give the same answer as fresh ones.
        const ws = new LagrangianWorkspace(cfg);
        ws.evaluate(input(cfg, 9, 4, 99));
        const got = ws.evaluate(x);
        const fresh = lagrangian(x);
        const errs = {
          value: Math.abs(got.value - want.value) / Math.abs(want.value),
          valLoss: Math.abs(got.valLoss - want.valLoss) / Math.abs(want.valLoss),
          gradTheta: maxRelDiff(got.gradTheta, want.gradTheta),
          gradProxy: maxRelDiff(got.gradProxyTrain, want.gradProxyTrain),
          gradWeights: maxRelDiff(got.gradWeights, want.gradWeights),
          lossTheta: maxRelDiff(got.lossTheta, want.lossTheta),
          lossProxy: maxRelDiff(got.lossProxy, want.lossProxy),
        };
        console.log(`METRIC dorm_step_equal ${precision} ${loss} B=${B} ${JSON.stringify(errs)}`);
        for (const [k, e] of Object.entries(errs))
          assert.ok(e <= tol, `${k}: relative difference ${e} > ${tol}`);
        assert.deepEqual(fresh.gradTheta, Float64Array.from(got.gradTheta));
        // not vacuous: dropout changes the result
        const noDrop = lagrangianReference({ ...x, dropoutSeed: undefined });
        assert.ok(maxRelDiff(noDrop.gradTheta, want.gradTheta) > 1e-3);
      }
    });
  }
}

test('Algorithm 1 run: the optimised solver follows the previous one step for step (per example and per source)', () => {
  const cfg64: HeadConfig = {
    dim: task.dim,
    hidden: 12,
    outputs: 1,
    dropout: 0.1,
    loss: 'bt',
    precision: 'float64',
  };
  const rng = new Rng(5);
  const prior = Float64Array.from({ length: split.train.n }, () => 0.5 + rng.next());
  for (const weighting of ['example', 'source'] as const) {
    const opts = { steps: 40, batchSize: 32, valBatchSize: 16, seed: 8, prior, weighting, logEvery: 10 };
    const got = runBilevel(cfg64, split.train, split.validation, 4, opts);
    const want = runBilevelReference(cfg64, split.train, split.validation, 4, opts);
    const errs = [
      maxRelDiff(got.theta, want.theta),
      maxRelDiff(got.proxy, want.proxy),
      maxRelDiff(got.weights, want.weights),
    ];
    console.log(`METRIC dorm_step_run_equal float64 ${weighting} θ ${errs[0]} u ${errs[1]} w ${errs[2]}`);
    errs.forEach((e) => assert.ok(e < 1e-7, `${weighting}: relative difference ${e}`));
    assert.equal(got.history.length, want.history.length);
    got.history.forEach((h, i) => assert.ok(Math.abs(h.valLoss - want.history[i].valLoss) < 1e-9 || i === 0));
    // the weights moved (the comparison is not vacuous)
    assert.ok(maxRelDiff(got.weights, new Float64Array(got.weights.length).fill(1)) > 1e-3);
  }
  // float32 (the production path): 20 steps stay within float32 rounding of the previous implementation.
  const cfg32: HeadConfig = { ...cfg64, precision: 'float32' };
  const opts = { steps: 20, batchSize: 32, valBatchSize: 16, seed: 8, prior };
  const got = runBilevel(cfg32, split.train, split.validation, 4, opts);
  const want = runBilevelReference(cfg32, split.train, split.validation, 4, opts);
  const e = [maxRelDiff(got.theta, want.theta), maxRelDiff(got.weights, want.weights)];
  console.log(`METRIC dorm_step_run_equal float32 θ ${e[0]} w ${e[1]}`);
  e.forEach((v) => assert.ok(v < 1e-4, `float32 run: relative difference ${v}`));
});

test('bad input to the fused step: non-finite θ or u, rows outside the set, a head of another shape', () => {
  const cfg: HeadConfig = { dim: task.dim, hidden: 8, outputs: 1, dropout: 0.1, loss: 'bt' };
  const x = input(cfg, 6, 4, 2);
  const badT = Float64Array.from(x.theta);
  badT[17] = NaN;
  assert.throws(() => lagrangian({ ...x, theta: badT }), /θ\[17\] = NaN is not finite/);
  const badU = Float64Array.from(x.proxy);
  badU[3] = -Infinity;
  assert.throws(() => lagrangian({ ...x, proxy: badU }), /u\[3\] = -Infinity is not finite/);
  assert.throws(
    () => lagrangian({ ...x, valRows: [0, 1, split.validation.n] }),
    /validation row \d+ is not in/,
  );
  assert.throws(
    () => new LagrangianWorkspace({ ...cfg, hidden: 9 }).evaluate(x),
    /configuration this workspace was built for/,
  );
  // and a good call still works after the refusals (buffers intact)
  assert.ok(Number.isFinite(lagrangian(x).value));
});
