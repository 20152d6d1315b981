/**
 * The compute engine a model runs its layers on. Three engines with the same semantics:
 *  - 'wasm': the ops' plain-TS reference twins for the light ops (norms, RoPE, SiLU/GELU), the
 *            contiguous-loop `attentionFast`, and the WebAssembly SIMD `linearWasm` kernel for the projections, which hold ~all the
 *            FLOPs — the fastest here (see bench/models.bench.ts); the default where wasm runs;
 *  - 'js':   the same with the plain-TS blocked `linearJs` kernel;
 *  - 'ops':  every op a gpu.js kernel from src/ops on the current backend (headlessgl/webasm/cpu).
 */
import { activation, activationReference } from '../ops/activations';
import { attention, type AttentionOptions } from '../ops/attention';
import { binary, binaryReference } from '../ops/elementwise';
import { layerNorm, layerNormReference, rmsNorm, rmsNormReference } from '../ops/norm';
import { applyRope, applyRopeReference, type RopeStyle, type RopeTables } from '../ops/rope';
import type { Tensor } from '../ops/tensor';
import { attentionFast } from './attention-fast';
import { linearJs, linearOps } from './linear';
import { linearWasm, wasmLinearUnavailableReason } from './wasm/linear-wasm';

export type EngineName = 'wasm' | 'js' | 'ops';

export interface Engine {
  readonly name: EngineName;
  linear(x: Tensor, w: Tensor, bias?: Tensor, what?: string): Tensor;
  rmsNorm(x: Tensor, w: Tensor, eps: number): Tensor;
  layerNorm(x: Tensor, g: Tensor, b: Tensor, eps: number): Tensor;
  rope(x: Tensor, tables: RopeTables, style: RopeStyle): Tensor;
  attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor;
  add(a: Tensor, b: Tensor): Tensor;
  mul(a: Tensor, b: Tensor): Tensor;
  silu(x: Tensor): Tensor;
  gelu(x: Tensor): Tensor;
}

const OPS: Engine = {
  name: 'ops',
  linear: linearOps,
  rmsNorm,
  layerNorm,
  rope: applyRope,
  attention,
  add: (a, b) => binary('add', a, b),
  mul: (a, b) => binary('mul', a, b),
  silu: (x) => activation('silu', x),
  gelu: (x) => activation('gelu', x),
};

const JS: Engine = {
  name: 'js',
  linear: linearJs,
  rmsNorm: rmsNormReference,
  layerNorm: layerNormReference,
  rope: applyRopeReference,
  attention: attentionFast,
  add: (a, b) => binaryReference('add', a, b),
  mul: (a, b) => binaryReference('mul', a, b),
  silu: (x) => activationReference('silu', x),
  gelu: (x) => activationReference('gelu', x),
};

const WASM: Engine = { ...JS, name: 'wasm', linear: linearWasm };

/** The default engine: 'wasm' where WebAssembly SIMD with shared memory runs, else 'js'. */
export function defaultEngineName(): EngineName {
  return wasmLinearUnavailableReason() === undefined ? 'wasm' : 'js';
}

/** The engine of a name (default: the fastest available; 'ops' runs on the selected gpu.js backend). */
export function getEngine(name: EngineName = defaultEngineName()): Engine {
  if (name === 'ops') return OPS;
  if (name === 'js') return JS;
  if (name === 'wasm') return WASM;
  throw new RangeError(`unknown engine '${String(name)}' (wasm, js, ops)`);
}
