/**
 * The weak model m_t (thesis §2.4.3): an MLP on frozen MiniLM sentence embeddings, trained with the shared
 * trainer (src/train). First cross-entropy on the weakly labelled rows D_t (Eq. 2.8); then, unless turned
 * off, self-training rounds: soft pseudo-labels ỹ = q²/f (Eq. 2.9) on the unmatched rows, and the model is
 * refit on D_t (cross-entropy) plus those rows (KL(ỹ ‖ m_t(x)), Eq. 2.10). The thesis does not give the
 * schedule; here it is `selfTrainRounds` rounds of `selfTrainEpochs` epochs, targets recomputed each round
 * (KL to a one-hot target is the cross-entropy, so both parts run as one KL loss).
 * Early stopping on D_v restores the best epoch.
 */
import { ShapeError, ValueError } from '../../errors';
import type { Tensor } from '../../ops';
import { accuracy, fit, Mlp, predictProbs, type Matrix64 } from '../../train';
import { sharpenTargets } from './self-training';

/** Weak-model settings (Table A.3 dropout 0.1; the rest chosen for a 384-d frozen-feature MLP). */
export interface WeakModelOptions {
  hidden?: number;
  dropout?: number;
  epochs?: number;
  batchSize?: number;
  lr?: number;
  patience?: number;
  selfTraining?: boolean;
  selfTrainRounds?: number;
  selfTrainEpochs?: number;
  /** Weight of a pseudo-labelled row relative to a rule-labelled one (default 1). */
  selfTrainWeight?: number;
  seed?: number;
}

export const DEFAULT_WEAK_MODEL: Required<WeakModelOptions> = {
  hidden: 128,
  dropout: 0.1,
  epochs: 30,
  batchSize: 64,
  lr: 1e-3,
  patience: 5,
  selfTraining: true,
  selfTrainRounds: 2,
  selfTrainEpochs: 5,
  selfTrainWeight: 1,
  seed: 0,
};

/** Rows of a [n, d] tensor as a float32 matrix. */
export function gatherRows(
  x: Tensor,
  idx: readonly number[],
): { data: Float32Array; shape: [number, number] } {
  const d = x.shape[1];
  const out = new Float32Array(idx.length * d);
  idx.forEach((r, i) => {
    if (!(r >= 0 && r < x.shape[0]))
      throw new ShapeError(`gatherRows: row ${r} outside 0..${x.shape[0] - 1}`);
    out.set(x.data.subarray(r * d, (r + 1) * d), i * d);
  });
  return { data: out, shape: [idx.length, d] };
}

/** What a weak model was trained on, and how. */
export interface WeakModel {
  mlp: Mlp;
  trainedRows: number;
  pseudoRows: number;
  bestEpoch: number;
  valAccuracy: number;
}

/**
 * Fits m_t: `x` are all embeddings, `train`/`labels` the rows of D_t with their weak labels, `unmatched`
 * the unlabelled rows for self-training, `val` the D_v rows and gold labels for early stopping.
 */
