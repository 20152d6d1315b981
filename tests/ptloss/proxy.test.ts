import assert from 'node:assert/strict';
import { test } from 'node:test';
import { proxySolve, resolveKernelBackend, withBackend } from '../../src/ops';
import {
  evaluateStationarity,
  ptLoss,
  Rng,
  solveProxy,
  solveProxyBatch,
  solveProxyGeneral,
  solveProxyReference,
  stationarityBuffers,
  DEFAULT_SOLVER,
  type Coefficients,
  type Matrix64,
} from '../../src/methods/ptloss';
import { fsolveReference, randomCoefficients, randomLogits, randomTeacher } from './helpers';

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('stationarity residual equals the PTLoss logit gradient; Jacobian matches finite differences', () => {
  const rng = new Rng(11);
  for (const [c, m] of [
    [2, 2],
    [3, 5],
    [5, 3],
  ]) {
    const t = randomTeacher(rng, 1, c);
    const eps = randomCoefficients(rng, c, m);
    const z = Float64Array.from({ length: c - 1 }, () => rng.normal());
    const buf = stationarityBuffers(c);
    evaluateStationarity(z, t.data, 0, eps.values, 0, c, m, true, buf);
    const full = { data: Float64Array.from([...z, 0]), shape: [1, c] };
    const g = ptLoss(t, full, eps).grad.data;
    for (let j = 0; j < c - 1; j++) assert.ok(Math.abs(buf.F[j] - g[j]) < 1e-12, `F_${j}`);
    const J = buf.J.slice();
    const h = 1e-6;
    const k = c - 1;
    for (let l = 0; l < k; l++) {
      const zp = z.slice();
      const zm = z.slice();
      zp[l] += h;
      zm[l] -= h;
      const bp = stationarityBuffers(c);
      const bm = stationarityBuffers(c);
      evaluateStationarity(zp, t.data, 0, eps.values, 0, c, m, false, bp);
      evaluateStationarity(zm, t.data, 0, eps.values, 0, c, m, false, bm);
      for (let j = 0; j < k; j++) {
        const fd = (bp.F[j] - bm.F[j]) / (2 * h);
        assert.ok(
          Math.abs(fd - J[j * k + l]) <= 1e-6 * (1 + Math.abs(fd)),
          `C=${c} J[${j}][${l}] ${J[j * k + l]} vs fd ${fd}`,
        );
      }
    }
  }
});

/** Cases the solver must handle: random teachers and coefficients from the thesis box [−1, 10]. */
function cases(
  seed: number,
  n: number,
  c: number,
  trials: number,
  order: number,
): [Matrix64, Coefficients[]] {
  const rng = new Rng(seed);
  const t = randomTeacher(rng, n, c);
  const eps = Array.from({ length: trials }, (_, i) => randomCoefficients(rng, c, 1 + (i % order)));
  return [t, eps];
}

test('reference solver agrees with scipy.optimize.fsolve on random cases (C = 2, 3, 4)', () => {
  for (const [c, seed] of [
    [2, 21],
    [3, 22],
    [4, 23],
  ]) {
    const [t, eps] = cases(seed, 60, c, 6, 5);
    const ours = solveProxyBatch(t, eps);
    assert.equal(ours.failures.length, 0, `C=${c}: our solver left examples unsolved`);
    const ref = fsolveReference(t, eps);
    let both = 0;
    let diff = 0;
    let scipyFailed = 0;
    for (let tr = 0; tr < eps.length; tr++) {
      for (let n = 0; n < 60; n++) {
        if (!ref.ok[tr][n]) {
          scipyFailed++;
          continue;
        }
        both++;
        for (let j = 0; j < c; j++)
          diff = Math.max(diff, Math.abs(ref.probs[tr][n][j] - ours.probs.data[(tr * 60 + n) * c + j]));
      }
    }
    // fsolve stops at xtol 1.49e-8 relative in the logits, so probabilities agree to ~1e-8.
    assert.ok(both > 0.8 * eps.length * 60, `C=${c}: scipy solved only ${both} examples`);
    assert.ok(diff <= 1e-7, `C=${c}: max |p_ours − p_scipy| = ${diff}`);
    console.log(
      `# C=${c}: ${both} compared, max|Δp| ${diff.toExponential(2)}, scipy unsolved ${scipyFailed}, ours 0`,
    );
  }
});

