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
import { Tensor } from '../ops/tensor';
import { attentionFast, attentionGemm } from './attention-fast';
import { linearJs, linearOps } from './linear';
import { linearWasm, wasmLinearUnavailableReason } from './wasm/linear-wasm';
import { ConfigError, ShapeError } from '../errors';

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
  /** SwiGLU gate: silu(g) ⊙ u (same shapes). */
  swiglu(g: Tensor, u: Tensor): Tensor;
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
  swiglu: (g, u) => binary('mul', activation('silu', g), u),
};

/** Same-shape a + b in one plain loop (the residual adds). */
function addSame(a: Tensor, b: Tensor): Tensor {
  if (a.shape.join() !== b.shape.join()) return binaryReference('add', a, b);
  const out = new Float32Array(a.size);
  const x = a.data;
  const y = b.data;
  for (let i = 0; i < out.length; i++) out[i] = x[i] + y[i];
  return new Tensor(out, a.shape);
}

/** silu(g) ⊙ u in one plain loop (float64 exp, as activationReference). */
function swigluJs(g: Tensor, u: Tensor): Tensor {
  if (g.shape.join() !== u.shape.join()) {
    throw new ShapeError(`swiglu: gate [${g.shape.join(', ')}] and up [${u.shape.join(', ')}] differ`);
  }
  const out = new Float32Array(g.size);
  const a = g.data;
  const b = u.data;
  for (let i = 0; i < out.length; i++) out[i] = (a[i] / (1 + Math.exp(-a[i]))) * b[i];
  return new Tensor(out, g.shape);
}

/**
 * GELU(x) = x/2 · (1 + erf(x/√2)) with erf from Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e-7), far
 * cheaper than the ops' series reference and below float32 resolution at the scale of BERT activations.
 */
function geluJs(x: Tensor): Tensor {
  const out = new Float32Array(x.size);
  const d = x.data;
  for (let i = 0; i < out.length; i++) {
    const v = d[i];
    const z = Math.abs(v) * Math.SQRT1_2;
    const t = 1 / (1 + 0.3275911 * z);
    const poly =
      t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    const erf = 1 - poly * Math.exp(-z * z);
    out[i] = 0.5 * v * (1 + (v < 0 ? -erf : erf));
  }
  return new Tensor(out, x.shape);
}

const JS: Engine = {
  name: 'js',
  linear: linearJs,
  rmsNorm: rmsNormReference,
  layerNorm: layerNormReference,
  rope: applyRopeReference,
  attention: attentionFast,
  add: addSame,
  mul: (a, b) => binaryReference('mul', a, b),
  silu: (x) => activationReference('silu', x),
  gelu: geluJs,
  swiglu: swigluJs,
};

/** Attention on the SIMD kernel for prefill-sized queries, the scalar loops for a few queries (decode). */
function attentionWasm(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): Tensor {
  return q.shape[1] >= 8
    ? attentionGemm(q, k, v, opts, (x, w) => linearWasm(x, w))
    : attentionFast(q, k, v, opts);
}

const WASM: Engine = { ...JS, name: 'wasm', linear: linearWasm, attention: attentionWasm };

/** The default engine: 'wasm' where WebAssembly SIMD with shared memory runs, else 'js'. */
export function defaultEngineName(): EngineName {
  return wasmLinearUnavailableReason() === undefined ? 'wasm' : 'js';
}

/** The engine of a name (default: the fastest available; 'ops' runs on the selected gpu.js backend). */
export function getEngine(name: EngineName = defaultEngineName()): Engine {
  if (name === 'ops') return OPS;
  if (name === 'js') return JS;
  if (name === 'wasm') return WASM;
  throw new ConfigError(`unknown engine '${String(name)}' (wasm, js, ops)`);
}