export function trainWeakModel(
  x: Tensor,
  train: readonly number[],
  labels: readonly number[],
  unmatched: readonly number[],
  val: { rows: readonly number[]; labels: readonly number[] },
  classes: number,
  options: WeakModelOptions = {},
): WeakModel {
  const o = { ...DEFAULT_WEAK_MODEL, ...options };
  if (train.length !== labels.length)
    throw new ShapeError(`trainWeakModel: ${train.length} rows, ${labels.length} labels`);
  if (train.length === 0) throw new ValueError('trainWeakModel: no labelled rows to train on');
  const d = x.shape[1];
  const mlp = new Mlp({ sizes: [d, o.hidden, classes], seed: o.seed, dropout: o.dropout });
  const xv = gatherRows(x, val.rows);
  const validate = val.rows.length > 0 ? (m: Mlp) => accuracy(m, xv, val.labels) : undefined;
  const xt = gatherRows(x, train);
  const r = fit(
    mlp,
    { x: xt, labels },
    { kind: 'cross-entropy' },
    {
      epochs: o.epochs,
      seed: o.seed,
      batchSize: o.batchSize,
      optimizer: { kind: 'adam', lr: o.lr },
      validate,
      patience: o.patience,
    },
  );
  let best = r.bestEpoch;
  let valAcc = r.bestScore;
  let pseudo = 0;
  if (o.selfTraining && unmatched.length > 0) {
    const xu = gatherRows(x, unmatched);
    const both = new Float32Array((train.length + unmatched.length) * d);
    both.set(xt.data, 0);
    both.set(xu.data, train.length * d);
    const weights = new Float64Array(train.length + unmatched.length).fill(1);
    weights.fill(o.selfTrainWeight, train.length);
    for (let round = 0; round < o.selfTrainRounds; round++) {
      const q = predictProbs(mlp, xu);
      const soft = sharpenTargets(q.data, unmatched.length, classes); // Eq. 2.9
      const targets = new Float64Array((train.length + unmatched.length) * classes);
      labels.forEach((y, i) => (targets[i * classes + y] = 1));
      targets.set(soft, train.length * classes);
      const s = fit(
        mlp,
        {
          x: { data: both, shape: [train.length + unmatched.length, d] },
          targets: { data: targets, shape: [train.length + unmatched.length, classes] },
          weights,
        },
        { kind: 'kl' }, // Eq. 2.10 on D̃_u, Eq. 2.8 on D_t
        {
          epochs: o.selfTrainEpochs,
          seed: o.seed + 1000 * (round + 1),
          batchSize: o.batchSize,
          optimizer: { kind: 'adam', lr: o.lr },
          validate,
          patience: o.patience,
        },
      );
      if (validate) {
        best = s.bestEpoch;
        valAcc = s.bestScore;
      }
    }
    pseudo = unmatched.length;
  }
  return { mlp, trainedRows: train.length, pseudoRows: pseudo, bestEpoch: best, valAccuracy: valAcc };
}

/** Class probabilities of rows `idx` ([n, K]). */
export function modelProbs(model: WeakModel, x: Tensor, idx: readonly number[]): Matrix64 {
  return predictProbs(model.mlp, gatherRows(x, idx));
}

/** Arg-max of each row of a [n, K] matrix. */
export function argmaxRows(p: { data: ArrayLike<number>; shape: readonly number[] }): Int32Array {
  const [n, k] = p.shape;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let b = 0;
    for (let j = 1; j < k; j++) if (p.data[i * k + j] > p.data[i * k + b]) b = j;
    out[i] = b;
  }
  return out;
}

/** How the ensemble weighs its members: α_t (Eq. 2.11) or equally (what appendix A.4 says was used). */
export type EnsembleWeighting = 'equal' | 'alpha';

/**
 * f(x) = Σ_t α_t m_t(x) / Σ_t α_t (Eq. 2.11, normalised; negative α_t clipped to 0), or the plain mean with
 * 'equal'; rows of probabilities [n, K].
 */
export function ensembleProbs(
  members: readonly { data: ArrayLike<number>; shape: readonly number[] }[],
  alphas: readonly number[],
  weighting: EnsembleWeighting = 'equal',
): Matrix64 {
  if (members.length === 0) throw new ValueError('ensembleProbs: no members');
  if (weighting === 'alpha' && alphas.length !== members.length)
    throw new ShapeError(`ensembleProbs: ${alphas.length} coefficients for ${members.length} models`);
  const [n, k] = members[0].shape;
  const out = new Float64Array(n * k);
  // A member worse than chance on the reweighted D_l gets α_t < 0; it is left out (weight 0), not inverted.
  const w = weighting === 'alpha' ? alphas.map((a) => Math.max(0, a)) : members.map(() => 1);
  const total = w.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new ValueError(`ensembleProbs: coefficients sum to ${total}`);
  members.forEach((m, t) => {
    if (m.shape[0] !== n || m.shape[1] !== k)
      throw new ShapeError(`ensembleProbs: member ${t} is [${m.shape.join(', ')}], member 0 [${n}, ${k}]`);
    for (let i = 0; i < n * k; i++) out[i] += (w[t] / total) * m.data[i];
  });
  return { data: out, shape: [n, k] };
}
