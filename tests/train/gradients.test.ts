/**
 * Every parameter gradient of the shared trainer against central finite differences in float64, for
 * every loss it offers (cross-entropy, soft cross-entropy, KL, Bradley–Terry, squared error, a custom
 * loss), unweighted and weighted under each reduction, with ReLU masks and dropout masks active.
 *
 * Tolerance: |analytic − FD| ≤ 1e-4·max(|analytic|, |FD|) + 1e-9. In float64 with h = 1e-6 the
 * central difference is accurate to ~1e-9 relative (truncation O(h²) ≈ 1e-12, rounding
 * ≈ 1e-16·|L|/h ≈ 1e-10), so 1e-4 — tighter than the ≈1e-3 the review asked for — leaves four
 * orders of margin, while a wrong derivative (a missing ReLU mask, a dropped weight, a factor 2)
 * moves gradients by O(1) relative. The 1e-9 absolute floor covers exact zeros (dead units).
 * FD is only valid away from ReLU kinks: each case asserts every hidden pre-activation is farther
 * than 1e-4 from 0, so a ±1e-6 step cannot cross one.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  finiteDifferences,
  lossAndGrad,
  lossValue,
  Mlp,
  perExampleGrads,
  reductionCoefficients,
  Rng,
  stackInputs,
  subset,
  type Dataset,
  type DropoutKey,
  type HiddenActivation,
  type Loss,
  type Reduction,
} from '../../src/train';
import { assertGradClose, positiveWeights, randn, softTargets } from './helpers';

const REL = 1e-4;
const ABS = 1e-9;
const H = 1e-6;

interface Case {
  name: string;
  loss: Loss;
  out: number;
  data: (rng: Rng, n: number, d: number) => Dataset;
}

const CASES: Case[] = [
  {
    name: 'cross-entropy (hard labels)',
    loss: { kind: 'cross-entropy' },
    out: 4,
    data: (rng, n, d) => ({ x: randn(rng, n, d), labels: Int32Array.from({ length: n }, () => rng.int(4)) }),
  },
  {
    name: 'soft cross-entropy',
    loss: { kind: 'soft-cross-entropy' },
    out: 4,
    data: (rng, n, d) => ({ x: randn(rng, n, d), targets: softTargets(rng, n, 4) }),
  },
  {
    name: 'KL to soft targets',
    loss: { kind: 'kl' },
    out: 4,
    data: (rng, n, d) => ({ x: randn(rng, n, d), targets: softTargets(rng, n, 4) }),
  },
  {
    name: 'Bradley–Terry pairs',
    loss: { kind: 'bradley-terry' },
    out: 1,
    data: (rng, n, d) => ({ x: randn(rng, n, d), xRejected: randn(rng, n, d) }),
  },
  {
    name: 'Bradley–Terry on a 3-attribute head with projection λ',
    loss: { kind: 'bradley-terry', projection: [0.5, -1.2, 2] },
    out: 3,
    data: (rng, n, d) => ({ x: randn(rng, n, d), xRejected: randn(rng, n, d) }),
  },
  {
    name: 'squared error (Eq. 3.1)',
    loss: { kind: 'squared-error' },
    out: 3,
    data: (rng, n, d) => ({ x: randn(rng, n, d), targets: randn(rng, n, 3) }),
  },
  {
    // A loss the trainer does not know: ℓ_i = Σ_k softplus(z_ik)·t_k, with its hand-derived gradient.
    name: 'custom loss',
    loss: {
      kind: 'custom',
      name: 'softplus-sum',
      evaluate: (z) => {
        const [rows, cols] = z.shape;
        const perExample = new Float64Array(rows);
        const grad = new Float64Array(rows * cols);
        for (let i = 0; i < rows; i++) {
          for (let k = 0; k < cols; k++) {
            const v = z.data[i * cols + k];
            perExample[i] += (k + 1) * Math.log1p(Math.exp(v));
            grad[i * cols + k] = (k + 1) / (1 + Math.exp(-v));
          }
        }
        return { perExample, grad };
      },
    },
    out: 2,
    data: (rng, n, d) => ({ x: randn(rng, n, d) }),
  },
];

/** Smallest |pre-activation| over every hidden unit of a pass, and how many were negative (masked). */
function kinkMargin(
  model: Mlp,
  batch: Dataset,
  loss: Loss,
  key?: DropoutKey,
): { margin: number; masked: number; total: number } {
  const { data, rows } = model.inputBuffer(stackInputs(batch, loss.kind === 'bradley-terry'));
  const t = model.trace(data, rows, key);
  let margin = Infinity;
  let masked = 0;
  let total = 0;
  for (const p of t.pre) {
    for (const v of p) {
      margin = Math.min(margin, Math.abs(v));
      if (v < 0) masked++;
      total++;
    }
  }
  return { margin, masked, total };
}

