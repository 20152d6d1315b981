/**
 * Inverted-dropout keep masks written into a caller's buffer: the ops layer's `dropoutMask` (the
 * counter-based generator of src/ops/random.ts on the current backend: the SIMD integer kernel on
 * wasm/native, 32-bit integer rounds on js), bit-identical to `dropoutMaskReference` whichever made it
 * (tests/train/dropout.test.ts and the ops parity table check that bit for bit).
 */
import { ValueError } from '../errors';
import { dropoutMask, recycle } from '../ops';

const TWO24 = 16777216;

/**
 * Writes `count` values of the keep mask of (seed, stream) — 0 with probability p, else 1/(1−p) — into
 * `out[offset …]`: element i is `dropoutMaskReference([count], p, seed, { stream }).data[i]`.
 */
export function fillDropoutMask(
  out: Float32Array | Float64Array,
  offset: number,
  count: number,
  p: number,
  seed: number,
  stream: number,
): void {
  if (!(p >= 0 && p < 1)) throw new ValueError(`dropout mask: p = ${p} must be in [0, 1)`);
  if (!Number.isInteger(seed) || !Number.isInteger(stream))
    throw new ValueError(`dropout mask: seed ${seed} and stream ${stream} must be integers`);
  if (!(
    Number.isInteger(count) &&
    count >= 0 &&
    count <= TWO24 &&
    offset >= 0 &&
    offset + count <= out.length
  ))
    throw new ValueError(
      `dropout mask: ${count} values at offset ${offset} do not fit a buffer of ${out.length} (at most 2^24 per stream)`,
    );
  if (count === 0) return;
  const mask = dropoutMask([count], p, seed, { stream });
  out.set(mask.data, offset);
  recycle(mask);
}
