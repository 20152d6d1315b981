/** Monte-Carlo dropout: N stochastic forward passes with dropout active at inference (Eq. 3.4). */
import { ConfigError } from '../errors';
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
  const chunks = Math.max(1, Math.ceil(rows / batchSize));
  const samples = new Float64Array(opts.passes * rows * out);
  for (let k = 0; k < opts.passes; k++) {
    const z = model.forward(x, { dropout: { seed: opts.seed, stream: k * chunks }, batchSize });
    samples.set(z.data, k * rows * out);
  }
  return { samples, shape: [opts.passes, rows, out] };
}
