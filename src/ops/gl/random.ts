/** gpu.js counter-based generator: the same 24-bit integer rounds as ../random.ts, exact in float32. */
import { addMod24, mixRound, mulMod24, rot12, type RngConsts } from '../random';
import type { Tensor } from '../tensor';
import type { KernelThis } from './kernel-this';
import { runResidentOrHost } from './resident';

const RNG_FUNCTIONS = [addMod24, mulMod24, rot12, mixRound];

/** gpu.js kernel: uniform (mode 0) or scaled dropout keep-mask (mode 1) for counter thread.x. */
export function randomKernel(this: KernelThis<RngConsts>): number {
  let x = addMod24(this.thread.x, this.constants.s0);
  x = mixRound(x, this.constants.a0h, this.constants.a0l, this.constants.c0);
  x = addMod24(x, this.constants.s1);
  x = mixRound(x, this.constants.a1h, this.constants.a1l, this.constants.c1);
  x = mixRound(x, this.constants.a2h, this.constants.a2l, this.constants.c2);
  x = mixRound(x, this.constants.a3h, this.constants.a3l, this.constants.c3);
  const u = x / 16777216;
  if (this.constants.mode === 0) return u;
  if (u < this.constants.p) return 0;
  return this.constants.scale;
}
/** `random` on GL. */
export function randomGl(shape: number[], k: RngConsts): Tensor {
  const n = shape.reduce((a, b) => a * b, 1);
  return runResidentOrHost(
    { name: 'random', fn: randomKernel, output: [n], constants: { ...k }, functions: RNG_FUNCTIONS },
    shape,
  );
}
