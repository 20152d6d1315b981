/** Input validation shared by the ops: finite values, matching shapes. */
import { NonFiniteError, ShapeError } from './errors';
import type { Tensor } from './tensor';

let deferred = 0;

/**
 * Run `fn` with the ops' scans of their inputs for NaN / infinity turned off, for a caller that checks
 * the values that matter itself: the decoder checks each layer's residual stream once (through which
 * every non-finite value of the layer flows) instead of every op scanning every input (~8% of a
 * prefill). Nested calls are fine; the scans resume when the outermost returns or throws.
 */
export function deferInputChecks<T>(fn: () => T): T {
  deferred++;
  try {
    return fn();
  } finally {
    deferred--;
  }
}

/**
 * Throw if `t` holds a NaN or an infinity, naming the op, the operand and the first bad index.
 * A device-resident tensor (the output of an earlier kernel of the same backend, not yet read back) is
 * not scanned: scanning would download it and defeat residency; its inputs were checked when they entered.
 * Skipped inside `deferInputChecks`.
 */
export function assertFinite(t: Tensor, op: string, operand: string): void {
  if (deferred === 0) checkFinite(t, op, operand);
}

/** `assertFinite` that always scans (also inside `deferInputChecks`). */
export function checkFinite(t: Tensor, op: string, operand: string): void {
  if (!t.onHost) return;
  const d = t.data;
  if (allFinite(d)) return;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) {
      throw new NonFiniteError(
        `${op}: ${operand} [${t.shape.join(', ')}] has a non-finite value ${d[i]} at flat index ${i}`,
      );
    }
  }
}

/**
 * Whether every float32 of `d` is finite, on the bit patterns: a float is NaN or ±Infinity exactly when
 * its 8 exponent bits are all ones, and adding 1 to the exponent field (0x00800000) then carries into
 * the sign bit. OR-ing those sums over 4 values at a time leaves the sign bit set iff one is not finite
 * (≈ 1.6× faster than Number.isFinite per element, which matters on every op's input).
 */
function allFinite(d: Float32Array): boolean {
  const u = new Int32Array(d.buffer, d.byteOffset, d.length);
  const E = 0x7f800000;
  const ONE = 0x00800000;
  let m = 0;
  const n4 = u.length - (u.length % 4);
  let i = 0;
  for (; i < n4; i += 4) {
    m |= ((u[i] & E) + ONE) | ((u[i + 1] & E) + ONE) | ((u[i + 2] & E) + ONE) | ((u[i + 3] & E) + ONE);
  }
  for (; i < u.length; i++) m |= (u[i] & E) + ONE;
  return (m & 0x80000000) === 0;
}

/** Throw if `t` holds a NaN (infinities allowed, e.g. -Infinity as a mask). */
export function assertNoNaN(t: Tensor, op: string, operand: string): void {
  if (!t.onHost) return;
  const d = t.data;
  for (let i = 0; i < d.length; i++) {
    if (Number.isNaN(d[i])) {
      throw new NonFiniteError(`${op}: ${operand} [${t.shape.join(', ')}] has NaN at flat index ${i}`);
    }
  }
}

/** Throw unless `t` has exactly `rank` axes. */
export function assertRank(t: Tensor, rank: number | readonly number[], op: string, operand: string): void {
  const ok = typeof rank === 'number' ? t.rank === rank : rank.includes(t.rank);
  if (!ok) {
    const want = typeof rank === 'number' ? `${rank}` : rank.join(' or ');
    throw new ShapeError(`${op}: ${operand} must have rank ${want}, got shape [${t.shape.join(', ')}]`);
  }
}

/** Normalise a possibly negative axis and check it is in range. */
export function normaliseAxis(axis: number, rank: number, op: string): number {
  const a = axis < 0 ? rank + axis : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) {
    throw new ShapeError(`${op}: axis ${axis} out of range for rank ${rank}`);
  }
  return a;
}

/** Largest finite float32, used in place of infinities inside GL kernels. */
export const F32_MAX = 3.4028234663852886e38;

/** Copy with ±Infinity clamped to ±F32_MAX (GL kernels do not carry infinities reliably). */
export function clampInfinities(d: Float32Array): Float32Array {
  let needs = false;
  for (let i = 0; i < d.length; i++) {
    if (d[i] === Infinity || d[i] === -Infinity) {
      needs = true;
      break;
    }
  }
  if (!needs) return d;
  const out = new Float32Array(d);
  for (let i = 0; i < out.length; i++) {
    if (out[i] === Infinity) out[i] = F32_MAX;
    else if (out[i] === -Infinity) out[i] = -F32_MAX;
  }
  return out;
}
