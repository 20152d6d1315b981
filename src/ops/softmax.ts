/**
 * Row-wise softmax, log-softmax and logsumexp over the last axis.
 * Two kernel passes: a per-row logsumexp (max-shifted, so large logits do not overflow), then the map.
 * -Infinity entries are allowed (masked logits); a row that is entirely -Infinity is an error.
 */
import { F32_MAX, assertNoNaN } from './checks';
import { NonFiniteError, ShapeError } from './errors';
import { dispatch } from './registry';
import { Tensor } from './tensor';
import type { RowsPlan, RowSoftmaxMode } from './plans';
export type { RowsPlan, RowSoftmaxMode } from './plans';

function rowsCols(x: Tensor, op: string): [number, number] {
  if (x.rank < 1) throw new ShapeError(`${op}: needs at least one axis, got a scalar`);
  const cols = x.shape[x.rank - 1];
  if (cols === 0) throw new ShapeError(`${op}: last axis is empty in [${x.shape.join(', ')}]`);
  return [x.size / cols, cols];
}

function prepare(x: Tensor, op: string, mode: RowSoftmaxMode): RowsPlan {
  assertNoNaN(x, op, 'x');
  if (!x.onHost) {
    // A device-resident input (an earlier GL kernel's output) stays on the device: it carries no infinities.
    const [r, c] = rowsCols(x, op);
    return { rows: r, cols: c, mode, masked: false };
  }
  const d = x.data;
  const [rows, cols] = rowsCols(x, op);
  let masked = false;
  for (let r = 0; r < rows; r++) {
    let anyFinite = false;
    for (let j = 0; j < cols; j++) {
      const v = d[r * cols + j];
      if (v === Infinity) throw new NonFiniteError(`${op}: +Infinity in row ${r} of [${x.shape.join(', ')}]`);
      if (v !== -Infinity) anyFinite = true;
      else masked = true;
    }
    if (!anyFinite)
      throw new NonFiniteError(`${op}: row ${r} of [${x.shape.join(', ')}] is entirely -Infinity`);
  }
  return { rows, cols, mode, masked };
}

function rowOp(x: Tensor, mode: RowSoftmaxMode): Tensor {
  const p = prepare(x, mode, mode);
  return dispatch('rowSoftmax', x, p);
}

/** logsumexp over the last axis: shape [..., n] → [...] (Eq. 2.2's normaliser). */
export function logSumExp(x: Tensor): Tensor {
  return rowOp(x, 'logSumExp');
}

/** Softmax over the last axis (Eq. 2.2). */
export function softmax(x: Tensor): Tensor {
  return rowOp(x, 'softmax');
}

/** Log-softmax over the last axis. */
export function logSoftmax(x: Tensor): Tensor {
  return rowOp(x, 'logSoftmax');
}

/** Output shape of a row op: [..., n] for (log-)softmax, [...] for logsumexp. */
export function rowOutputShape(x: Tensor, p: RowsPlan): number[] {
  return p.mode === 'logSumExp' ? x.shape.slice(0, -1) : [...x.shape];
}

function refLse(d: Float32Array, base: number, cols: number): number {
  let m = -Infinity;
  for (let j = 0; j < cols; j++) m = Math.max(m, d[base + j]);
  let s = 0;
  for (let j = 0; j < cols; j++) s += Math.exp(d[base + j] - m);
  return m + Math.log(s);
}

/** Float64 reference kernel of every row op. */
export function rowSoftmaxRef(x: Tensor, p: RowsPlan): Tensor {
  const { rows, cols } = p;
  const d = x.data;
  const out = new Float32Array(p.mode === 'logSumExp' ? rows : rows * cols);
  for (let r = 0; r < rows; r++) {
    const l = refLse(d, r * cols, cols);
    if (p.mode === 'logSumExp') out[r] = l;
    else if (p.mode === 'softmax')
      for (let j = 0; j < cols; j++) out[r * cols + j] = Math.exp(d[r * cols + j] - l);
    else for (let j = 0; j < cols; j++) out[r * cols + j] = d[r * cols + j] - l;
  }
  return new Tensor(out, rowOutputShape(x, p));
}

/** Plain-TS float64 reference of `logSumExp`. */
export function logSumExpReference(x: Tensor): Tensor {
  return rowSoftmaxRef(x, prepare(x, 'logSumExp', 'logSumExp'));
}

/** Plain-TS float64 reference of `softmax`. */
export function softmaxReference(x: Tensor): Tensor {
  return rowSoftmaxRef(x, prepare(x, 'softmax', 'softmax'));
}

/** Plain-TS float64 reference of `logSoftmax`. */
export function logSoftmaxReference(x: Tensor): Tensor {
  return rowSoftmaxRef(x, prepare(x, 'logSoftmax', 'logSoftmax'));
}

export { F32_MAX };
