/** Monte-Carlo dropout: N stochastic forward passes with dropout active at inference (Eq. 3.4). */
import { ConfigError, NonFiniteError } from '../errors';
import { deferInputChecks } from '../ops';
import type { Mlp } from './mlp';
import type { MatrixLike } from './types';

export interface McDropoutOptions {
  /** N, the number of stochastic passes. */
  passes: number;
  /** Seeds the masks: pass k uses dropout keys (seed, k·chunks + chunk). */
  seed: number;
  /** Rows per forward chunk (default 4096). */
  batchSize?: number;
}

export interface McDropoutResult {
  /** r̂_{i,k}: outputs of every pass, row-major [passes, rows, out]. */
  samples: Float64Array;
  shape: [number, number, number];
}

/**
 * Outputs of N passes with the model's dropout active (the masks of Gal & Ghahramani's MC dropout),
 * deterministic given the seed. Needs a model built with dropout > 0.
 */
export function mcDropout(model: Mlp, x: MatrixLike, opts: McDropoutOptions): McDropoutResult {
  if (!(model.dropout > 0))
    throw new ConfigError('mcDropout: the model has no dropout (build it with dropout > 0)');
  if (!Number.isInteger(opts.passes) || opts.passes < 1)
    throw new ConfigError(`mcDropout: passes ${opts.passes} must be a positive integer`);
  const rows = x.shape[0];
  const out = model.outputSize;
  const batchSize = opts.batchSize ?? 4096;
  if (!(Number.isInteger(batchSize) && batchSize >= 1))
    throw new ConfigError(`mcDropout: batchSize ${opts.batchSize} must be a positive integer`);
  const chunks = Math.max(1, Math.ceil(rows / batchSize));
  const samples = new Float64Array(opts.passes * rows * out);
  const { data } = model.inputBuffer(x);
  const d = model.inputSize;
  // The first layer and its activation are the same in every pass (no mask before them): computed once
  // per chunk, then each pass draws its masks (keys (seed, k·chunks + chunk), as `forward` would) and
  // runs the rest, so the samples equal N calls of model.forward(x, { dropout }) bit for bit.
  for (let chunk = 0; chunk < chunks; chunk++) {
    const s = chunk * batchSize;
    const e = Math.min(rows, s + batchSize);
    const xs = data.subarray(s * d, e * d);
    const first = model.firstHidden(xs, e - s);
    // The passes' products skip the ops' input scans (their inputs come from the checked first layer,
    // masks and the parameters); the samples are scanned once below instead.
    const scratch = first.act.slice();
    deferInputChecks(() => {
      for (let k = 0; k < opts.passes; k++) {
        const key = { seed: opts.seed, stream: k * chunks + chunk };
        samples.set(model.outputAfterFirst(first, e - s, key, scratch), (k * rows + s) * out);
      }
    });
  }
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) {
      const k = Math.floor(i / (rows * out));
      const r = Math.floor((i % (rows * out)) / out);
      throw new NonFiniteError(
        `mcDropout: pass ${k} gave a non-finite output (${samples[i]}) for row ${r}; check the model's parameters`,
      );
    }
  }
  return { samples, shape: [opts.passes, rows, out] };
}
