/**
 * Why weight-only SVD fails on SmolLM2 — measurable causes, each a number the notebook prints:
 *  - how flat a projection's spectrum is (energy kept by the first r singular directions);
 *  - how much of a weight's energy Q4_1 rounding could account for (an estimate from the dequantised
 *    weights: blocks of 32 inputs share one step d = (max − min)/15, uniform rounding error d²/12);
 *  - how uneven the attention inputs are across hidden channels (`channelEnergy` in whiten.ts).
 */
import { ShapeError, ValueError } from '../../errors';
import type { Tensor } from '../../ops';

/** Fraction of Σσ² carried by the first r singular values (Eckart–Young energy kept at rank r). */
export function energyKept(S: ArrayLike<number>, r: number): number {
  if (!Number.isInteger(r) || r < 0 || r > S.length)
    throw new ValueError(`energyKept: rank ${r} outside 0..${S.length}`);
  let head = 0;
  let total = 0;
  for (let i = 0; i < S.length; i++) {
    total += S[i] * S[i];
    if (i < r) head += S[i] * S[i];
  }
  return total === 0 ? 1 : head / total;
}

/**
 * Estimated Q4_1 rounding-noise energy relative to ‖W‖²_F for a dequantised weight stored [out, in]
 * (GGUF blocks: 32 consecutive inputs of one output row). Assumes each block's step is (max − min)/15
 * and the rounding error is uniform on ±step/2, so the noise energy of a block is 32·step²/12. On a
 * weight that was not Q4_1-quantised this is only an upper-bound-like estimate of 4-bit noise.
 */
export function q41NoiseEnergy(wOutIn: Tensor, block = 32): number {
  if (wOutIn.rank !== 2)
    throw new ShapeError(`q41NoiseEnergy: expected a matrix, got [${wOutIn.shape.join(', ')}]`);
  const [rows, cols] = wOutIn.shape;
  if (cols % block !== 0)
    throw new ShapeError(`q41NoiseEnergy: ${cols} inputs are not a multiple of ${block}`);
  let noise = 0;
  let total = 0;
  for (let i = 0; i < rows; i++) {
    for (let b = 0; b < cols; b += block) {
      let lo = Infinity;
      let hi = -Infinity;
      for (let j = b; j < b + block; j++) {
        const v = wOutIn.data[i * cols + j];
        total += v * v;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      const step = (hi - lo) / 15;
      noise += (block * step * step) / 12;
    }
  }
  return total === 0 ? 0 : noise / total;
}
