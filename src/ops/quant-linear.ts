/**
 * y = x · Wᵀ (+ b) with W held as GGUF blocks (Q8_0, Q4_1), never dequantized as a whole: the linear
 * layer of a quantized decoder (issue 10 item 3). Blocks of 32 weights: Q8_0 w = d·q (f16 d, int8 q),
 * Q4_1 w = d·q + m (f16 d and m, 4-bit q: byte j holds weight j in its low and j + 16 in its high
 * nibble), as ggml stores them. Kernels: wasm (src/ops/wasm's SIMD block dot products), js (one weight
 * row dequantized at a time, then dot products).
 */
import { ShapeError, ValueError } from './errors';
import type { LinearPlan, QuantActivations, QuantLinearPlan } from './plans';
import { dispatch } from './registry';
import { Tensor, shapeSize } from './tensor';
import { checkQuantMatrix, type QuantMatrix } from './wasm';

/** float32 value of an IEEE half bit pattern. */
function f16(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** Decode row j of W into out[0..cols) (exact: every weight is d·q (+ m) in float32 arithmetic). */
export function dequantRow(w: QuantMatrix, j: number, out: Float32Array): void {
  const blocks = w.cols / 32;
  const d = w.data;
  if (w.type === 'q8_0') {
    let o = j * blocks * 34;
    for (let b = 0; b < blocks; b++, o += 34) {
      const scale = f16(d[o] | (d[o + 1] << 8));
      for (let i = 0; i < 32; i++) out[b * 32 + i] = scale * ((d[o + 2 + i] << 24) >> 24);
    }
    return;
  }
  let o = j * blocks * 20;
  for (let b = 0; b < blocks; b++, o += 20) {
    const scale = f16(d[o] | (d[o + 1] << 8));
    const min = f16(d[o + 2] | (d[o + 3] << 8));
    for (let i = 0; i < 16; i++) {
      const q = d[o + 4 + i];
      out[b * 32 + i] = scale * (q & 15) + min;
      out[b * 32 + 16 + i] = scale * (q >> 4) + min;
    }
  }
}

export type { QuantActivations, QuantLinearPlan } from './plans';

/** Options of `quantLinear`. */
export interface QuantLinearOpOptions {
  activations?: QuantActivations;
}

/** Check y = x · Wᵀ + b for a quantized W [rows = out, cols = in]. */
function plan(
  x: Tensor,
  w: QuantMatrix,
  bias: Tensor | undefined,
  what: string,
  activations: QuantActivations = 'f32',
): QuantLinearPlan {
  checkQuantMatrix(w, what);
  if (x.rank < 1 || x.shape[x.rank - 1] !== w.cols) {
    throw new ShapeError(
      `${what}: input [${x.shape.join(', ')}] does not match ${w.type} weight [${w.rows}, ${w.cols}]`,
    );
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== w.rows)) {
    throw new ShapeError(`${what}: bias [${bias.shape.join(', ')}] does not match out = ${w.rows}`);
  }
  if (activations !== 'f32' && activations !== 'i16') {
    throw new ValueError(`${what}: activations '${String(activations)}' (expected 'f32' or 'i16')`);
  }
  const lead = x.shape.slice(0, -1);
  return { M: shapeSize(lead), K: w.cols, N: w.rows, shape: [...lead, w.rows], activations };
}

/** y = x · Wᵀ (+ b) with quantized weights, on the selected backend (a linear layer, Eq. 2.1's projections). */
export function quantLinear(
  x: Tensor,
  w: QuantMatrix,
  bias?: Tensor,
  what = 'quantLinear',
  opts: QuantLinearOpOptions = {},
): Tensor {
  const p = plan(x, w, bias, what, opts.activations);
  if (p.M * p.N === 0) return Tensor.zeros(p.shape);
  return dispatch('quantLinear', x, w, bias, p);
}

/** Float64 reference kernel of `quantLinear`. */
export function quantLinearRef(x: Tensor, w: QuantMatrix, bias: Tensor | undefined, p: LinearPlan): Tensor {
  const row = new Float32Array(p.K);
  const out = new Float32Array(p.M * p.N);
  const X = x.data;
  for (let j = 0; j < p.N; j++) {
    dequantRow(w, j, row);
    for (let i = 0; i < p.M; i++) {
      let s = bias ? bias.data[j] : 0;
      for (let k = 0; k < p.K; k++) s += X[i * p.K + k] * row[k];
      out[i * p.N + j] = s;
    }
  }
  return new Tensor(out, p.shape);
}

/** Plain-TS float64 reference for `quantLinear`. */
export function quantLinearReference(x: Tensor, w: QuantMatrix, bias?: Tensor, what = 'quantLinear'): Tensor {
  return quantLinearRef(x, w, bias, plan(x, w, bias, what));
}
