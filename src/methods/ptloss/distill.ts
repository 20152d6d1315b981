/**
 * Distillation of a student MLP with the losses compared in section 4.6: one-hot labels, standard
 * KL (Eq. 4.3), temperature scaling (Eq. 4.12, gradient scaled by τ² as in Hinton et al.), label
 * smoothing of the teacher (Eq. 4.14), focal distillation (Eq. 4.8), early-stopped KD, and PTLoss
 * (Eq. 4.7). Each loss is turned into ∂(mean loss)/∂logits for the batch.
 */
import { Tensor } from '../../ops';
import type { Coefficients } from './coefficients';
import { PtlossError } from './errors';
import { focalKdLoss } from './links';
import { ptLoss } from './loss';
import type { Matrix64 } from './matrix';
import { Mlp, THESIS_ADAM, type AdamSettings, type MatmulEngine } from './mlp';
import { Rng } from './rng';

export type DistillLoss =
  | { kind: 'onehot' }
  | { kind: 'kl' }
  | { kind: 'temperature'; tau: number }
  | { kind: 'label-smoothing'; delta: number }
  | { kind: 'focal'; gamma: number }
  | { kind: 'eskd'; patience: number }
  | { kind: 'ptloss'; eps: Coefficients };

/** Short display name of a loss. */
export function lossName(loss: DistillLoss): string {
  switch (loss.kind) {
    case 'onehot':
      return 'One-hot';
    case 'kl':
      return 'KD (KL)';
    case 'temperature':
      return `Temperature τ=${loss.tau}`;
    case 'label-smoothing':
      return `Label smoothing δ=${loss.delta}`;
    case 'focal':
      return `Focal γ=${loss.gamma}`;
    case 'eskd':
      return 'Early-stopped KD';
    case 'ptloss':
      return 'PTLoss';
  }
}

export interface TrainSet {
  /** Inputs [N, d]. */
  x: Matrix64;
  /** True labels (used by 'onehot' only). */
  labels: Int32Array;
  /** Teacher probabilities [N, C] (every loss but 'onehot'). */
  teacher?: Matrix64;
}

export interface TrainOptions {
  hidden?: readonly number[];
  epochs: number;
  batchSize?: number;
  adam?: AdamSettings;
  seed: number;
  engine?: MatmulEngine;
  /** Labelled validation set: needed by 'eskd' (best validation accuracy checkpoint). */
  val?: { x: Matrix64; labels: Int32Array };
  /** Called after every epoch. */
  onEpoch?: (epoch: number, trainLoss: number) => void;
}

export interface TrainResult {
  model: Mlp;
  /** Epoch whose weights were kept (last epoch, or the early-stopping checkpoint). */
  keptEpoch: number;
  /** Mean training loss per epoch. */
  losses: number[];
}

function rowsOf(m: Matrix64, idx: Int32Array, from: number, to: number): Float64Array {
  const c = m.shape[1];
  const out = new Float64Array((to - from) * c);
  for (let i = from; i < to; i++) out.set(m.data.subarray(idx[i] * c, idx[i] * c + c), (i - from) * c);
  return out;
}

/** ∂(mean loss)/∂logits and the mean loss, for one batch. */
export function lossGradient(
  loss: DistillLoss,
  logits: Tensor,
  teacher: Float64Array | undefined,
  labels: Int32Array,
): { grad: Float64Array; value: number } {
  const [b, c] = logits.shape;
  const z: Matrix64 = { data: Float64Array.from(logits.data), shape: [b, c] };
  const need = (): Matrix64 => {
    if (!teacher) throw new PtlossError(`lossGradient: loss '${loss.kind}' needs teacher probabilities`);
    return { data: teacher, shape: [b, c] };
  };
  let grad: Float64Array;
  let value: number;
  switch (loss.kind) {
    case 'onehot': {
      const t = new Float64Array(b * c);
      for (let i = 0; i < b; i++) t[i * c + labels[i]] = 1;
      const r = ptLoss({ data: t, shape: [b, c] }, z, { classes: c, order: 0, values: new Float64Array(0) });
      grad = r.grad.data;
      value = r.mean;
      break;
    }
    case 'kl':
    case 'eskd': {
      const r = ptLoss(need(), z, { classes: c, order: 0, values: new Float64Array(0) });
      grad = r.grad.data;
      value = r.mean;
      break;
    }
    case 'ptloss': {
      const r = ptLoss(need(), z, loss.eps);
      grad = r.grad.data;
      value = r.mean;
      break;
    }
    case 'label-smoothing': {
      const t = need();
      const s = new Float64Array(b * c);
      for (let i = 0; i < b * c; i++) s[i] = (1 - loss.delta) * t.data[i] + loss.delta / c;
      const r = ptLoss({ data: s, shape: [b, c] }, z, { classes: c, order: 0, values: new Float64Array(0) });
      grad = r.grad.data;
      value = r.mean;
      break;
    }
    case 'focal': {
      const r = focalKdLoss(need(), z, loss.gamma);
      grad = r.grad.data;
      value = r.perExample.reduce((a, v) => a + v, 0) / b;
      break;
    }
    case 'temperature': {
      // KL(softmax(log pᵗ/τ) ‖ softmax(z/τ)); ∂/∂z = (softmax(z/τ) − pᵗ_τ)/τ, times τ².
      const t = need();
      const tau = loss.tau;
      const tt = new Float64Array(b * c);
      const zs = new Float64Array(b * c);
      for (let i = 0; i < b * c; i++) {
        tt[i] = Math.log(Math.max(t.data[i], 1e-300)) / tau;
        zs[i] = z.data[i] / tau;
      }
      for (let i = 0; i < b; i++) {
        let mx = -Infinity;
        for (let j = 0; j < c; j++) mx = Math.max(mx, tt[i * c + j]);
        let s = 0;
        for (let j = 0; j < c; j++) s += tt[i * c + j] = Math.exp(tt[i * c + j] - mx);
        for (let j = 0; j < c; j++) tt[i * c + j] /= s;
      }
      const r = ptLoss(
        { data: tt, shape: [b, c] },
        { data: zs, shape: [b, c] },
        { classes: c, order: 0, values: new Float64Array(0) },
      );
      grad = r.grad.data.map((v) => v * tau);
      value = r.mean * tau * tau;
      break;
    }
  }
  for (let i = 0; i < grad.length; i++) grad[i] /= b;
  return { grad, value };
}

