/**
 * Distillation of a student MLP with the losses compared in section 4.6: one-hot labels, standard
 * KL (Eq. 4.3), temperature scaling (Eq. 4.12, gradient scaled by τ² as in Hinton et al.), label
 * smoothing of the teacher (Eq. 4.14), focal distillation (Eq. 4.8), early-stopped KD, and PTLoss
 * (Eq. 4.7). Training is the shared trainer's `fit` (src/train): one-hot and KL use its built-in
 * cross-entropy and KL losses, the others enter as custom losses giving per-example values and
 * ∂ℓ_i/∂logits; early-stopped KD is `fit` with validation accuracy, patience and best-epoch restore.
 */
import { ConfigError, ShapeError } from '../../errors';
import * as train from '../../train';
import type { Coefficients } from './coefficients';
import { focalKdLoss } from './links';
import { ptLoss } from './loss';
import type { Matrix, Matrix64 } from './matrix';
import { Mlp, studentMlp, THESIS_ADAM, type AdamSettings } from './mlp';

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
  /** Validation accuracy per epoch ('eskd' only). */
  valAccuracy?: number[];
}

const NO_COEFFICIENTS = (c: number): Coefficients => ({ classes: c, order: 0, values: new Float64Array(0) });

/**
 * Per-example losses ℓ_i and their gradients ∂ℓ_i/∂z_i (not divided by the batch size) of one
 * distillation loss on logits [B, C]; `teacher` [B, C] probabilities, `labels` for 'onehot'.
 */
export function distillLossValues(
  loss: DistillLoss,
  logits: Matrix,
  teacher: Float64Array | undefined,
  labels: ArrayLike<number>,
): train.LossValues {
  const [b, c] = logits.shape;
  const z: Matrix64 = { data: Float64Array.from(logits.data), shape: [b, c] };
  const need = (): Matrix64 => {
    if (!teacher) throw new ConfigError(`distillation loss '${loss.kind}' needs teacher probabilities`);
    if (teacher.length !== b * c) {
      throw new ShapeError(
        `distillation loss '${loss.kind}': teacher has ${teacher.length} values, logits ${b}×${c}`,
      );
    }
    return { data: teacher, shape: [b, c] };
  };
  switch (loss.kind) {
    case 'onehot': {
      const t = new Float64Array(b * c);
      for (let i = 0; i < b; i++) t[i * c + labels[i]] = 1;
      const r = ptLoss({ data: t, shape: [b, c] }, z, NO_COEFFICIENTS(c));
      return { perExample: r.perExample, grad: r.grad.data };
    }
    case 'kl':
    case 'eskd': {
      const r = ptLoss(need(), z, NO_COEFFICIENTS(c));
      return { perExample: r.perExample, grad: r.grad.data };
    }
    case 'ptloss': {
      const r = ptLoss(need(), z, loss.eps);
      return { perExample: r.perExample, grad: r.grad.data };
    }
    case 'label-smoothing': {
      const t = need();
      const s = new Float64Array(b * c);
      for (let i = 0; i < b * c; i++) s[i] = (1 - loss.delta) * t.data[i] + loss.delta / c;
      const r = ptLoss({ data: s, shape: [b, c] }, z, NO_COEFFICIENTS(c));
      return { perExample: r.perExample, grad: r.grad.data };
    }
    case 'focal': {
      const r = focalKdLoss(need(), z, loss.gamma);
      return { perExample: r.perExample, grad: r.grad.data };
    }
    case 'temperature': {
      // τ²·KL(softmax(log pᵗ/τ) ‖ softmax(z/τ)); ∂/∂z = τ·(softmax(z/τ) − pᵗ_τ).
      const t = need();
      const tau = loss.tau;
      const tt = new Float64Array(b * c);
      const zs = new Float64Array(b * c);
      for (let i = 0; i < b * c; i++) {
        tt[i] = Math.log(Math.max(t.data[i], 1e-300)) / tau;
        zs[i] = z.data[i] / tau;
      }
      const logq = train.logSoftmaxRows(tt, b, c);
      for (let i = 0; i < b * c; i++) tt[i] = Math.exp(logq[i]);
      const r = ptLoss({ data: tt, shape: [b, c] }, { data: zs, shape: [b, c] }, NO_COEFFICIENTS(c));
      return { perExample: r.perExample.map((v) => v * tau * tau), grad: r.grad.data.map((v) => v * tau) };
    }
  }
}

/** ∂(mean loss)/∂logits and the mean loss, for one batch. */
export function lossGradient(
  loss: DistillLoss,
  logits: Matrix,
  teacher: Float64Array | undefined,
  labels: ArrayLike<number>,
): { grad: Float64Array; value: number } {
  const b = logits.shape[0];
  const v = distillLossValues(loss, logits, teacher, labels);
  let value = 0;
  for (const l of v.perExample) value += l;
  return { grad: v.grad.map((g) => g / b), value: value / b };
}

/** The trainer loss for a distillation loss: built-in cross-entropy / KL, else a custom loss. */
export function distillTrainerLoss(loss: DistillLoss): train.Loss {
  if (loss.kind === 'onehot') return { kind: 'cross-entropy' };
  if (loss.kind === 'kl' || loss.kind === 'eskd') return { kind: 'kl' };
  return {
    kind: 'custom',
    name: lossName(loss),
    evaluate: (outputs, batch) =>
      distillLossValues(
        loss,
        outputs,
        batch.targets && Float64Array.from(batch.targets.data),
        batch.labels ?? [],
      ),
  };
}

/** Predicted probabilities of a model on inputs [N, d] (batched eval-mode forward passes). */
export function predictProbs(model: Mlp, x: Matrix64): Matrix64 {
  const p = train.predictProbs(model, x);
  return { data: p.data, shape: [p.shape[0], p.shape[1]] };
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
    throw new ShapeError(`trainStudent: ${data.labels.length} labels for ${n} inputs`);
  if (loss.kind !== 'onehot' && (!data.teacher || data.teacher.shape[0] !== n)) {
    throw new ConfigError(
      `trainStudent: loss '${loss.kind}' needs teacher probabilities for all ${n} inputs`,
    );
  }
  if (loss.kind === 'eskd' && !opts.val)
    throw new ConfigError("trainStudent: 'eskd' needs a labelled validation set");
  const classes = data.teacher ? data.teacher.shape[1] : Math.max(...data.labels) + 1;
  const model = studentMlp([d, ...(opts.hidden ?? [128, 128]), classes], opts.seed);
  const val = loss.kind === 'eskd' ? opts.val : undefined;
  const valAccuracy: number[] = [];
  const r = train.fit(
    model,
    { x: data.x, labels: data.labels, targets: loss.kind === 'onehot' ? undefined : data.teacher },
    distillTrainerLoss(loss),
    {
      epochs: opts.epochs,
      // The shuffle stream of the original PTLoss loop (seed + 7919), so batches are unchanged.
      seed: opts.seed + 7919,
      batchSize: opts.batchSize ?? 32,
      optimizer: { kind: 'adam', ...(opts.adam ?? THESIS_ADAM) },
      validate: val && ((m) => accuracy(predictProbs(m, val.x), val.labels)),
      patience: loss.kind === 'eskd' ? loss.patience : undefined,
      onEpoch: (info) => {
        if (info.valScore !== undefined) valAccuracy.push(info.valScore);
        opts.onEpoch?.(info.epoch, info.trainLoss);
      },
    },
  );
  return {
    model,
    keptEpoch: r.keptEpoch,
    losses: r.history.map((h) => h.trainLoss),
    valAccuracy: val ? valAccuracy : undefined,
  };
}
