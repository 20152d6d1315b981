/**
 * Seeded, counter-based random numbers and dropout masks that are bit-identical on every backend.
 *
 * GLSL ES 1.0 (headless-gl) has no integer or bitwise arithmetic, so the generator works on 24-bit
 * integers held in float32, where every step is exact: multiplication mod 2^24 by splitting into
 * 12-bit limbs, addition mod 2^24 without overflow, and a 12-bit rotation. Each step is a bijection of
 * [0, 2^24), so for a fixed seed element i gets its own value and the stream is a permutation of the
 * 2^24 counters. Uniforms are u = x / 2^24 ∈ [0, 1) with 24-bit resolution. One call covers at most
 * 2^24 elements; `stream` selects an independent sequence (mixed into the seed).
 */
import { ShapeError, ValueError } from './errors';
import { dispatch } from './registry';
import { Tensor, shapeSize, type Shape } from './tensor';
import type { RngConsts } from './plans';
export type { RngConsts } from './plans';

const TWO24 = 16777216;
const TWO12 = 4096;
/** Maximum number of values one call can produce. */
export const MAX_RANDOM_ELEMENTS = TWO24;

/** Odd 24-bit multipliers and additive constants for the four rounds. */
const A = [0x9e3779, 0x85ebcb, 0xc2b2ad, 0x27d4eb] as const;
const C = [0x7f4a7c, 0x165667, 0xd3a2e1, 0x5bd1e9] as const;

/** (x + y) mod 2^24 for x, y < 2^24, exact in float32. */
export function addMod24(x: number, y: number): number {
  if (x >= 16777216 - y) return x - (16777216 - y);
  return x + y;
}

/** (x · a) mod 2^24 with a = ah·2^12 + al, exact in float32 (every product < 2^24). */
export function mulMod24(x: number, ah: number, al: number): number {
  const xh = Math.floor(x / 4096);
  const xl = x - xh * 4096;
  const lo = xl * al;
  const m1 = ah * xl - Math.floor((ah * xl) / 4096) * 4096;
  const m2 = al * xh - Math.floor((al * xh) / 4096) * 4096;
  const mid = m1 + m2 - Math.floor((m1 + m2) / 4096) * 4096;
  return addMod24(lo, mid * 4096);
}

/** 12-bit rotation of a 24-bit value. */
export function rot12(x: number): number {
  const hi = Math.floor(x / 4096);
  return (x - hi * 4096) * 4096 + hi;
}

/** One mixing round: multiply, add, rotate. */
export function mixRound(x: number, ah: number, al: number, c: number): number {
  return rot12(addMod24(mulMod24(x, ah, al), c));
}

/** The generator's 24-bit output for counter i; the kernel inlines the same rounds. */
function hash24(i: number, k: RngConsts): number {
  let x = addMod24(i, k.s0);
  x = mixRound(x, k.a0h, k.a0l, k.c0);
  x = addMod24(x, k.s1);
  x = mixRound(x, k.a1h, k.a1l, k.c1);
  x = mixRound(x, k.a2h, k.a2l, k.c2);
  x = mixRound(x, k.a3h, k.a3l, k.c3);
  return x;
}

/** Split any integer seed (and stream id) into two 24-bit words with a host-side integer hash. */
function seedWords(seed: number, stream: number): [number, number] {
  if (!Number.isInteger(seed) || !Number.isInteger(stream)) {
    throw new ValueError(`random: seed ${seed} and stream ${stream} must be integers`);
  }
  let h =
    Math.imul((seed | 0) ^ 0x5bd1e995, 0x27d4eb2d) ^ Math.imul(Math.floor(seed / 2 ** 32) | 0, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b) ^ Math.imul(stream | 0, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13), 0x9e3779b1);
  h ^= h >>> 16;
  const g = Math.imul(h ^ 0x7f4a7c15, 0x94d049bb);
  return [(h >>> 8) % TWO24, ((g ^ (g >>> 16)) >>> 8) % TWO24];
}

function consts(seed: number, opts: RandomOptions, mode: number, p: number): RngConsts {
  const [s0, s1] = opts.words ?? seedWords(seed, opts.stream ?? 0);
  if (!(Number.isInteger(s0) && Number.isInteger(s1) && s0 >= 0 && s1 >= 0 && s0 < TWO24 && s1 < TWO24)) {
    throw new ValueError(`random: seed words ${s0}, ${s1} must be integers in [0, 2^24)`);
  }
  const split = (a: number): [number, number] => [Math.floor(a / TWO12), a % TWO12];
  const [a0h, a0l] = split(A[0]);
  const [a1h, a1l] = split(A[1]);
  const [a2h, a2l] = split(A[2]);
  const [a3h, a3l] = split(A[3]);
  return {
    s0,
    s1,
    a0h,
    a0l,
    a1h,
    a1l,
    a2h,
    a2l,
    a3h,
    a3l,
    c0: C[0],
    c1: C[1],
    c2: C[2],
    c3: C[3],
    p,
    scale: p < 1 ? 1 / (1 - p) : 0,
    mode,
  };
}

