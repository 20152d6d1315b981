/**
 * The compute engine a model runs its layers on. Two engines with the same semantics:
 *  - 'ops': every op is a gpu.js kernel from src/ops on the current backend (headlessgl/webasm/cpu);
 *  - 'js':  the ops' plain-TS reference twins for the light ops plus the blocked `linearJs` kernel
 *           for the projections — on this CPU-only machine the fastest (see bench/models.bench.ts).
 */
import { activation, activationReference } from '../ops/activations';
import { attention, attentionReference, type AttentionOptions } from '../ops/attention';
import { binary, binaryReference } from '../ops/elementwise';
import { layerNorm, layerNormReference, rmsNorm, rmsNormReference } from '../ops/norm';
import { applyRope, applyRopeReference, type RopeStyle, type RopeTables } from '../ops/rope';
import type { Tensor } from '../ops/tensor';
import { linearJs, linearOps } from './linear';

export type EngineName = 'js' | 'ops';

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
  attention: attentionReference,
  add: (a, b) => binaryReference('add', a, b),
  mul: (a, b) => binaryReference('mul', a, b),
  silu: (x) => activationReference('silu', x),
  gelu: (x) => activationReference('gelu', x),
};

/** The engine of a name ('js' by default: fastest here; 'ops' runs on the selected gpu.js backend). */
export function getEngine(name: EngineName = 'js'): Engine {
  return name === 'ops' ? OPS : JS;
}