/** Predicted probabilities of a model on inputs [N, d] (batched forward passes). */
export function predictProbs(model: Mlp, x: Matrix64, batch = 1000): Matrix64 {
  const [n, d] = x.shape;
  const c = model.sizes[model.sizes.length - 1];
  const out = new Float64Array(n * c);
  for (let s = 0; s < n; s += batch) {
    const e = Math.min(n, s + batch);
    const logits = model.forward(new Tensor(Float32Array.from(x.data.subarray(s * d, e * d)), [e - s, d]));
    for (let i = 0; i < e - s; i++) {
      let mx = -Infinity;
      for (let j = 0; j < c; j++) mx = Math.max(mx, logits.data[i * c + j]);
      let sum = 0;
      for (let j = 0; j < c; j++) sum += out[(s + i) * c + j] = Math.exp(logits.data[i * c + j] - mx);
      for (let j = 0; j < c; j++) out[(s + i) * c + j] /= sum;
    }
  }
  return { data: out, shape: [n, c] };
}

/** Fraction of rows whose arg-max matches the label. */
export function accuracy(p: Matrix64, labels: Int32Array): number {
  const [n, c] = p.shape;
  let hit = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < c; j++) if (p.data[i * c + j] > p.data[i * c + best]) best = j;
    if (best === labels[i]) hit++;
  }
  return n === 0 ? NaN : hit / n;
}

/** Train an MLP (thesis synthetic setup by default: hidden [128, 128], Adam lr 5e-4, batch 32). */
export function trainStudent(data: TrainSet, loss: DistillLoss, opts: TrainOptions): TrainResult {
  const [n, d] = data.x.shape;
  if (data.labels.length !== n)
    throw new PtlossError(`trainStudent: ${data.labels.length} labels for ${n} inputs`);
  if (loss.kind !== 'onehot' && (!data.teacher || data.teacher.shape[0] !== n)) {
    throw new PtlossError(
      `trainStudent: loss '${loss.kind}' needs teacher probabilities for all ${n} inputs`,
    );
  }
  if (loss.kind === 'eskd' && !opts.val)
    throw new PtlossError("trainStudent: 'eskd' needs a labelled validation set");
  const classes = data.teacher ? data.teacher.shape[1] : Math.max(...data.labels) + 1;
  const hidden = opts.hidden ?? [128, 128];
  const batch = opts.batchSize ?? 32;
  const model = new Mlp([d, ...hidden, classes], opts.seed, opts.engine ?? 'fast');
  const rng = new Rng(opts.seed + 7919);
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const losses: number[] = [];
  let bestAcc = -1;
  let bestEpoch = 0;
  let best: Float32Array[] | undefined;
  let keptEpoch = opts.epochs;
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    rng.shuffle(order);
    let total = 0;
    for (let s = 0; s < n; s += batch) {
      const e = Math.min(n, s + batch);
      const xb = new Tensor(Float32Array.from(rowsOf(data.x, order, s, e)), [e - s, d]);
      const tb = data.teacher ? rowsOf(data.teacher, order, s, e) : undefined;
      const yb = new Int32Array(e - s);
      for (let i = s; i < e; i++) yb[i - s] = data.labels[order[i]];
      model.trainStep(
        xb,
        (logits) => {
          const r = lossGradient(loss, logits, tb, yb);
          total += r.value * (e - s);
          return r.grad;
        },
        opts.adam ?? THESIS_ADAM,
      );
    }
    losses.push(total / n);
    opts.onEpoch?.(epoch, total / n);
    if (loss.kind === 'eskd' && opts.val) {
      const acc = accuracy(predictProbs(model, opts.val.x), opts.val.labels);
      if (acc > bestAcc) {
        bestAcc = acc;
        bestEpoch = epoch;
        best = model.snapshot();
      } else if (epoch - bestEpoch >= loss.patience) {
        break;
      }
    }
  }
  if (loss.kind === 'eskd' && best) {
    model.restore(best);
    keptEpoch = bestEpoch;
  }
  return { model, keptEpoch, losses };
}