function checkCase(c: Case, activation: HiddenActivation, dropout: number, seed: number): void {
  const rng = new Rng(seed);
  const n = 6;
  const d = 5;
  const model = new Mlp({ sizes: [d, 7, 6, c.out], seed, activation, dropout, precision: 'float64' });
  const base = c.data(rng, n, d);
  const weights = positiveWeights(rng, n);
  const key: DropoutKey | undefined = dropout > 0 ? { seed: 11, stream: 3 } : undefined;
  if (activation === 'relu') {
    const k = kinkMargin(model, base, c.loss, key);
    assert.ok(
      k.margin > 1e-4,
      `${c.name}: a pre-activation ${k.margin} is too close to the ReLU kink for FD`,
    );
    assert.ok(
      k.masked > 0.2 * k.total && k.masked < 0.8 * k.total,
      `${c.name}: ReLU masks ${k.masked}/${k.total}`,
    );
  }
  const variants: [string, Float64Array | undefined, Reduction][] = [
    ['unweighted mean', undefined, 'mean'],
    ['weighted mean (1/n)Σwℓ', weights, 'mean'],
    ['weighted, normalised by Σw', weights, 'normalised'],
    ['weighted sum', weights, 'sum'],
  ];
  for (const [label, w, reduction] of variants) {
    const batch: Dataset = { ...base, weights: w };
    const opts = { reduction, dropout: key };
    const r = lossAndGrad(model, batch, c.loss, opts);
    const theta = model.getParams();
    const fd = finiteDifferences(
      (t) => {
        model.params.set(t);
        return lossValue(model, batch, c.loss, opts);
      },
      theta,
      H,
    );
    model.params.set(theta);
    assert.ok(Math.abs(r.loss - lossValue(model, batch, c.loss, opts)) < 1e-12, 'loss value consistent');
    let nonzero = 0;
    for (const g of r.grad) if (Math.abs(g) > 1e-6) nonzero++;
    assert.ok(nonzero > model.size / 3, `${c.name} ${label}: only ${nonzero} non-zero gradient entries`);
    assertGradClose(r.grad, fd, REL, ABS, `${c.name}, ${label}, ${activation}, dropout ${dropout}`);
  }
}

for (const c of CASES) {
  test(`FD gradient check, ReLU: ${c.name} (unweighted and weighted)`, () => checkCase(c, 'relu', 0, 101));
  test(`FD gradient check, ReLU + dropout 0.3: ${c.name}`, () => checkCase(c, 'relu', 0.3, 202));
}

test('FD gradient check, tanh and GELU hidden layers (cross-entropy, Bradley–Terry)', () => {
  for (const act of ['tanh', 'gelu'] as const) {
    checkCase(CASES[0], act, 0, 303);
    checkCase(CASES[3], act, 0.2, 304);
  }
});

test('the loss values themselves match hand formulas', () => {
  // One linear layer (no hidden) with θ chosen so the outputs are known: z = x·W + b.
  const m = new Mlp({ sizes: [2, 2], seed: 1, precision: 'float64' });
  m.setParams([1, 0, 0, 1, 0.5, -0.5]); // W = I, b = (0.5, −0.5)
  const x = { data: Float64Array.from([1, 2, -1, 0]), shape: [2, 2] as const };
  // z = [[1.5, 1.5], [−0.5, −0.5]]: softmax is uniform, so CE = log 2 per row.
  const ce = lossValue(m, { x, labels: [0, 1] }, { kind: 'cross-entropy' });
  assert.ok(Math.abs(ce - Math.log(2)) < 1e-15);
  // KL(q‖uniform) = Σ q log q + log 2 with q = (0.2, 0.8).
  const q = { data: Float64Array.from([0.2, 0.8, 0.2, 0.8]), shape: [2, 2] as const };
  const kl = lossValue(m, { x, targets: q }, { kind: 'kl' });
  assert.ok(Math.abs(kl - (0.2 * Math.log(0.2) + 0.8 * Math.log(0.8) + Math.log(2))) < 1e-15);
  const sce = lossValue(m, { x, targets: q }, { kind: 'soft-cross-entropy' });
  assert.ok(Math.abs(sce - Math.log(2)) < 1e-15);
  // Squared error (no ½): targets 0 → (1.5² + 1.5² + 0.5² + 0.5²)/2 = 2.5.
  const se = lossValue(
    m,
    { x, targets: { data: new Float64Array(4), shape: [2, 2] } },
    { kind: 'squared-error' },
  );
  assert.ok(Math.abs(se - 2.5) < 1e-15);
  // Bradley–Terry with r = x·w + c: reward 1·1 + 2·0 + 0.5 = 1.5 vs −1 + 0.5 = −0.5 → −log σ(2).
  const r = new Mlp({ sizes: [2, 1], seed: 1, precision: 'float64' });
  r.setParams([1, 0, 0.5]);
  const bt = lossValue(
    r,
    {
      x: { data: Float64Array.from([1, 2]), shape: [1, 2] },
      xRejected: { data: Float64Array.from([-1, 0]), shape: [1, 2] },
    },
    { kind: 'bradley-terry' },
  );
  assert.ok(Math.abs(bt - Math.log1p(Math.exp(-2))) < 1e-15);
  // Projected Bradley–Terry on the 2-output model m: z_chosen = (1.5, 1.5), z_rejected = (−0.5, −0.5),
  // λ = (1, 2) → Δ = 3·2 = 6 → −log σ(6).
  const pbt = lossValue(
    m,
    {
      x: { data: Float64Array.from([1, 2]), shape: [1, 2] },
      xRejected: { data: Float64Array.from([-1, 0]), shape: [1, 2] },
    },
    { kind: 'bradley-terry', projection: [1, 2] },
  );
  assert.ok(Math.abs(pbt - Math.log1p(Math.exp(-6))) < 1e-15);
  // Reductions: weights (1, 3) on CE of log 2 each.
  const w = [1, 3];
  assert.ok(
    Math.abs(lossValue(m, { x, labels: [0, 1], weights: w }, { kind: 'cross-entropy' }) - 2 * Math.log(2)) <
      1e-15,
  );
  assert.ok(
    Math.abs(
      lossValue(
        m,
        { x, labels: [0, 1], weights: w },
        { kind: 'cross-entropy' },
        { reduction: 'normalised' },
      ) - Math.log(2),
    ) < 1e-15,
  );
  assert.deepEqual(Array.from(reductionCoefficients(2, w, 'mean')), [0.5, 1.5]);
  assert.deepEqual(Array.from(reductionCoefficients(2, w, 'normalised')), [0.25, 0.75]);
});

