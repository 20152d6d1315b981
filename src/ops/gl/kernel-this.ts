/** The `this` gpu.js gives a kernel function: thread coordinates and compile-time constants. */
export interface KernelThis<C> {
  thread: { x: number; y: number; z: number };
  output: { x: number; y: number; z: number };
  constants: C;
}
