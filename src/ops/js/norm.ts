/** Plain-TS RMSNorm / LayerNorm: float64 row statistics, one contiguous pass per row. */
import type { NormPlan } from '../norm';
import { Tensor } from '../tensor';

/** `rmsNorm` kernel of the js backend. */
export function rmsNormJs(x: Tensor, weight: Tensor, p: NormPlan): Tensor {
  const { rows, cols, eps } = p;
  const d = x.data;
  const w = weight.data;
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const v = d[base + j];
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s / cols + eps);
    for (let j = 0; j < cols; j++) out[base + j] = d[base + j] * inv * w[j];
  }
  return new Tensor(out, x.shape);
}

/** `layerNorm` kernel of the js backend (two-pass variance, as the reference). */
export function layerNormJs(x: Tensor, gamma: Tensor, beta: Tensor, p: NormPlan): Tensor {
  const { rows, cols, eps } = p;
  const d = x.data;
  const g = gamma.data;
  const b = beta.data;
  const out = new Float32Array(x.size);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let s = 0;
    for (let j = 0; j < cols; j++) s += d[base + j];
    const mean = s / cols;
    let v = 0;
    for (let j = 0; j < cols; j++) {
      const c = d[base + j] - mean;
      v += c * c;
    }
    const inv = 1 / Math.sqrt(v / cols + eps);
    for (let j = 0; j < cols; j++) out[base + j] = (d[base + j] - mean) * inv * g[j] + b[j];
  }
  return new Tensor(out, x.shape);
}