test('per-example gradients: each equals its own one-example gradient, and c_i-weighted they sum to the batch gradient', () => {
  for (const c of CASES) {
    const rng = new Rng(55);
    const n = 7;
    const model = new Mlp({ sizes: [5, 8, c.out], seed: 9, precision: 'float64' });
    const batch = c.data(rng, n, 5);
    const pe = perExampleGrads(model, batch, c.loss);
    assert.equal(pe.count, n);
    assert.equal(pe.size, model.size);
    for (let i = 0; i < n; i++) {
      const one = lossAndGrad(model, subset(batch, [i]), c.loss, { reduction: 'sum' });
      assertGradClose(
        pe.grads.subarray(i * pe.size, (i + 1) * pe.size),
        one.grad,
        1e-12,
        1e-14,
        `${c.name} example ${i}`,
      );
    }
    const w = positiveWeights(rng, n);
    for (const reduction of ['mean', 'normalised', 'sum'] as const) {
      const coef = reductionCoefficients(n, w, reduction);
      const sum = new Float64Array(pe.size);
      for (let i = 0; i < n; i++)
        for (let k = 0; k < pe.size; k++) sum[k] += coef[i] * pe.grads[i * pe.size + k];
      const batchGrad = lossAndGrad(model, { ...batch, weights: w }, c.loss, { reduction }).grad;
      assertGradClose(sum, batchGrad, 1e-12, 1e-14, `${c.name} Σ c_i ∇ℓ_i (${reduction})`);
    }
  }
});

test('per-example gradients with dropout keep each example’s masks (sum equals the batch gradient)', () => {
  const rng = new Rng(56);
  const model = new Mlp({ sizes: [5, 8, 8, 1], seed: 4, dropout: 0.25, precision: 'float64' });
  const batch: Dataset = { x: randn(rng, 6, 5), xRejected: randn(rng, 6, 5) };
  const key = { seed: 5, stream: 2 };
  const pe = perExampleGrads(model, batch, { kind: 'bradley-terry' }, { dropout: key });
  const sum = new Float64Array(pe.size);
  for (let i = 0; i < 6; i++) for (let k = 0; k < pe.size; k++) sum[k] += pe.grads[i * pe.size + k] / 6;
  const g = lossAndGrad(model, batch, { kind: 'bradley-terry' }, { dropout: key }).grad;
  assertGradClose(sum, g, 1e-12, 1e-14, 'dropout per-example sum');
});

test('float32 (ops matmul on the current backend) and float64 gradients agree', () => {
  const rng = new Rng(57);
  const m64 = new Mlp({ sizes: [6, 16, 16, 3], seed: 3, dropout: 0.2, precision: 'float64' });
  const m32 = new Mlp({ sizes: [6, 16, 16, 3], seed: 3, dropout: 0.2, precision: 'float32' });
  m64.params.set(m32.params); // the float32 initial values, exactly
  const batch: Dataset = { x: randn(rng, 12, 6), labels: Int32Array.from({ length: 12 }, () => rng.int(3)) };
  const key = { seed: 1, stream: 0 };
  const a = lossAndGrad(m32, batch, { kind: 'cross-entropy' }, { dropout: key });
  const b = lossAndGrad(m64, batch, { kind: 'cross-entropy' }, { dropout: key });
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5 * Math.abs(b.loss));
  // float32 products: relative error ~1e-6 per entry; 1e-3 relative + 1e-6 absolute.
  assertGradClose(a.grad, b.grad, 1e-3, 1e-6, 'float32 vs float64');
});
