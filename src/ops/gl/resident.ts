/** Run a flat-output GL kernel to a resident texture (default) or back to the host. */
import { Tensor } from '../tensor';
import { glResident, runKernel, runKernelResident, type KernelArg, type KernelSpec } from './runtime';

/** The kernel's flat output as a tensor of `shape`: resident on GL unless `EFFLAB_GL_RESIDENT=0`. */
export function runResidentOrHost<C extends object>(
  spec: KernelSpec<C>,
  shape: readonly number[],
  ...args: KernelArg[]
): Tensor {
  if (glResident()) return runKernelResident(spec, shape, ...args);
  return new Tensor(runKernel(spec, ...args), shape);
}
