/**
 * Seeded pseudo-random numbers for DORM (splits, flips, synthetic data, dropout masks): the shared
 * trainer's SplitMix32 generator (src/train/rng.ts), plus a seeded permutation.
 */
import { Rng } from '../../train';

export { Rng };

/** 0, 1, …, n-1 in a seeded random order. */
export function permutation(n: number, seed: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  new Rng(seed).shuffle(p);
  return p;
}
