/** Registers the four built-in backends with the registry (imported once by the ops index). */
import { GL_KERNELS } from './gl';
import { glIsHardware, glUnavailableReason } from './gl/runtime';
import { JS_KERNELS } from './js';
import { REFERENCE_KERNELS } from './reference';
import { registerBackend } from './registry';
import { wasmKernelTable, wasmUnavailableReason } from './wasm-kernels';

registerBackend('reference', { kernels: () => REFERENCE_KERNELS, unavailableReason: () => undefined });
registerBackend('js', { kernels: () => JS_KERNELS, unavailableReason: () => undefined });
registerBackend('wasm', { kernels: wasmKernelTable, unavailableReason: wasmUnavailableReason });
registerBackend('gl', {
  kernels: () => GL_KERNELS,
  unavailableReason: glUnavailableReason,
  preferredByAuto: glIsHardware,
});
