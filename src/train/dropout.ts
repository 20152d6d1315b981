/**
 * Inverted-dropout keep masks written into a caller's buffer, bit-identical to the ops layer's
 * `dropoutMaskReference` (the counter-based generator of src/ops/random.ts) but with 32-bit integer
 * arithmetic instead of the float24 limbs the GL backend needs: (x·a) mod 2^24 is the low 24 bits of
 * `Math.imul(x, a)`, (x + c) mod 2^24 is `(x + c) & 0xffffff`, and the 12-bit rotation is two shifts.
 * Same counters, same seed words, same rounds, so a mask is the same whichever of the two made it
 * (tests/train/dropout.test.ts checks that bit for bit); this one allocates nothing and is ~10× faster.
 */
import { ValueError } from '../errors';

const MASK24 = 0xffffff;
const TWO24 = 16777216;
/** The generator's four round multipliers and constants (src/ops/random.ts). */
const A0 = 0x9e3779;
const A1 = 0x85ebcb;
const A2 = 0xc2b2ad;
const A3 = 0x27d4eb;
const C0 = 0x7f4a7c;
const C1 = 0x165667;
const C2 = 0xd3a2e1;
const C3 = 0x5bd1e9;

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
  for (let i = 0; i < count; i++) {
    let x = (i + s0) & MASK24;
    x = (Math.imul(x, A0) + C0) & MASK24;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = (x + s1) & MASK24;
    x = (Math.imul(x, A1) + C1) & MASK24;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = (Math.imul(x, A2) + C2) & MASK24;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = (Math.imul(x, A3) + C3) & MASK24;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    out[offset + i] = x / TWO24 < p ? 0 : scale;
  }
}
