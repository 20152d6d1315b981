/** RMSNorm and LayerNorm over the last axis, with learned scale (and bias for LayerNorm). */
import { assertFinite } from './checks';
import { ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { NormPlan } from './plans';
export type { NormPlan } from './plans';

function plan(x: Tensor, op: string, eps: number, params: [string, Tensor | undefined][]): NormPlan {
  if (x.rank < 1) throw new ShapeError(`${op}: input must have at least one axis`);
  const cols = x.shape[x.rank - 1];
  for (const [name, p] of params) {
    if (p && (p.rank !== 1 || p.shape[0] !== cols)) {
      throw new ShapeError(
        `${op}: ${name} has shape [${p.shape.join(', ')}], expected [${cols}] to match x [${x.shape.join(', ')}]`,
      );
    }
    if (p) assertFinite(p, op, name);
  }
  assertFinite(x, op, 'x');
  return { rows: cols === 0 ? 0 : x.size / cols, cols, eps };
}

/** RMSNorm: x / sqrt(mean(x²) + eps) · weight (LLaMA-family models, Eq. 2.4). */
export function rmsNorm(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  const p = plan(x, 'rmsNorm', eps, [['weight', weight]]);
  if (x.size === 0) return Tensor.zeros(x.shape);
  return dispatch('rmsNorm', x, weight, p);
}

/** LayerNorm: (x − mean) / sqrt(var + eps) · gamma + beta (BERT-family models). */
export function layerNorm(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-12): Tensor {
  const p = plan(x, 'layerNorm', eps, [
    ['gamma', gamma],
    ['beta', beta],
  ]);
  if (x.size === 0) return Tensor.zeros(x.shape);
  return dispatch('layerNorm', x, gamma, beta, p);
}

/** Float64 reference kernel of `rmsNorm`. */
export function rmsNormRef(x: Tensor, weight: Tensor, p: NormPlan): Tensor {
  const { rows, cols, eps } = p;
  const d = x.data;
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += d[r * cols + j] ** 2;
    const inv = 1 / Math.sqrt(s / cols + eps);
    for (let j = 0; j < cols; j++) out[r * cols + j] = d[r * cols + j] * inv * weight.data[j];
  }
  return new Tensor(out, x.shape);
}

/** Float64 reference kernel of `layerNorm` (two-pass mean and variance). */
export function layerNormRef(x: Tensor, gamma: Tensor, beta: Tensor, p: NormPlan): Tensor {
  const { rows, cols, eps } = p;
  const d = x.data;
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < cols; j++) s += d[r * cols + j];
    const mean = s / cols;
    let v = 0;
    for (let j = 0; j < cols; j++) v += (d[r * cols + j] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / cols + eps);
    for (let j = 0; j < cols; j++)
      out[r * cols + j] = (d[r * cols + j] - mean) * inv * gamma.data[j] + beta.data[j];
  }
  return new Tensor(out, x.shape);
}

/** Plain-TS float64 reference for `rmsNorm`. */
export function rmsNormReference(x: Tensor, weight: Tensor, eps = 1e-5): Tensor {
  return rmsNormRef(x, weight, plan(x, 'rmsNorm', eps, [['weight', weight]]));
}

/** Plain-TS float64 reference for `layerNorm`. */
export function layerNormReference(x: Tensor, gamma: Tensor, beta: Tensor, eps = 1e-12): Tensor {
  const p = plan(x, 'layerNorm', eps, [
    ['gamma', gamma],
    ['beta', beta],
  ]);
  return layerNormRef(x, gamma, beta, p);
}