test('proxy is a stationary point and a local minimum of ℓ_PT-M', () => {
  const [t, eps] = cases(31, 40, 3, 3, 3);
  const res = solveProxyBatch(t, eps);
  for (let tr = 0; tr < 3; tr++) {
    for (let n = 0; n < 40; n++) {
      const row = { data: t.data.slice(n * 3, n * 3 + 3), shape: [1, 3] };
      const z = Float64Array.from([...res.logits.subarray((tr * 40 + n) * 2, (tr * 40 + n) * 2 + 2), 0]);
      const at = ptLoss(row, { data: z, shape: [1, 3] }, eps[tr]);
      assert.ok(Math.max(...at.grad.data.map(Math.abs)) < 1e-9, `gradient at proxy ${tr}/${n}`);
      for (const d of [
        [1e-3, 0],
        [0, -1e-3],
        [1e-3, 1e-3],
      ]) {
        const zz = Float64Array.from([z[0] + d[0], z[1] + d[1], 0]);
        assert.ok(ptLoss(row, { data: zz, shape: [1, 3] }, eps[tr]).mean >= at.mean - 1e-15);
      }
    }
  }
});

test('general (Cholesky) path and closed-form small path give the same proxies', () => {
  const [t, eps] = cases(41, 50, 3, 4, 5);
  const order = 5;
  const flat = new Float64Array(4 * 3 * order);
  eps.forEach((e, i) => {
    for (let c = 0; c < 3; c++)
      for (let m = 0; m < e.order; m++) flat[(i * 3 + c) * order + m] = e.values[c * e.order + m];
  });
  const z0 = t.data.map(Math.log);
  const a = solveProxyReference(t.data, z0, flat, 50, 3, order, 4, DEFAULT_SOLVER);
  const b = solveProxyGeneral(t.data, z0, flat, 50, 3, order, 4, DEFAULT_SOLVER);
  // Both stop at a relative residual ≤ 1e-10; the general solver fixes class 2's logit while the fused one
  // fixes the largest class's (pivot), so a class of probability p keeps a logit uncertainty of ~1e-10/p
  // (6e-8 for p = 0.002 here): compare probabilities to 1e-9 and logits to 1e-6.
  const probs = (z: Float64Array): number[] =>
    Array.from({ length: z.length / 2 }, (_, i) => {
      const e0 = Math.exp(z[2 * i]);
      const e1 = Math.exp(z[2 * i + 1]);
      return [e0, e1, 1].map((v) => v / (e0 + e1 + 1));
    }).flat();
  assert.ok(maxAbsDiff(probs(a.logits), probs(b.logits)) < 1e-9);
  assert.ok(maxAbsDiff(a.logits, b.logits) < 1e-6);
  assert.deepEqual(Array.from(a.converged), Array.from(b.converged));
});

test('the fused solve on every backend agrees with the float64 reference (gl in float32, then polished)', () => {
  const [t, eps] = cases(51, 200, 3, 10, 5);
  const [t2, eps2] = cases(52, 100, 2, 5, 5);
  const ref = solveProxyBatch(t, eps);
  const ref2 = solveProxyBatch(t2, eps2);
  for (const b of ['js', 'wasm'] as const) {
    // The CPU backends solve in float64: the same answers as the reference, backend reported.
    const cpu = withBackend(b, () => solveProxyBatch(t, eps));
    assert.equal(cpu.backend, resolveKernelBackend(b, 'proxySolve'));
    assert.equal(cpu.failures.length, 0);
    assert.ok(maxAbsDiff(cpu.probs.data, ref.probs.data) < 1e-12, `${b} vs reference`);
  }
  for (const b of ['gl'] as const) {
    withBackend(b, () => {
      const raw = solveProxyBatch(t, eps, { refine: false });
      assert.equal(raw.backend, b);
      // Without the float64 polish a few examples stall at float32 resolution and are reported as such.
      assert.ok(raw.failures.length <= 0.01 * 2000, `${b}: ${raw.failures.length} float32 failures`);
      // float32 kernel: per-component relative residual ≤ 1e-5; observed |Δp| ~3e-5, allow 1e-4.
      let d32 = 0;
      for (let i = 0; i < 2000; i++) {
        if (!raw.converged[i]) continue;
        d32 = Math.max(
          d32,
          maxAbsDiff(raw.probs.data.subarray(i * 3, i * 3 + 3), ref.probs.data.subarray(i * 3, i * 3 + 3)),
        );
      }
      assert.ok(d32 < 1e-4, `${b}: float32 kernel max|Δp| ${d32}`);
      const fine = solveProxyBatch(t, eps);
      assert.equal(fine.failures.length, 0, `${b}: polished kernel left examples unsolved`);
      const d64 = maxAbsDiff(fine.probs.data, ref.probs.data);
      assert.ok(d64 < 1e-9, `${b}: refined kernel max|Δp| ${d64}`);
      const bin = solveProxyBatch(t2, eps2);
      assert.ok(maxAbsDiff(bin.probs.data, ref2.probs.data) < 1e-9, `${b}: binary case`);
      console.log(
        `# ${b}: float32 max|Δp| ${d32.toExponential(2)} (${raw.failures.length} stalled), polished ${d64.toExponential(2)} (${fine.rescuedByPolish} rescued)`,
      );
    });
  }
});

