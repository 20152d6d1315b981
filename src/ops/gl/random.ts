/**
 * gpu.js counter-based generator: the same 24-bit integer rounds as ../random.ts, exact in float32.
 * The round constants and the mode are compile-time constants; the seed words, the drop probability and
 * the scale are kernel arguments, so a new seed (every dropout step) reuses the compiled kernel.
 */
import { addMod24, mixRound, mulMod24, rot12, type RngConsts } from '../random';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

const RNG_FUNCTIONS = [addMod24, mulMod24, rot12, mixRound];

/** What the compiled kernel fixes: the round constants and the mode (0 uniform, 1 dropout mask). */
type RngRoundConsts = Omit<RngConsts, 's0' | 's1' | 'p' | 'scale'>;

/** gpu.js kernel: uniform (mode 0) or scaled dropout keep-mask (mode 1) for counter thread.x. */
export function randomKernel(
  this: KernelThis<RngRoundConsts>,
  s0: number,
  s1: number,
  p: number,
  scale: number,
): number {
  let x = addMod24(this.thread.x, s0);
  x = mixRound(x, this.constants.a0h, this.constants.a0l, this.constants.c0);
  x = addMod24(x, s1);
  x = mixRound(x, this.constants.a1h, this.constants.a1l, this.constants.c1);
  x = mixRound(x, this.constants.a2h, this.constants.a2l, this.constants.c2);
  x = mixRound(x, this.constants.a3h, this.constants.a3l, this.constants.c3);
  const u = x / 16777216;
  if (this.constants.mode === 0) return u;
  if (u < p) return 0;
  return scale;
}

/** `random` on GL. */
export function randomGl(shape: number[], k: RngConsts): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  const { s0, s1, p, scale, ...rounds } = k;
  return runResidentOrHost(
    { name: 'random', fn: randomKernel, output: [n], constants: rounds, functions: RNG_FUNCTIONS },
    shape,
    s0,
    s1,
    p,
    scale,
  );
}
