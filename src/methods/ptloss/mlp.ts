/**
 * The student/teacher network of the synthetic experiment (section 4.6.1): an MLP with ReLU hidden
 * layers, trained with Adam. Every matrix product of the forward and backward passes goes through
 * the ops layer — `matmul` (current gpu.js backend) or its plain-TS twin `matmulReference`, chosen
 * by `engine`, or the contiguous-loop `gemmFast` of this folder — with the transposes done by the op (`transA` for weight gradients, `transB` for
 * input gradients). Bias, ReLU and Adam updates are plain loops over small buffers.
 * Deterministic given the seed and the engine/backend.
 */
import { matmul, matmulReference, Tensor } from '../../ops';
import { PtlossError } from './errors';
import { gemmFast } from './gemm';
import { Rng } from './rng';

/**
 * 'kernels': ops `matmul` on the current gpu.js backend; 'reference': ops `matmulReference`;
 * 'fast': `gemmFast` (same products, contiguous inner loops; the default for long runs).
 */
export type MatmulEngine = 'kernels' | 'reference' | 'fast';

interface Layer {
  /** [in, out] */
  W: Tensor;
  b: Float32Array;
  // Adam moments.
  mW: Float64Array;
  vW: Float64Array;
  mb: Float64Array;
  vb: Float64Array;
}

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const THESIS_ADAM: AdamSettings = { lr: 5e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

/** Forward activations kept for the backward pass. */
interface Cache {
  inputs: Tensor[];
  pre: Float32Array[];
}

export class Mlp {
  readonly sizes: readonly number[];
  private readonly layers: Layer[];
  private step = 0;
  readonly engine: MatmulEngine;

  /** sizes = [input, hidden…, classes]; weights ~ U(±1/√fan_in) like PyTorch's default Linear. */
  constructor(sizes: readonly number[], seed: number, engine: MatmulEngine = 'fast') {
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new PtlossError(`Mlp: layer sizes [${sizes.join(', ')}] must be ≥ 2 positive integers`);
    }
    this.sizes = [...sizes];
    this.engine = engine;
    const rng = new Rng(seed);
    this.layers = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const fin = sizes[l];
      const fout = sizes[l + 1];
      const bound = 1 / Math.sqrt(fin);
      const W = new Float32Array(fin * fout);
      for (let i = 0; i < W.length; i++) W[i] = rng.uniform(-bound, bound);
      const b = new Float32Array(fout);
      for (let i = 0; i < fout; i++) b[i] = rng.uniform(-bound, bound);
      this.layers.push({
        W: new Tensor(W, [fin, fout]),
        b,
        mW: new Float64Array(fin * fout),
        vW: new Float64Array(fin * fout),
        mb: new Float64Array(fout),
        vb: new Float64Array(fout),
      });
    }
  }

  private mm(a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean }): Tensor {
    if (this.engine === 'kernels') return matmul(a, b, opts);
    return this.engine === 'reference' ? matmulReference(a, b, opts) : gemmFast(a, b, opts);
  }

  private run(x: Tensor, keep: boolean): { logits: Tensor; cache: Cache } {
    if (x.shape.length !== 2 || x.shape[1] !== this.sizes[0]) {
      throw new PtlossError(`Mlp: input shape [${x.shape.join(', ')}] must be [batch, ${this.sizes[0]}]`);
    }
    const cache: Cache = { inputs: [], pre: [] };
    let h = x;
    this.layers.forEach((layer, l) => {
      if (keep) cache.inputs.push(h);
      const z = this.mm(h, layer.W, {});
      const out = z.shape[1];
      const d = z.data;
      for (let r = 0; r < d.length; r += out) for (let j = 0; j < out; j++) d[r + j] += layer.b[j];
      if (l + 1 < this.layers.length) {
        if (keep) cache.pre.push(Float32Array.from(d));
        for (let i = 0; i < d.length; i++) if (d[i] < 0) d[i] = 0;
      }
      h = z;
    });
    return { logits: h, cache };
  }

  /** Logits for a batch [B, input] → [B, classes]. */
  forward(x: Tensor): Tensor {
    return this.run(x, false).logits;
  }

  /**
   * One Adam step on a batch: `lossGrad(logits)` returns ∂L/∂logits for the batch's mean loss
   * ([B, C], float64). Returns the logits it was given.
   */
  trainStep(x: Tensor, lossGrad: (logits: Tensor) => Float64Array, adam: AdamSettings = THESIS_ADAM): Tensor {
    const { logits, cache } = this.run(x, true);
    const g = lossGrad(logits);
    if (g.length !== logits.data.length)
      throw new PtlossError(`Mlp.trainStep: gradient has ${g.length} values, logits ${logits.data.length}`);
    let delta = new Tensor(Float32Array.from(g), logits.shape);
    this.step++;
    const bc1 = 1 - Math.pow(adam.beta1, this.step);
    const bc2 = 1 - Math.pow(adam.beta2, this.step);
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const layer = this.layers[l];
      const input = cache.inputs[l];
      const dW = this.mm(input, delta, { transA: true });
      const out = delta.shape[1];
      const db = new Float32Array(out);
      for (let r = 0; r < delta.data.length; r += out)
        for (let j = 0; j < out; j++) db[j] += delta.data[r + j];
      let next: Tensor | undefined;
      if (l > 0) {
        next = this.mm(delta, layer.W, { transB: true });
        const pre = cache.pre[l - 1];
        for (let i = 0; i < next.data.length; i++) if (pre[i] <= 0) next.data[i] = 0;
      }
      adamUpdate(layer.W.data, dW.data, layer.mW, layer.vW, adam, bc1, bc2);
      adamUpdate(layer.b, db, layer.mb, layer.vb, adam, bc1, bc2);
      if (next) delta = next;
    }
    return logits;
  }

  /** Copy of all parameters (for early-stopping checkpoints). */
  snapshot(): Float32Array[] {
    return this.layers.flatMap((l) => [l.W.data.slice(), l.b.slice()]);
  }

  restore(s: Float32Array[]): void {
    this.layers.forEach((l, i) => {
      l.W.data.set(s[2 * i]);
      l.b.set(s[2 * i + 1]);
    });
  }
}

function adamUpdate(
  p: Float32Array,
  g: Float32Array,
  m: Float64Array,
  v: Float64Array,
  a: AdamSettings,
  bc1: number,
  bc2: number,
): void {
  const step = a.lr / bc1;
  for (let i = 0; i < p.length; i++) {
    const gi = g[i];
    m[i] = a.beta1 * m[i] + (1 - a.beta1) * gi;
    v[i] = a.beta2 * v[i] + (1 - a.beta2) * gi * gi;
    p[i] -= (step * m[i]) / (Math.sqrt(v[i] / bc2) + a.eps);
  }
}
