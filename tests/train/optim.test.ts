/** Adam's and SGD's first steps against values computed by hand from the update rules. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, makeOptimizer, Sgd, THESIS_ADAM } from '../../src/train';

const close = (a: number, b: number, tol: number, what: string): void =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);

test('Adam: three steps against hand-computed values (lr 0.1, β 0.9/0.999, ε 1e-8)', () => {
  const theta = Float64Array.from([1, -2]);
  const adam = new Adam(2, { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  // Step 1, g = (0.5, −0.1): m = 0.1g, v = 0.001g², m̂ = g, v̂ = g², so θ −= 0.1·g/(|g| + ε).
  adam.step(theta, [0.5, -0.1]);
  close(theta[0], 1 - (0.1 * 0.5) / (0.5 + 1e-8), 1e-15, 'step 1 θ0');
  close(theta[1], -2 + (0.1 * 0.1) / (0.1 + 1e-8), 1e-15, 'step 1 θ1');
  close(theta[0], 0.900000002, 1e-12, 'step 1 θ0 literal');
  // Step 2, g = (0.3, 0.2): m = (0.075, 0.011), v = (0.00033975, 0.00004999), 1−β₁² = 0.19,
  // 1−β₂² = 0.001999: θ0 −= 0.1·(0.075/0.19)/(√(0.00033975/0.001999) + ε) = 0.0957490153…
  adam.step(theta, [0.3, 0.2]);
  close(
    theta[0],
    0.900000002 - (0.1 * (0.075 / 0.19)) / (Math.sqrt(0.00033975 / 0.001999) + 1e-8),
    1e-12,
    'step 2 θ0',
  );
  close(theta[0], 0.8042509867088761, 1e-12, 'step 2 θ0 literal');
  close(theta[1], -1.9366103603884888, 1e-12, 'step 2 θ1 literal');
  // Step 3, g = (−0.4, 0.05).
  adam.step(theta, [-0.4, 0.05]);
  close(theta[0], 0.7793923040411518, 1e-12, 'step 3 θ0');
  close(theta[1], -1.9781754772351605, 1e-12, 'step 3 θ1');
  assert.equal(adam.t, 3);
});

test('Adam weight decay: L2 into the gradient, or decoupled (AdamW)', () => {
  // L2: g' = g + λθ = 0.5 + 0.1·1 = 0.6 → first step still lr·sign(g') = 0.1.
  const a = Float64Array.from([1]);
  new Adam(1, { lr: 0.1, weightDecay: 0.1 }).step(a, [0.5]);
  close(a[0], 1 - (0.1 * 0.6) / (0.6 + 1e-8), 1e-15, 'L2');
  // L2 can flip the sign: g = −0.05, λθ = 0.1 → g' = 0.05 > 0, so θ decreases.
  const b = Float64Array.from([1]);
  new Adam(1, { lr: 0.1, weightDecay: 0.1 }).step(b, [-0.05]);
  close(b[0], 1 - (0.1 * 0.05) / (0.05 + 1e-8), 1e-15, 'L2 sign');
  // Decoupled: θ ← θ(1 − lr·λ) then the plain step: 1·(1 − 0.01) − 0.1·(−0.05)/(0.05 + ε).
  const c = Float64Array.from([1]);
  new Adam(1, { lr: 0.1, weightDecay: 0.1, decoupled: true }).step(c, [-0.05]);
  close(c[0], 0.99 + (0.1 * 0.05) / (0.05 + 1e-8), 1e-15, 'AdamW');
});

test('SGD with momentum and L2 decay: two hand-computed steps', () => {
  const t = Float32Array.from([2]);
  const sgd = new Sgd(1, { lr: 0.5, momentum: 0.9, weightDecay: 0.25 });
  // g' = 1 + 0.25·2 = 1.5, b = 1.5, θ = 2 − 0.75 = 1.25.
  sgd.step(t, [1]);
  close(t[0], 1.25, 1e-7, 'step 1');
  // g' = 1 + 0.25·1.25 = 1.3125, b = 0.9·1.5 + 1.3125 = 2.6625, θ = 1.25 − 1.33125 = −0.08125.
  sgd.step(t, [1]);
  close(t[0], -0.08125, 1e-7, 'step 2');
});

test('optimiser specs, the PTLoss settings, and rejected steps', () => {
  assert.deepEqual(THESIS_ADAM, { lr: 5e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  const opt = makeOptimizer({ kind: 'adam', ...THESIS_ADAM }, 1);
  const p = Float64Array.from([0]);
  opt.step(p, [3]);
  close(p[0], -5e-4 * (3 / (3 + 1e-8)), 1e-15, 'thesis lr first step');
  assert.throws(() => opt.step(p, [NaN]), /gradient entry 0 is NaN; step rejected/);
  assert.throws(() => opt.step(p, [1, 2]), /built for 1 parameters/);
  assert.throws(() => new Adam(1, { lr: -1 }), /lr > 0/);
  assert.throws(() => makeOptimizer({ kind: 'sgd', lr: 0 }, 1), /lr > 0/);
});

test('saveState / restoreState undo a step exactly (Adam and SGD), and settings.lr changes the next step', () => {
  for (const opt of [
    makeOptimizer({ kind: 'adam', lr: 0.1, beta2: 0.98 }, 3),
    makeOptimizer({ kind: 'sgd', lr: 0.1, momentum: 0.9 }, 3),
  ]) {
    const theta = Float64Array.from([1, -2, 0.5]);
    opt.step(theta, [0.5, -0.1, 0.2]);
    const saved = opt.saveState();
    const before = Float64Array.from(theta);
    // Two continuations from the same state must agree exactly: one straight, one after a step undone.
    const straight = Float64Array.from(theta);
    opt.step(straight, [0.3, 0.2, -0.1]);
    const t2 = opt.t;
    opt.restoreState(saved);
    assert.equal(opt.t, 1);
    const again = Float64Array.from(before);
    opt.step(again, [0.3, 0.2, -0.1]);
    assert.deepEqual(again, straight);
    assert.equal(opt.t, t2);
    // Halving the learning rate halves the first-moment step from the same state (Adam: lr / bc1 · m̂ / √v̂).
    opt.restoreState(saved);
    opt.settings.lr = 0.05;
    const half = Float64Array.from(before);
    opt.step(half, [0.3, 0.2, -0.1]);
    for (let i = 0; i < 3; i++) close(half[i] - before[i], (straight[i] - before[i]) / 2, 1e-15, `Δθ_${i}`);
    assert.throws(() => opt.restoreState({ t: 0, buffers: [new Float64Array(2)] }), /restoreState/);
  }
});

test('saveState(into) reuses the buffers of an earlier save and restores like a fresh save', () => {
  for (const opt of [
    makeOptimizer({ kind: 'adam', lr: 0.1 }, 3),
    makeOptimizer({ kind: 'sgd', lr: 0.1, momentum: 0.9 }, 3),
  ]) {
    const theta = Float64Array.from([1, -2, 0.5]);
    let saved = opt.saveState();
    const buffers = saved.buffers;
    opt.step(theta, [0.5, -0.1, 0.2]);
    saved = opt.saveState(saved);
    assert.equal(saved.t, 1);
    saved.buffers.forEach((b, i) => assert.equal(b, buffers[i])); // the same arrays, refilled
    const fresh = opt.saveState();
    assert.deepEqual(saved.buffers, fresh.buffers);
    const before = Float64Array.from(theta);
    opt.step(theta, [0.3, 0.2, -0.1]);
    const straight = Float64Array.from(theta);
    opt.restoreState(saved);
    theta.set(before);
    opt.step(theta, [0.3, 0.2, -0.1]);
    assert.deepEqual(theta, straight);
  }
});
