/**
 * Inverted-dropout keep masks written into a caller's buffer, bit-identical to the ops layer's
 * `dropoutMaskReference` (the counter-based generator of src/ops/random.ts) but with 32-bit integer
 * arithmetic instead of the float24 limbs the GL backend needs: (x·a) mod 2^24 is the low 24 bits of
 * `Math.imul(x, a)`, (x + c) mod 2^24 is `(x + c) & 0xffffff`, and the 12-bit rotation is two shifts.
 * Same counters, same seed words, same rounds (multipliers 0x9e3779, 0x85ebcb, 0xc2b2ad, 0x27d4eb and
 * constants 0x7f4a7c, 0x165667, 0xd3a2e1, 0x5bd1e9, written into the loop as literals), so a mask is the same whichever of the two made it
 * (tests/train/dropout.test.ts checks that bit for bit); this one allocates nothing and is ~10× faster.
 */
import { ValueError } from '../errors';

const TWO24 = 16777216;

/** The generator's two 24-bit seed words of (seed, stream) — the host-side hash of src/ops/random.ts. */
function seedWords(seed: number, stream: number): [number, number] {
  let h =
    Math.imul((seed | 0) ^ 0x5bd1e995, 0x27d4eb2d) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ Math.imul(stream | 0, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x9e3779b1);
  h ^= h >>> 16;
  const g = Math.imul(h ^ 0x7f4a7c15, 0x94d049bb);
  return [(h >>> 8) % TWO24, ((g ^ (g >>> 16)) >>> 8) % TWO24];
}

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
  const [s0, s1] = seedWords(seed, stream);
  // The mask value goes through float32 as in the reference (its buffers are Float32Array).
  const scale = Math.fround(1 / (1 - p));
  // x / 2^24 < p ⟺ x < p·2^24 exactly (scaling by a power of two is exact).
  const thr = p * TWO24;
  fillKeep(out, offset, count, s0, s1, thr, scale);
}

/** The generator's rounds for counters 0 … count−1 (every intermediate below 2^25: 32-bit integer arithmetic). */
function fillKeep(
  out: Float32Array | Float64Array,
  offset: number,
  count: number,
  s0: number,
  s1: number,
  thr: number,
  scale: number,
): void {
  for (let i = 0; i < count; i++) {
    let x = (i + s0) & 0xffffff;
    x = ((Math.imul(x, 0x9e3779) & 0xffffff) + 0x7f4a7c) & 0xffffff;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = (x + s1) & 0xffffff;
    x = ((Math.imul(x, 0x85ebcb) & 0xffffff) + 0x165667) & 0xffffff;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = ((Math.imul(x, 0xc2b2ad) & 0xffffff) + 0xd3a2e1) & 0xffffff;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = ((Math.imul(x, 0x27d4eb) & 0xffffff) + 0x5bd1e9) & 0xffffff;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    out[offset + i] = x < thr ? 0 : scale;
  }
}
