/** Registers the five built-in backends with the registry (imported once by the ops index). */
import { GL_KERNELS } from './gl';
import { glIsHardware, glUnavailableReason } from './gl/runtime';
import { JS_KERNELS } from './js';
import { nativeBackendUnavailableReason, nativeDeclines, nativeKernelTable } from './native/kernels';
import { REFERENCE_KERNELS } from './reference';
import { registerBackend } from './registry';
import { wasmKernelTable, wasmUnavailableReason } from './wasm-kernels';

registerBackend('reference', { kernels: () => REFERENCE_KERNELS, unavailableReason: () => undefined });
registerBackend('js', { kernels: () => JS_KERNELS, unavailableReason: () => undefined });
registerBackend('wasm', { kernels: wasmKernelTable, unavailableReason: wasmUnavailableReason });
// OpenBLAS is loaded on the first question asked of this backend (auto asks on the first op), not here.
registerBackend('native', {
  kernels: nativeKernelTable,
  unavailableReason: () => nativeBackendUnavailableReason(wasmUnavailableReason),
  declines: nativeDeclines,
});
registerBackend('gl', {
  kernels: () => GL_KERNELS,
  unavailableReason: glUnavailableReason,
  preferredByAuto: glIsHardware,
});
