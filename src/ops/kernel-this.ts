/** Transitional shim: the gpu.js kernel `this` type now lives in gl/kernel-this.ts. */
export type { KernelThis } from './gl/kernel-this';