function checkCount(shape: Shape, op: string): number {
  const n = shapeSize(shape);
  if (n > MAX_RANDOM_ELEMENTS)
    throw new ShapeError(`${op}: ${n} elements exceed the generator's 2^24 per call (use streams)`);
  return n;
}

export interface RandomOptions {
  /** Independent sequence number under the same seed (e.g. one per layer or per dropout sample). */
  stream?: number;
  /** Explicit 24-bit seed words (overrides seed and stream), to replay a stream from another implementation. */
  words?: readonly [number, number];
}

function generate(shape: Shape, op: string, k: RngConsts): Tensor {
  const n = checkCount(shape, op);
  if (n === 0) return Tensor.zeros(shape);
  return dispatch('random', [...shape], k);
}

/** Reference kernel of the generator (exact integer arithmetic in float64; also the CPU kernel). */
export function randomRef(shape: number[], k: RngConsts): Tensor {
  const n = shapeSize(shape);
  const out = new Float32Array(n);
  if (k.mode === 0) for (let i = 0; i < n; i++) out[i] = hash24(i, k) / TWO24;
  else for (let i = 0; i < n; i++) out[i] = hash24(i, k) / TWO24 < k.p ? 0 : k.scale;
  return new Tensor(out, shape);
}

/**
 * The CPU kernel of the generator (js backend): `randomRef`'s rounds in 32-bit integer arithmetic —
 * (x·a) mod 2^24 is the low 24 bits of `Math.imul(x, a)` and every sum stays below 2^25 — so the values
 * are bit for bit the reference's, about 10× faster. `x < p·2^24` is `x < ⌈p·2^24⌉` for integer x.
 */
export function randomInt(shape: number[], k: RngConsts): Tensor {
  const n = shapeSize(shape);
  const out = new Float32Array(n);
  const a0 = k.a0h * TWO12 + k.a0l;
  const a1 = k.a1h * TWO12 + k.a1l;
  const a2 = k.a2h * TWO12 + k.a2l;
  const a3 = k.a3h * TWO12 + k.a3l;
  const { s0, s1, c0, c1, c2, c3 } = k;
  const thr = Math.ceil(k.p * TWO24);
  const scale = Math.fround(k.scale);
  for (let i = 0; i < n; i++) {
    let x = (i + s0) & 0xffffff;
    x = ((Math.imul(x, a0) & 0xffffff) + c0) & 0xffffff;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = (x + s1) & 0xffffff;
    x = ((Math.imul(x, a1) & 0xffffff) + c1) & 0xffffff;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = ((Math.imul(x, a2) & 0xffffff) + c2) & 0xffffff;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    x = ((Math.imul(x, a3) & 0xffffff) + c3) & 0xffffff;
    x = ((x & 0xfff) << 12) | (x >>> 12);
    out[i] = k.mode === 0 ? x / TWO24 : x < thr ? 0 : scale;
  }
  return new Tensor(out, shape);
}

/** Uniform [0, 1) samples of the given shape on the current backend. */
export function randomUniform(shape: Shape, seed: number, opts: RandomOptions = {}): Tensor {
  return generate(shape, 'randomUniform', consts(seed, opts, 0, 0));
}

/** Inverted-dropout keep mask: 0 with probability p, else 1/(1−p). */
export function dropoutMask(shape: Shape, p: number, seed: number, opts: RandomOptions = {}): Tensor {
  if (!(p >= 0 && p < 1)) throw new ValueError(`dropoutMask: p = ${p} must be in [0, 1)`);
  return generate(shape, 'dropoutMask', consts(seed, opts, 1, p));
}

/** Plain-TS reference for `randomUniform` (same arithmetic, float64, exact). */
export function randomUniformReference(shape: Shape, seed: number, opts: RandomOptions = {}): Tensor {
  checkCount(shape, 'randomUniform');
  return randomRef([...shape], consts(seed, opts, 0, 0));
}

/** Plain-TS reference for `dropoutMask`. */
export function dropoutMaskReference(
  shape: Shape,
  p: number,
  seed: number,
  opts: RandomOptions = {},
): Tensor {
  const u = randomUniformReference(shape, seed, opts);
  const scale = 1 / (1 - p);
  return new Tensor(
    u.data.map((v) => (v < p ? 0 : scale)),
    shape,
  );
}
