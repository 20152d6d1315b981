/**
 * The multilayer perceptron every chapter trains: input → hidden… → output, a nonlinearity and
 * optional (inverted) dropout after each hidden layer, a linear output layer.
 *
 * Parameters live in ONE flat buffer `params` (θ as a vector, float32 or float64), layer after layer,
 * each layer as W [fanIn, fanOut] (row-major, so a layer computes x·W + b — the transpose of
 * PyTorch's [out, in] storage) followed by b [fanOut]; `layers[l].W` / `.b` are views into it.
 * Initialisation follows PyTorch's `nn.Linear` default: W and b ~ U(±1/√fanIn).
 *
 * Dropout masks come from the ops layer's counter-based generator, addressed by a `DropoutKey`
 * (seed, stream): the same key gives the same masks, so a training step, its finite-difference
 * check and an MC-dropout pass are all reproducible.
 */
import { ShapeError, dropoutMask, recycle } from '../ops';
import { ConfigError, ValueError } from '../errors';
import { applyActivation, multiplyDerivative } from './activations';
import { product } from './dense';
import { Rng } from './rng';
import type { HiddenActivation, MatrixLike, Matrix64, Precision, Vec } from './types';

export interface MlpOptions {
  /** Layer widths [input, hidden…, output] (at least two). */
  sizes: readonly number[];
  /** Seed of the initialisation. */
  seed: number;
  /** Hidden nonlinearity (default 'relu'). */
  activation?: HiddenActivation;
  /** Dropout probability on every hidden layer's output, in [0, 1) (default 0). */
  dropout?: number;
  /** Parameter and activation precision (default 'float32'). */
  precision?: Precision;
}

/** One layer's parameters: views into the model's flat `params`. */
export interface LayerParams {
  readonly W: Vec;
  readonly b: Vec;
  readonly fanIn: number;
  readonly fanOut: number;
  /** Offset of W in `params`; b starts at offset + fanIn·fanOut. */
  readonly offset: number;
}

/**
 * Addresses the dropout masks of one forward pass: hidden layer l uses
 * `dropoutMaskReference([rows, width], p, seed, { stream: stream·16 + l })` (made by the ops layer's
 * `dropoutMask` on the current backend, bit-identical and faster).
 */
export interface DropoutKey {
  readonly seed: number;
  readonly stream: number;
}

/** What a forward pass keeps for the backward pass. */
export interface ForwardTrace {
  readonly rows: number;
  /** Input of each layer ([rows, fanIn]). */
  readonly inputs: Vec[];
  /** Pre-activation of each hidden layer ([rows, width]). */
  readonly pre: Vec[];
  /** Dropout keep-mask (0 or 1/(1−p)) of each hidden layer, when dropout was active. */
  readonly masks: (Float32Array | undefined)[];
  /** Network output [rows, out]. */
  readonly out: Vec;
}

const MAX_HIDDEN_FOR_STREAMS = 16;

export class Mlp {
  readonly sizes: readonly number[];
  readonly activation: HiddenActivation;
  readonly dropout: number;
  readonly precision: Precision;
  /** θ: every parameter, layer by layer (W then b). Write to it to set parameters in place. */
  readonly params: Vec;
  readonly layers: readonly LayerParams[];