test('examples that do not converge are counted and kept, not replaced', () => {
  const [t, eps] = cases(61, 30, 3, 2, 5);
  for (const engine of ['js', 'gl'] as const) {
    const good = withBackend(engine, () => solveProxyBatch(t, eps));
    const cut = withBackend(engine, () => solveProxyBatch(t, eps, { settings: { maxIterations: 1 } }));
    assert.ok(cut.failures.length > 0, `${engine}: expected failures with one iteration`);
    let unsolved = 0;
    for (let i = 0; i < 60; i++) if (!cut.converged[i]) unsolved++;
    assert.equal(unsolved, cut.failures.length);
    for (const f of cut.failures) {
      const i = f.trial * 30 + f.example;
      assert.equal(cut.converged[i], 0);
      assert.ok(f.residual > 1e-11, `${engine}: a failure has a small residual`);
      // The returned proxy is the solver's last iterate, not the converged answer.
      const p = cut.probs.data.subarray(i * 3, i * 3 + 3);
      const q = good.probs.data.subarray(i * 3, i * 3 + 3);
      assert.ok(maxAbsDiff(p, q) > 1e-9);
    }
  }
});

test('proxy solver rejects bad input with a clear message', () => {
  const t = { data: Float64Array.from([1, 0, 0]), shape: [1, 3] };
  const eps = { classes: 3, order: 1, values: Float64Array.from([1, 1, 1]) };
  assert.throws(
    () => solveProxy(t, eps),
    /teacher\[0\]\[1\] = 0; the proxy teacher needs every teacher probability > 0/,
  );
  const e4 = randomCoefficients(new Rng(2), 4, 2);
  const t3 = randomTeacher(new Rng(1), 2, 3);
  assert.throws(() => solveProxy(t3, e4), /coefficient set 0 is for 4 classes, teacher has 3/);
  // C > 3 or M > 5 runs the general float64 solver whatever the backend.
  const t4 = randomTeacher(new Rng(1), 2, 4);
  assert.equal(withBackend('gl', () => solveProxy(t4, e4)).solver, 'general');
  assert.equal(
    withBackend('gl', () => solveProxy(t3, randomCoefficients(new Rng(3), 3, 6))).solver,
    'general',
  );
  // The fused op itself names its limits with a ShapeError.
  assert.throws(
    () =>
      proxySolve({
        teacher: [0.5, 0.5],
        teacherLogits: [0, 0],
        eps: [1, 1],
        examples: 1,
        classes: 2,
        order: 1,
        trials: 1,
        settings: { maxIterations: 0, tolerance: 1e-10, maxStep: 4 },
      }),
    /invalid solver settings/,
  );
  assert.throws(
    () =>
      proxySolve({
        teacher: [1],
        teacherLogits: [0],
        eps: [1],
        examples: 1,
        classes: 1,
        order: 1,
        trials: 1,
        settings: DEFAULT_SOLVER,
      }),
    { name: 'ShapeError', message: /handles 2..3 classes and orders 1..5, got C = 1, M = 1/ },
  );
});

test('random logits: solving from a non-teacher start reaches the same proxy', () => {
  const rng = new Rng(71);
  const t = randomTeacher(rng, 20, 3);
  const eps = randomCoefficients(rng, 3, 2, 0, 3);
  const a = solveProxy(t, eps);
  const b = solveProxy(t, eps, { teacherLogits: randomLogits(rng, 20, 3, 0.5) });
  assert.equal(b.failures.length, 0);
  // With ε ≥ 0 on orders ≤ 2 and these teachers the loss has one minimum per example.
  assert.ok(maxAbsDiff(a.probs.data, b.probs.data) < 1e-9);
});