  /** An MLP with PyTorch-default initialisation (U(±1/√fanIn) for W and b). */
  constructor(opts: MlpOptions) {
    const { sizes } = opts;
    if (sizes.length < 2 || sizes.some((s) => !Number.isInteger(s) || s < 1)) {
      throw new ConfigError(`Mlp: layer sizes [${sizes.join(', ')}] must be at least two positive integers`);
    }
    if (sizes.length - 2 > MAX_HIDDEN_FOR_STREAMS) {
      throw new ConfigError(`Mlp: ${sizes.length - 2} hidden layers; at most ${MAX_HIDDEN_FOR_STREAMS}`);
    }
    const dropout = opts.dropout ?? 0;
    if (!(dropout >= 0 && dropout < 1)) throw new ConfigError(`Mlp: dropout ${dropout} must be in [0, 1)`);
    const activation = opts.activation ?? 'relu';
    if (!['relu', 'gelu', 'tanh'].includes(activation)) {
      throw new ConfigError(`Mlp: unknown activation '${activation}' (relu, gelu, tanh)`);
    }
    const precision = opts.precision ?? 'float32';
    if (precision !== 'float32' && precision !== 'float64') {
      throw new ConfigError(`Mlp: unknown precision '${precision}' (float32, float64)`);
    }
    this.sizes = Object.freeze([...sizes]);
    this.activation = activation;
    this.dropout = dropout;
    this.precision = precision;
    let total = 0;
    for (let l = 0; l + 1 < sizes.length; l++) total += sizes[l] * sizes[l + 1] + sizes[l + 1];
    this.params = precision === 'float32' ? new Float32Array(total) : new Float64Array(total);
    const layers: LayerParams[] = [];
    const rng = new Rng(opts.seed);
    let offset = 0;
    for (let l = 0; l + 1 < sizes.length; l++) {
      const fanIn = sizes[l];
      const fanOut = sizes[l + 1];
      const W = this.params.subarray(offset, offset + fanIn * fanOut);
      const b = this.params.subarray(offset + fanIn * fanOut, offset + fanIn * fanOut + fanOut);
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < W.length; i++) W[i] = rng.uniform(-bound, bound);
      for (let i = 0; i < fanOut; i++) b[i] = rng.uniform(-bound, bound);
      layers.push({ W, b, fanIn, fanOut, offset });
      offset += fanIn * fanOut + fanOut;
    }
    this.layers = layers;
  }

  /** Number of parameters P. */
  get size(): number {
    return this.params.length;
  }

  get inputSize(): number {
    return this.sizes[0];
  }

  get outputSize(): number {
    return this.sizes[this.sizes.length - 1];
  }

  /** A float64 copy of θ. */
  getParams(): Float64Array {
    return Float64Array.from(this.params);
  }

  /** Overwrite θ (length P, finite). */
  setParams(theta: ArrayLike<number>): void {
    if (theta.length !== this.params.length) {
      throw new ShapeError(`Mlp.setParams: ${theta.length} values for ${this.params.length} parameters`);
    }
    for (let i = 0; i < theta.length; i++) {
      if (!Number.isFinite(theta[i]))
        throw new ValueError(`Mlp.setParams: θ[${i}] = ${theta[i]} is not finite`);
    }
    this.params.set(theta);
  }

  /** An independent copy (same architecture and parameters). */
  clone(): Mlp {
    const m = new Mlp({
      sizes: this.sizes,
      seed: 0,
      activation: this.activation,
      dropout: this.dropout,
      precision: this.precision,
    });
    m.params.set(this.params);
    return m;
  }

  /** Inputs as a buffer in this model's precision, checking the shape. */
  inputBuffer(x: MatrixLike, what = 'x'): { data: Vec; rows: number } {
    if (x.shape.length !== 2 || x.shape[1] !== this.inputSize || x.data.length !== x.shape[0] * x.shape[1]) {
      throw new ShapeError(
        `Mlp: ${what} has shape [${x.shape.join(', ')}] (${x.data.length} values); expected [rows, ${this.inputSize}]`,
      );
    }
    const rows = x.shape[0];
    if (this.precision === 'float32') {
      return { data: x.data instanceof Float32Array ? x.data : Float32Array.from(x.data), rows };
    }
    return { data: x.data instanceof Float64Array ? x.data : Float64Array.from(x.data), rows };
  }

  /**
   * Forward pass keeping what the backward pass needs. Dropout is active iff `dropout` (a key) is
   * given and the model's dropout rate is positive (train mode); otherwise this is eval mode.
   */
  trace(x: Vec, rows: number, dropout?: DropoutKey): ForwardTrace {
    if (dropout !== undefined) checkKey(dropout);
    const t = { rows, inputs: [], pre: [], masks: [] };
    return { ...t, out: this.traceFrom(t, 0, x, dropout) };
  }

  /**
   * The activations of the first hidden layer before its dropout, [rows, sizes[1]]: the part of a pass
   * that no dropout mask touches, so MC dropout computes it once for all its passes (`outputAfterFirst`).
   */
  firstHidden(x: Vec, rows: number): { pre: Vec; act: Vec } {
    if (this.layers.length < 2) throw new ConfigError('Mlp.firstHidden: the model has no hidden layer');
    const z = this.affine(0, x, rows);
    const act = this.precision === 'float32' ? new Float32Array(z.length) : new Float64Array(z.length);
    applyActivation(this.activation, z, act);
    return { pre: z, act };
  }

  /**
   * The outputs [rows, out] of `trace(x, rows, dropout).out` continued from `firstHidden(x, rows)`,
   * the same values bit for bit, for MC dropout: the first hidden layer's mask is drawn and applied into
   * `scratch` (rows·sizes[1] values in the model's precision, reused across passes; a new array when
   * omitted), then the later layers run. Nothing is kept for a backward pass.
   */
  outputAfterFirst(first: { act: Vec }, rows: number, dropout: DropoutKey, scratch?: Vec): Vec {
    checkKey(dropout);
    const { act } = first;
    const a =
      scratch ?? (this.precision === 'float32' ? new Float32Array(act.length) : new Float64Array(act.length));
    if (a.length !== act.length)
      throw new ShapeError(`Mlp.outputAfterFirst: scratch has ${a.length} values, the layer ${act.length}`);
    if (this.dropout > 0) {
      const mask = dropoutMask([act.length], this.dropout, dropout.seed, { stream: maskStream(dropout, 0) });
      const m = mask.data;
      for (let i = 0; i < a.length; i++) a[i] = act[i] * m[i];
      recycle(mask);
    } else {
      a.set(act);
    }
    return this.traceFrom({ rows, inputs: [], pre: [], masks: [] }, 1, a, dropout);
  }

  /** z = h·W_l + b_l, [rows, fanOut_l]. */
  private affine(l: number, h: Vec, rows: number): Vec {
    const layer = this.layers[l];
    const z = product(h, [rows, layer.fanIn], layer.W, [layer.fanIn, layer.fanOut], {}, this.precision);
    const out = layer.fanOut;
    for (let r = 0; r < rows; r++) for (let j = 0; j < out; j++) z[r * out + j] += layer.b[j];
    return z;
  }

  /** Draws hidden layer l's keep mask under `dropout` and multiplies it into `a` (none in eval mode). */
  private applyMask(a: Vec, rows: number, l: number, dropout?: DropoutKey): Float32Array | undefined {
    if (dropout === undefined || !(this.dropout > 0)) return undefined;
    const mask = dropoutMask([rows * this.layers[l].fanOut], this.dropout, dropout.seed, {
      stream: maskStream(dropout, l),
    }).data;
    for (let i = 0; i < a.length; i++) a[i] *= mask[i];
    return mask;
  }

  /** Layers from..last on input h (the activations after layer from − 1), recorded into t; the output. */
  private traceFrom(t: Omit<ForwardTrace, 'out'>, from: number, h: Vec, dropout?: DropoutKey): Vec {
    const last = this.layers.length - 1;
    for (let l = from; l <= last; l++) {
      t.inputs.push(h);
      const z = this.affine(l, h, t.rows);
      if (l < last) {
        t.pre.push(z);
        const a = this.precision === 'float32' ? new Float32Array(z.length) : new Float64Array(z.length);
        applyActivation(this.activation, z, a);
        t.masks.push(this.applyMask(a, t.rows, l, dropout));
        h = a;
      } else {
        h = z;
      }
    }
    return h;
  }

  /**
   * Back-propagate ∂L/∂outputs (`gradOut`, [rows, out]) through a trace. Adds ∂L/∂θ into `into`
   * (length P) when given, and returns the output-side gradient of every layer ("deltas", ∂L/∂z_l,
   * [rows, fanOut]) for per-example gradients.
   */
  backward(trace: ForwardTrace, gradOut: ArrayLike<number>, into?: Float64Array): Vec[] {
    const rows = trace.rows;
    if (gradOut.length !== rows * this.outputSize) {
      throw new ShapeError(
        `Mlp.backward: gradient has ${gradOut.length} values, outputs ${rows * this.outputSize}`,
      );
    }
    if (into && into.length !== this.size) {
      throw new ShapeError(
        `Mlp.backward: gradient buffer has ${into.length} values for ${this.size} parameters`,
      );
    }
    const deltas: Vec[] = new Array<Vec>(this.layers.length);
    let delta: Vec = this.precision === 'float32' ? Float32Array.from(gradOut) : Float64Array.from(gradOut);
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const layer = this.layers[l];
      deltas[l] = delta;
      if (into) {
        const gW = product(
          trace.inputs[l],
          [rows, layer.fanIn],
          delta,
          [rows, layer.fanOut],
          { transA: true },
          this.precision,
        );
        const o = layer.offset;
        for (let i = 0; i < gW.length; i++) into[o + i] += gW[i];
        const ob = o + gW.length;
        const out = layer.fanOut;
        for (let r = 0; r < rows; r++) for (let j = 0; j < out; j++) into[ob + j] += delta[r * out + j];
      }
      if (l > 0) {
        const g = product(
          delta,
          [rows, layer.fanOut],
          layer.W,
          [layer.fanIn, layer.fanOut],
          { transB: true },
          this.precision,
        );
        const mask = trace.masks[l - 1];
        if (mask) for (let i = 0; i < g.length; i++) g[i] *= mask[i];
        multiplyDerivative(this.activation, trace.pre[l - 1], g);
        delta = g;
      }
    }
    return deltas;
  }

  /** Outputs [rows, out] in eval mode (or with the dropout masks of `dropout`), batched. */
  forward(x: MatrixLike, opts: { dropout?: DropoutKey; batchSize?: number } = {}): Matrix64 {
    const { data, rows } = this.inputBuffer(x);
    const out = this.outputSize;
    const batch = opts.batchSize ?? rows;
    if (!(Number.isInteger(batch) && batch >= 1) && rows > 0) {
      throw new ConfigError(`Mlp.forward: batchSize ${opts.batchSize} must be a positive integer`);
    }
    const result = new Float64Array(rows * out);
    const d = this.inputSize;
    for (let s = 0, chunk = 0; s < rows; s += batch, chunk++) {
      const e = Math.min(rows, s + batch);
      const key = opts.dropout && { seed: opts.dropout.seed, stream: opts.dropout.stream + chunk };
      const t = this.trace(data.subarray(s * d, e * d), e - s, key);
      result.set(t.out, s * out);
    }
    return { data: result, shape: [rows, out] };
  }
}

/** The generator stream of hidden layer `layer`'s mask under a key (see `DropoutKey`). */
export function maskStream(key: DropoutKey, layer: number): number {
  return key.stream * MAX_HIDDEN_FOR_STREAMS + layer;
}

/** Refuses a key whose streams would leave the generator's range. */
export function checkKey(k: DropoutKey): void {
  const top = k.stream * MAX_HIDDEN_FOR_STREAMS + MAX_HIDDEN_FOR_STREAMS;
  if (!Number.isInteger(k.seed) || !Number.isInteger(k.stream) || k.stream < 0 || top > 2 ** 31) {
    throw new ValueError(
      `dropout key (seed ${k.seed}, stream ${k.stream}): seed must be an integer and stream an integer in [0, ${2 ** 27})`,
    );
  }
}
