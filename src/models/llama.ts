/**
 * A LLaMA-family decoder (SmolLM2, Llama-2/3, Qwen2 shapes): RMSNorm, rotary embedding, grouped-query
 * attention through a pluggable KV cache, SwiGLU MLP, tied or untied output embedding.
 *
 * Weight layout: every projection is kept as W [out, in] (the `nn.Linear.weight` / GGUF row layout),
 * applied as y = x · Wᵀ. Q and K rows are in Hugging Face order: llama.cpp's converter permutes them
 * so its RoPE can pair adjacent dimensions; we undo that permutation at load time, so `ropeStyle` is
 * 'half' (dimension i pairs with i + D/2) and the weights equal the HF checkpoint's.
 *
 * Every op runs through the ops index (linear, rmsNorm, applyRope, attention, swiglu, add), so the one
 * backend switch (`setBackend` / `EFFLAB_BACKEND` / `withBackend`) decides where the model computes.
 */
import {
  Tensor,
  add,
  allocBytes,
  applyRope,
  attention,
  checkFinite,
  deferInputChecks,
  dequantRow,
  linear,
  quantLinear,
  recycle,
  rmsNorm,
  ropeInvFreq,
  ropeTables,
  type RopeTables,
  swiglu,
  type QuantActivations,
  type QuantMatrix,
  type RopeStyle,
} from '../ops';
import {
  canHoldQuantized,
  dequantizedTensor,
  quantMatrixBytes,
  readGgufQuantMatrix,
  unpermuteQuantRows,
} from './quant-weights';
import { ggufMeta, ggufNumber, ggufTensorInfo, readGgufHeader, readGgufTensor, type GgufFile } from './gguf';
import { configInt, configNumber, readHfConfig, type HfConfig } from './hf-config';
import { FullKVCache, PackedPromptsCache, type KVCache, type RopeApplier } from './kv-cache';
import { readSafetensor, readSafetensorsHeader, type SafetensorsFile } from './safetensors';
import { allocWeights } from './wasm/linear-wasm';
import { ConfigError, NotFoundError, ShapeError, ValueError } from '../errors';

export interface RopeScaling {
  /** 'linear': positions divided by factor; 'llama3': Llama-3.1 frequency-dependent scaling. */
  type: 'linear' | 'llama3';
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalContext?: number;
}

export interface LlamaConfig {
  arch: string;
  numLayers: number;
  hidden: number;
  intermediate: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  contextLength: number;
  rmsEps: number;
  ropeBase: number;
  ropeScaling?: RopeScaling;
  /** How RoPE pairs dimensions for these Q/K weights ('half' after the GGUF un-permutation). */
  ropeStyle: RopeStyle;
  tiedEmbeddings: boolean;
}

/** One decoder layer's weights; projections are [out, in] (y = x · Wᵀ), biases optional (Qwen2). */
export interface LlamaLayerWeights {
  attnNorm: Tensor;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  bq?: Tensor;
  bk?: Tensor;
  bv?: Tensor;
  ffnNorm: Tensor;
  wGate: Tensor;
  wUp: Tensor;
  wDown: Tensor;
  /**
   * Optional fused views set by the GGUF loader: [W_q; W_k; W_v] and [W_gate; W_up] stacked by rows in
   * one buffer (wq/wk/wv and wGate/wUp are views into it), so each needs one kernel call. The decoder
   * uses them only while wq/wk/wv (wGate/wUp) still are those views; replace a tensor and it falls back.
   */
  wqkv?: Tensor;
  wGateUp?: Tensor;
  /**
   * Projections held quantized (GGUF Q8_0 / Q4_1 blocks, `loadLlamaGguf(path, { weights: 'quantized' })`):
   * the decoder multiplies these with `quantLinear`; the float32 field of the same name then makes a
   * float32 copy on each access (for LoRC's decompositions), never kept.
   */
  quant?: Partial<Record<QuantKey, QuantMatrix>>;
  /**
   * Quantized [W_q; W_k; W_v] and [W_gate; W_up] stacked by rows (quant.wq/wk/wv and wGate/wUp are
   * views into them), so a decode step multiplies each group in one call; used while the parts are
   * still those views.
   */
  quantQkv?: QuantMatrix;
  quantGateUp?: QuantMatrix;
}

/** The projections of a layer that can be held quantized. */
export type QuantKey = 'wq' | 'wk' | 'wv' | 'wo' | 'wGate' | 'wUp' | 'wDown';

export interface LlamaWeights {
  /** Token embedding [vocab, hidden]. */
  embed: Tensor;
  layers: LlamaLayerWeights[];
  outNorm: Tensor;
  /** Output projection [vocab, hidden]; the embedding itself when tied. */
  output: Tensor;
  /** Llama-3 style per-frequency divisors (`rope_freqs.weight`), if the file has them. */
  ropeFreqFactors?: Float32Array;
  /** Token embedding / output projection held quantized (then `embed` / `output` copy on access). */
  embedQuant?: QuantMatrix;
  outputQuant?: QuantMatrix;
}

export interface ForwardOptions {
  /** Which logits to compute: every position, only the last, or none (hidden states only). */
  logits?: 'all' | 'last' | 'none';
}

export interface ForwardResult {
  /** [T, vocab] ('all'), [1, vocab] ('last'), or undefined. */
  logits?: Tensor;
  /** Final hidden states after the output RMSNorm, [T, hidden]. */
  hidden: Tensor;
  /** Absolute positions of the tokens just processed. */
  positions: number[];
}

/** Inverse RoPE frequencies with the configured scaling (Llama-3 scaling as in HF `_compute_llama3_parameters`). */
export function scaledInvFreq(cfg: LlamaConfig, freqFactors?: Float32Array): Float64Array {
  const inv = ropeInvFreq(cfg.headDim, cfg.ropeBase);
  if (freqFactors) {
    if (freqFactors.length !== inv.length) {
      throw new ShapeError(`rope_freqs has ${freqFactors.length} entries, expected ${inv.length}`);
    }
    for (let i = 0; i < inv.length; i++) inv[i] /= freqFactors[i];
    return inv;
  }
  const s = cfg.ropeScaling;
  if (!s) return inv;
  if (s.type === 'linear') {
    for (let i = 0; i < inv.length; i++) inv[i] /= s.factor;
    return inv;
  }
  const low = s.lowFreqFactor ?? 1;
  const high = s.highFreqFactor ?? 4;
  const orig = s.originalContext ?? 8192;
  const lowWave = orig / low;
  const highWave = orig / high;
  for (let i = 0; i < inv.length; i++) {
    const wave = (2 * Math.PI) / inv[i];
    if (wave > lowWave) inv[i] /= s.factor;
    else if (wave >= highWave) {
      const smooth = (orig / wave - low) / (high - low);
      inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
    }
  }
  return inv;
}

/** Undo llama.cpp's Q/K row permutation (rows of each head: interleaved pairs → two halves). */
export function unpermuteQK(w: Float32Array, rows: number, cols: number, heads: number): Float32Array {
  const D = rows / heads;
  const half = D / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < heads; h++) {
    for (let r = 0; r < half; r++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * D + 2 * r + j) * cols;
        const dst = (h * D + j * half + r) * cols;
        out.set(w.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** A LLaMA-family causal LM over loaded float32 weights; computes on the selected ops backend. */
export class LlamaModel {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  readonly source: string;
  /**
   * How projections held quantized treat their input (`quantLinear`'s activations): 'i16' (default)
   * rounds decode-sized inputs (< 8 rows) to int16 per 32-value block, ≈ 2× faster decode with an
   * error far below the weights' own quantization; 'f32' multiplies the float32 values. Prefill-sized
   * inputs are never rounded.
   */
  quantActivations: QuantActivations = 'i16';
  private readonly invFreq: Float64Array;

  constructor(config: LlamaConfig, weights: LlamaWeights, source: string) {
    this.config = config;
    this.weights = weights;
    this.source = source;
    this.invFreq = scaledInvFreq(config, weights.ropeFreqFactors);
    checkShapes(config, weights, source);
  }

  /** The last positions' cos / sin tables: every layer of a pass rotates at the same positions. */
  private lastTables: { positions: Int32Array; tables: RopeTables } | undefined;

  /** RoPE tables for `positions`, reused while the positions equal the previous call's (compared by value). */
  private tablesFor(positions: readonly number[]): RopeTables {
    const last = this.lastTables;
    if (last && last.positions.length === positions.length) {
      let same = true;
      for (let i = 0; i < positions.length && same; i++) same = last.positions[i] === positions[i];
      if (same) return last.tables;
    }
    const tables = ropeTables(positions, this.invFreq);
    this.lastTables = { positions: Int32Array.from(positions), tables };
    return tables;
  }

  /** Rotary embedding for x [B, T, H, D] at absolute positions (what caches call at read time). */
  readonly rope: RopeApplier = (x: Tensor, positions: readonly number[]): Tensor => {
    if (x.rank !== 4) throw new ShapeError(`rope: expected [B, T, H, D], got [${x.shape.join(', ')}]`);
    const [B, T, H, D] = x.shape;
    const tables = this.tablesFor(positions);
    if (B === 1) return applyRope(x.reshape([T, H, D]), tables, this.config.ropeStyle).reshape(x.shape);
    const out = new Float32Array(x.size);
    for (let b = 0; b < B; b++) {
      const slice = new Tensor(x.data.slice(b * T * H * D, (b + 1) * T * H * D), [T, H, D]);
      out.set(applyRope(slice, tables, this.config.ropeStyle).data, b * T * H * D);
    }
    return new Tensor(out, x.shape);
  };

  /** A fresh full-precision KV cache for this model. */
  createCache(): FullKVCache {
    return new FullKVCache(this.config.numLayers, this.rope);
  }

  /** The attention projections LoRC compresses: W_q, W_k, W_v [out, in] and W_o [hidden, Hq·D]. */
  attentionWeights(layer: number): { wq: Tensor; wk: Tensor; wv: Tensor; wo: Tensor } {
    const l = this.weights.layers[layer];
    if (!l)
      throw new ValueError(`attentionWeights: layer ${layer} out of range 0..${this.config.numLayers - 1}`);
    return { wq: l.wq, wk: l.wk, wv: l.wv, wo: l.wo };
  }

  /** Token embeddings of ids [T] → [T, hidden]. */
  embedTokens(ids: readonly number[]): Tensor {
    const H = this.config.hidden;
    const out = new Float32Array(ids.length * H);
    ids.forEach((id, t) => {
      if (!Number.isInteger(id) || id < 0 || id >= this.config.vocabSize) {
        throw new ValueError(
          `token id ${id} at position ${t} is outside the vocabulary (${this.config.vocabSize})`,
        );
      }
      const eq = this.weights.embedQuant;
      if (eq) dequantRow(eq, id, out.subarray(t * H, (t + 1) * H));
      else out.set(this.weights.embed.data.subarray(id * H, (id + 1) * H), t * H);
    });
    return new Tensor(out, [ids.length, H]);
  }

  /**
   * Run decoder layers [from, to) on the residual stream x [T, hidden] of tokens at absolute positions
   * start..start+T−1 (or at explicit `positions`, e.g. several packed prompts each from 0, whose
   * cache attends per prompt: `PackedPromptsCache`), appending each layer's keys (before RoPE) and values
   * to `cache`; returns the residual after layer to − 1. `forward` is embed → runLayers(0, L) → output
   * norm → logits.
   */
  runLayers(
    x: Tensor,
    from: number,
    to: number,
    cache: KVCache,
    start = 0,
    positions: readonly number[] = Array.from({ length: x.shape[0] }, (_, i) => start + i),
  ): Tensor {
    const c = this.config;
    if (!(Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from <= to && to <= c.numLayers)) {
      throw new ValueError(`runLayers: layers [${from}, ${to}) outside 0..${c.numLayers}`);
    }
    const T = x.shape[0];
    if (positions.length !== T) {
      throw new ShapeError(`runLayers: ${positions.length} positions for ${T} tokens`);
    }
    const D = c.headDim;
    const qd = c.numHeads * D;
    // The fused QKV and gate/up products serve decode (one row: the parts are views of one output).
    // With more rows the parts would be column copies, so each projection writes its own output.
    const fuse = T === 1;
    const kd = c.numKvHeads * D;
    // The ops' own input scans are off inside the loop; every non-finite value a layer makes reaches its
    // residual stream, which is checked once per layer (and the caller's x once, here).
    checkFinite(x, 'runLayers', 'x');
    const released = new Set(cache.releases ?? []);
    return deferInputChecks(() => {
      for (let l = from; l < to; l++) {
        const w = this.weights.layers[l];
        const wq = w.quant;
        // y = x·Wᵀ (+ b) with W held as float32 (`linear`) or as quantized blocks (`quantLinear`).
        const proj = (input: Tensor, key: QuantKey, bias: Tensor | undefined, what: string): Tensor => {
          const m = wq?.[key];
          return m
            ? quantLinear(input, m, bias, what, { activations: this.quantActivations })
            : linear(input, w[key], bias, what);
        };
        const h = rmsNorm(x, w.attnNorm, c.rmsEps);
        let q: Tensor;
        let k: Tensor;
        let v: Tensor;
        // Intermediates this loop alone holds, handed back for reuse at the end of the layer (see
        // src/ops/buffers.ts: without it, V8's garbage collector takes ~40% of a prefill). Never what the
        // cache was given (h, k, v, the rotated queries) or the cache's own attention output.
        const dead: (Tensor | undefined)[] = [];
        if (fuse && !wq && w.wqkv && !w.bq && isRowView(w.wqkv, [w.wq, w.wk, w.wv])) {
          const y = linear(h, w.wqkv, undefined, `layer ${l} qkv`);
          [q, k, v] = rowViews(y, [qd, kd, kd]);
        } else if (fuse && wq && w.quantQkv && !w.bq && isQuantRowView(w.quantQkv, [wq.wq, wq.wk, wq.wv])) {
          const y = quantLinear(h, w.quantQkv, undefined, `layer ${l} qkv`, {
            activations: this.quantActivations,
          });
          [q, k, v] = rowViews(y, [qd, kd, kd]);
        } else {
          q = proj(h, 'wq', w.bq, `layer ${l} q`);
          k = proj(h, 'wk', w.bk, `layer ${l} k`);
          v = proj(h, 'wv', w.bv, `layer ${l} v`);
          dead.push(q);
        }
        cache.append(l, {
          keysPreRope: k.reshape([1, T, c.numKvHeads, D]),
          values: v.reshape([1, T, c.numKvHeads, D]),
          positions,
          hidden: h.reshape([1, T, c.hidden]),
        });
        const qr = this.rope(q.reshape([1, T, c.numHeads, D]), positions);
        let attnOut: Tensor;
        const r = cache.attend?.(l, qr, positions);
        if (r) {
          if (r.projected) {
            attnOut = r.out.reshape([T, c.hidden]);
          } else {
            attnOut = proj(r.out.reshape([T, qd]), 'wo', undefined, `layer ${l} o`);
            dead.push(attnOut);
            if (r.fresh) dead.push(r.out);
          }
        } else {
          const kv = cache.read(l);
          const a = attention(qr, kv.keys, kv.values, { causal: true, queryOffset: start });
          attnOut = proj(a.reshape([T, qd]), 'wo', undefined, `layer ${l} o`);
          dead.push(qr, a, attnOut); // no attend: the cache did not see the rotated queries
        }
        if (r && released.has('queries')) dead.push(qr);
        if (released.has('hidden')) dead.push(h);
        if (released.has('keysPreRope')) dead.push(k);
        if (released.has('values')) dead.push(v);
        if (l > from) dead.push(x); // the residual entering this layer (not the caller's x)
        x = add(x, attnOut);
        const h2 = rmsNorm(x, w.ffnNorm, c.rmsEps);
        let g: Tensor;
        let u: Tensor;
        if (fuse && !wq && w.wGateUp && isRowView(w.wGateUp, [w.wGate, w.wUp])) {
          const y = linear(h2, w.wGateUp, undefined, `layer ${l} gate+up`);
          [g, u] = rowViews(y, [c.intermediate, c.intermediate]);
        } else if (fuse && wq && w.quantGateUp && isQuantRowView(w.quantGateUp, [wq.wGate, wq.wUp])) {
          const y = quantLinear(h2, w.quantGateUp, undefined, `layer ${l} gate+up`, {
            activations: this.quantActivations,
          });
          [g, u] = rowViews(y, [c.intermediate, c.intermediate]);
        } else {
          g = proj(h2, 'wGate', undefined, `layer ${l} gate`);
          u = proj(h2, 'wUp', undefined, `layer ${l} up`);
          dead.push(g, u);
        }
        const act = swiglu(g, u);
        const down = proj(act, 'wDown', undefined, `layer ${l} down`);
        dead.push(x, h2, act, down); // x: the residual after attention
        x = add(x, down);
        recycle(...dead);
        checkFinite(x, `layer ${l}`, 'residual stream');
      }
      return x;
    });
  }

  /**
   * Run tokens through the decoder, appending their keys/values to `cache` (positions continue from
   * what the cache holds). Prefill = many tokens into an empty cache; decode = one token at a time.
   * Attention per layer: the cache's own `attend` when it has one (respecting `projected`), else
   * `cache.read` + causal GQA attention. Throws on an empty input or past the context length.
   */
  forward(
    ids: readonly number[],
    cache: KVCache = this.createCache(),
    opts: ForwardOptions = {},
  ): ForwardResult {
    const c = this.config;
    if (ids.length === 0) throw new ValueError(`${this.source}: forward needs at least one token`);
    if (cache.numLayers !== c.numLayers) {
      throw new ConfigError(`cache serves ${cache.numLayers} layers, the model has ${c.numLayers}`);
    }
    const T = ids.length;
    const start = cache.length(0);
    if (start + T > c.contextLength) {
      throw new ShapeError(
        `${this.source}: ${start} cached + ${T} new tokens exceed the context length ${c.contextLength}`,
      );
    }
    const positions = Array.from({ length: T }, (_, i) => start + i);
    const x = this.runLayers(this.embedTokens(ids), 0, c.numLayers, cache, start);
    return { ...this.head(x, opts.logits ?? 'all'), positions };
  }

  /**
   * Logits of the last position of each of several prompts [P, vocab], in one pass: the prompts are
   * packed one after another (every projection sees M = Σ lengths rows, no padding), each at positions
   * 0..len − 1 and attending causally to its own tokens only (`PackedPromptsCache`). Equals running
   * `forward(prompt, fresh cache, { logits: 'last' })` per prompt, up to float32 summation order.
   */
  lastLogitsBatch(prompts: readonly (readonly number[])[]): Tensor {
    const c = this.config;
    if (prompts.length === 0)
      throw new ValueError(`${this.source}: lastLogitsBatch needs at least one prompt`);
    const offsets = [0];
    prompts.forEach((p, i) => {
      if (p.length === 0) throw new ValueError(`${this.source}: prompt ${i} has no tokens`);
      if (p.length > c.contextLength) {
        throw new ShapeError(
          `${this.source}: prompt ${i} has ${p.length} tokens, more than the context length ${c.contextLength}`,
        );
      }
      offsets.push(offsets[i] + p.length);
    });
    const ids = prompts.flat();
    const positions = prompts.flatMap((p) => p.map((_, t) => t));
    const cache = new PackedPromptsCache(c.numLayers, this.rope, offsets);
    const x = this.runLayers(this.embedTokens(ids), 0, c.numLayers, cache, 0, positions);
    cache.release();
    const H = c.hidden;
    const last = new Float32Array(prompts.length * H);
    for (let i = 0; i < prompts.length; i++) {
      last.set(x.data.subarray((offsets[i + 1] - 1) * H, offsets[i + 1] * H), i * H);
    }
    return this.head(new Tensor(last, [prompts.length, H]), 'all').logits as Tensor;
  }

  /**
   * The output head on a final residual stream x [T, hidden]: the output RMSNorm, then the logits of
   * every position ('all'), of the last one, or none. `forward` is embed → runLayers → head.
   */
  head(x: Tensor, logits: 'all' | 'last' | 'none' = 'all'): { hidden: Tensor; logits?: Tensor } {
    const hidden = rmsNorm(x, this.weights.outNorm, this.config.rmsEps);
    const T = hidden.shape[0];
    if (logits === 'none') return { hidden };
    const rows = logits === 'all' ? hidden : hidden.sliceRows(T - 1, T);
    const oq = this.weights.outputQuant;
    return {
      hidden,
      logits: oq
        ? quantLinear(rows, oq, undefined, 'output', { activations: this.quantActivations })
        : linear(rows, this.weights.output, undefined, 'output'),
    };
  }
}

/** Whether `parts` are consecutive row blocks of `fused` (views into its buffer, in order). */
function isRowView(fused: Tensor, parts: Tensor[]): boolean {
  let off = fused.data.byteOffset;
  for (const p of parts) {
    if (p.data.buffer !== fused.data.buffer || p.data.byteOffset !== off) return false;
    off += p.data.byteLength;
  }
  return off === fused.data.byteOffset + fused.data.byteLength;
}

/** Whether `parts` are consecutive row blocks of the quantized `fused` (views into its bytes, in order). */
function isQuantRowView(fused: QuantMatrix, parts: (QuantMatrix | undefined)[]): boolean {
  let off = fused.data.byteOffset;
  for (const p of parts) {
    if (!p || p.type !== fused.type || p.data.buffer !== fused.data.buffer || p.data.byteOffset !== off)
      return false;
    off += p.data.byteLength;
  }
  return off === fused.data.byteOffset + fused.data.byteLength;
}

/** The column blocks [1, width_i] of a one-row y [1, Σ widths], as views of its buffer. */
function rowViews(y: Tensor, widths: number[]): Tensor[] {
  let col = 0;
  return widths.map((wd) => {
    const part = new Tensor(y.data.subarray(col, col + wd), [1, wd]);
    col += wd;
    return part;
  });
}

function expectShape(t: Tensor | QuantMatrix, shape: number[], what: string, source: string): void {
  const has = t instanceof Tensor ? t.shape : [t.rows, t.cols];
  if (has.join() !== shape.join()) {
    throw new ShapeError(
      `${source}: tensor '${what}' has shape [${has.join(', ')}] but the config implies [${shape.join(', ')}]`,
    );
  }
}

/** A layer's projection as held (quantized blocks, or float32) without making a float32 copy. */
function held(l: LlamaLayerWeights, key: QuantKey): Tensor | QuantMatrix {
  return l.quant?.[key] ?? l[key];
}

function checkShapes(c: LlamaConfig, w: LlamaWeights, source: string): void {
  if (c.numHeads % c.numKvHeads !== 0) {
    throw new ConfigError(`${source}: ${c.numHeads} heads are not a multiple of ${c.numKvHeads} KV heads`);
  }
  expectShape(w.embedQuant ?? w.embed, [c.vocabSize, c.hidden], 'token embedding', source);
  expectShape(w.outputQuant ?? w.output, [c.vocabSize, c.hidden], 'output', source);
  expectShape(w.outNorm, [c.hidden], 'output norm', source);
  if (w.layers.length !== c.numLayers) {
    throw new ShapeError(`${source}: ${w.layers.length} layers loaded, config says ${c.numLayers}`);
  }
  const qd = c.numHeads * c.headDim;
  const kd = c.numKvHeads * c.headDim;
  w.layers.forEach((l, i) => {
    expectShape(l.attnNorm, [c.hidden], `layer ${i} attn_norm`, source);
    expectShape(held(l, 'wq'), [qd, c.hidden], `layer ${i} q`, source);
    expectShape(held(l, 'wk'), [kd, c.hidden], `layer ${i} k`, source);
    expectShape(held(l, 'wv'), [kd, c.hidden], `layer ${i} v`, source);
    expectShape(held(l, 'wo'), [c.hidden, qd], `layer ${i} o`, source);
    expectShape(l.ffnNorm, [c.hidden], `layer ${i} ffn_norm`, source);
    expectShape(held(l, 'wGate'), [c.intermediate, c.hidden], `layer ${i} gate`, source);
    expectShape(held(l, 'wUp'), [c.intermediate, c.hidden], `layer ${i} up`, source);
    expectShape(held(l, 'wDown'), [c.hidden, c.intermediate], `layer ${i} down`, source);
  });
}

/** Read a LlamaConfig from GGUF metadata (`<arch>.*` keys). */
export function llamaConfigFromGguf(f: GgufFile): LlamaConfig {
  const arch = String(ggufMeta(f, 'general.architecture'));
  if (!['llama', 'qwen2', 'mistral'].includes(arch)) {
    throw new ConfigError(
      `${f.path}: architecture '${arch}' is not a LLaMA-family decoder this loader supports`,
    );
  }
  const n = (k: string, fb?: number): number => ggufNumber(f, `${arch}.${k}`, fb);
  const hidden = n('embedding_length');
  const numHeads = n('attention.head_count');
  const headDim = n('rope.dimension_count', hidden / numHeads);
  const tokens = f.metadata.get('tokenizer.ggml.tokens');
  const vocab = n('vocab_size', Array.isArray(tokens) ? tokens.length : undefined);
  const scaleType = f.metadata.get(`${arch}.rope.scaling.type`);
  let ropeScaling: RopeScaling | undefined;
  if (scaleType !== undefined && scaleType !== 'none') {
    if (scaleType !== 'linear') {
      throw new ConfigError(`${f.path}: rope scaling '${String(scaleType)}' is not supported (linear only)`);
    }
    ropeScaling = { type: 'linear', factor: n('rope.scaling.factor') };
  }
  return {
    arch,
    numLayers: n('block_count'),
    hidden,
    intermediate: n('feed_forward_length'),
    numHeads,
    numKvHeads: n('attention.head_count_kv', numHeads),
    headDim,
    vocabSize: vocab,
    contextLength: n('context_length'),
    rmsEps: n('attention.layer_norm_rms_epsilon', 1e-5),
    ropeBase: n('rope.freq_base', 10000),
    ropeScaling,
    ropeStyle: 'half',
    tiedEmbeddings: !f.tensors.has('output.weight'),
  };
}

export interface GgufLoadOptions {
  /**
   * 'f32' (default): every tensor dequantised to float32 at load. 'quantized': Q8_0 / Q4_1 matrices
   * stay as their GGUF blocks and the decoder multiplies them with `quantLinear` (decode reads ~6×
   * fewer weight bytes); other types are still dequantised.
   */
  weights?: 'f32' | 'quantized';
}

/** Load a LLaMA-family model from a GGUF file (dequantised to float32 tensor by tensor, or kept quantized). */
export function loadLlamaGguf(path: string, opts: GgufLoadOptions = {}): LlamaModel {
  const f = readGgufHeader(path);
  const c = llamaConfigFromGguf(f);
  const t = (name: string, shape: number[], into?: Float32Array): Tensor => {
    const info = f.tensors.get(name);
    if (!info) throw new NotFoundError(`${path}: missing tensor '${name}'`);
    if (info.shape.join() !== shape.join()) {
      throw new ShapeError(
        `${path}: tensor '${name}' has shape [${info.shape.join(', ')}] but the config implies [${shape.join(', ')}]`,
      );
    }
    // Weights go straight from the file into the wasm arena (read in place by the SIMD kernel).
    return new Tensor(readGgufTensor(f, name, into ?? allocWeights(info.elements)), shape);
  };
  const opt = (name: string, shape: number[]): Tensor | undefined =>
    f.tensors.has(name) ? t(name, shape) : undefined;
  const qd = c.numHeads * c.headDim;
  const kd = c.numKvHeads * c.headDim;
  const H = c.hidden;
  const I = c.intermediate;
  // llama.cpp permutes Q/K rows only for the 'llama' architecture (not qwen2).
  const permuted = c.arch === 'llama' || c.arch === 'mistral';
  if (opts.weights === 'quantized') return loadQuantized(f, c, path, t, opt, permuted);
  const layers: LlamaLayerWeights[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `blk.${i}.`;
    // Q, K, V stacked by rows in one buffer (and gate, up in another): one kernel call each.
    const qkv = allocWeights((qd + 2 * kd) * H);
    const wq = t(p + 'attn_q.weight', [qd, H], qkv.subarray(0, qd * H));
    const wk = t(p + 'attn_k.weight', [kd, H], qkv.subarray(qd * H, (qd + kd) * H));
    const wv = t(p + 'attn_v.weight', [kd, H], qkv.subarray((qd + kd) * H));
    if (permuted) {
      wq.data.set(unpermuteQK(wq.data, qd, H, c.numHeads));
      wk.data.set(unpermuteQK(wk.data, kd, H, c.numKvHeads));
    }
    const gu = allocWeights(2 * I * H);
    layers.push({
      attnNorm: t(p + 'attn_norm.weight', [H]),
      wq,
      wk,
      wv,
      wo: t(p + 'attn_output.weight', [H, qd]),
      bq: opt(p + 'attn_q.bias', [qd]),
      bk: opt(p + 'attn_k.bias', [kd]),
      bv: opt(p + 'attn_v.bias', [kd]),
      ffnNorm: t(p + 'ffn_norm.weight', [H]),
      wGate: t(p + 'ffn_gate.weight', [I, H], gu.subarray(0, I * H)),
      wUp: t(p + 'ffn_up.weight', [I, H], gu.subarray(I * H)),
      wDown: t(p + 'ffn_down.weight', [H, I]),
      wqkv: new Tensor(qkv, [qd + 2 * kd, H]),
      wGateUp: new Tensor(gu, [2 * I, H]),
    });
  }
  const embed = t('token_embd.weight', [c.vocabSize, c.hidden]);
  const output = opt('output.weight', [c.vocabSize, c.hidden]) ?? embed;
  const ropeFreqFactors = f.tensors.has('rope_freqs.weight')
    ? readGgufTensor(f, 'rope_freqs.weight')
    : undefined;
  return new LlamaModel(
    c,
    { embed, layers, outNorm: t('output_norm.weight', [c.hidden]), output, ropeFreqFactors },
    path,
  );
}

type TensorReader = (name: string, shape: number[]) => Tensor;

/** A float32 view made on each access of a field held quantized (never kept). */
function defineDequantized<T extends object>(obj: T, key: string, m: QuantMatrix): void {
  Object.defineProperty(obj, key, { get: () => dequantizedTensor(m), enumerable: true, configurable: true });
}

/** The GGUF loader's 'quantized' mode: Q8_0 / Q4_1 matrices kept as blocks (see GgufLoadOptions). */
function loadQuantized(
  f: GgufFile,
  c: LlamaConfig,
  path: string,
  t: TensorReader,
  opt: (name: string, shape: number[]) => Tensor | undefined,
  permuted: boolean,
): LlamaModel {
  const qd = c.numHeads * c.headDim;
  const kd = c.numKvHeads * c.headDim;
  const H = c.hidden;
  const I = c.intermediate;
  const files: [QuantKey, string, number[], number][] = [
    ['wq', 'attn_q.weight', [qd, H], permuted ? c.numHeads : 0],
    ['wk', 'attn_k.weight', [kd, H], permuted ? c.numKvHeads : 0],
    ['wv', 'attn_v.weight', [kd, H], 0],
    ['wo', 'attn_output.weight', [H, qd], 0],
    ['wGate', 'ffn_gate.weight', [I, H], 0],
    ['wUp', 'ffn_up.weight', [I, H], 0],
    ['wDown', 'ffn_down.weight', [H, I], 0],
  ];
  const matrix = (name: string, shape: number[], heads: number, into?: Uint8Array): QuantMatrix | Tensor => {
    if (!canHoldQuantized(f, name)) {
      const w = t(name, shape);
      if (heads) w.data.set(unpermuteQK(w.data, shape[0], shape[1], heads));
      return w;
    }
    // Permuted rows are read into plain memory first, then written unpermuted into place.
    const m = readGgufQuantMatrix(f, name, heads ? new Uint8Array(quantMatrixBytes(f, name)) : into);
    expectShape(m, shape, name, path);
    return heads ? unpermuteQuantRows(m, heads, into) : m;
  };
  /**
   * Matrices of one quantized type stacked by rows in one arena buffer, each read straight into its
   * rows (no second copy held at load): [W_q; W_k; W_v] and [W_gate; W_up], one kernel call per group.
   */
  const stacked = (
    p: string,
    group: [QuantKey, string, number[], number][],
  ): { fused: QuantMatrix; parts: QuantMatrix[] } | undefined => {
    const names = group.map(([, file]) => p + file);
    if (!names.every((n) => canHoldQuantized(f, n))) return undefined;
    const types = names.map((n) => ggufTensorInfo(f, n).typeName);
    if (types.some((ty) => ty !== types[0]) || group.some(([, , shape]) => shape[1] !== group[0][2][1]))
      return undefined;
    const sizes = names.map((n) => quantMatrixBytes(f, n));
    const data = allocBytes(sizes.reduce((a, b) => a + b, 0));
    let off = 0;
    const parts = group.map(([, , shape, heads], i) => {
      const m = matrix(names[i], shape, heads, data.subarray(off, off + sizes[i])) as QuantMatrix;
      off += sizes[i];
      return m;
    });
    const rows = group.reduce((a, [, , shape]) => a + shape[0], 0);
    return { fused: { type: parts[0].type, rows, cols: group[0][2][1], data }, parts };
  };
  const layers: LlamaLayerWeights[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `blk.${i}.`;
    const layer = {
      attnNorm: t(p + 'attn_norm.weight', [H]),
      ffnNorm: t(p + 'ffn_norm.weight', [H]),
      bq: opt(p + 'attn_q.bias', [qd]),
      bk: opt(p + 'attn_k.bias', [kd]),
      bv: opt(p + 'attn_v.bias', [kd]),
      quant: {},
    } as LlamaLayerWeights & { quant: Partial<Record<QuantKey, QuantMatrix>> };
    const qkv = layer.bq || layer.bk || layer.bv ? undefined : stacked(p, files.slice(0, 3));
    const gateUp = stacked(p, files.slice(4, 6));
    if (qkv) {
      layer.quantQkv = qkv.fused;
      qkv.parts.forEach((m, j) => (layer.quant[files[j][0]] = m));
    }
    if (gateUp) {
      layer.quantGateUp = gateUp.fused;
      gateUp.parts.forEach((m, j) => (layer.quant[files[4 + j][0]] = m));
    }
    for (const [key, file, shape, heads] of files) {
      if (layer.quant[key]) continue;
      const m = matrix(p + file, shape, heads);
      if (m instanceof Tensor) layer[key] = m;
      else layer.quant[key] = m;
    }
    for (const [key, m] of Object.entries(layer.quant) as [QuantKey, QuantMatrix][])
      defineDequantized(layer, key, m);
    layers.push(layer);
  }
  const weights = {
    outNorm: t('output_norm.weight', [H]),
    layers,
    ropeFreqFactors: f.tensors.has('rope_freqs.weight') ? readGgufTensor(f, 'rope_freqs.weight') : undefined,
  } as LlamaWeights;
  const emb = matrix('token_embd.weight', [c.vocabSize, H], 0);
  if (emb instanceof Tensor) weights.embed = emb;
  else {
    weights.embedQuant = emb;
    defineDequantized(weights, 'embed', emb);
  }
  const out = f.tensors.has('output.weight') ? matrix('output.weight', [c.vocabSize, H], 0) : emb;
  if (out instanceof Tensor) weights.output = out;
  else {
    weights.outputQuant = out;
    defineDequantized(weights, 'output', out);
  }
  return new LlamaModel(c, weights, path);
}

/** LlamaConfig from a Hugging Face config.json (LlamaForCausalLM / Qwen2ForCausalLM). */
export function llamaConfigFromHf(cfg: HfConfig, file: string): LlamaConfig {
  const hidden = configInt(cfg, 'hidden_size', file);
  const numHeads = configInt(cfg, 'num_attention_heads', file);
  const rs = cfg.rope_scaling as Record<string, unknown> | null | undefined;
  let ropeScaling: RopeScaling | undefined;
  if (rs) {
    const type = String(rs.rope_type ?? rs.type);
    if (type !== 'linear' && type !== 'llama3') {
      throw new ConfigError(`${file}: rope_scaling type '${type}' is not supported (linear, llama3)`);
    }
    ropeScaling = {
      type,
      factor: Number(rs.factor),
      lowFreqFactor: rs.low_freq_factor as number | undefined,
      highFreqFactor: rs.high_freq_factor as number | undefined,
      originalContext: rs.original_max_position_embeddings as number | undefined,
    };
  }
  return {
    arch: String(cfg.model_type ?? 'llama'),
    numLayers: configInt(cfg, 'num_hidden_layers', file),
    hidden,
    intermediate: configInt(cfg, 'intermediate_size', file),
    numHeads,
    numKvHeads: configInt(cfg, 'num_key_value_heads', file, numHeads),
    headDim: configInt(cfg, 'head_dim', file, hidden / numHeads),
    vocabSize: configInt(cfg, 'vocab_size', file),
    contextLength: configInt(cfg, 'max_position_embeddings', file, 2048),
    rmsEps: configNumber(cfg, 'rms_norm_eps', file, 1e-6),
    ropeBase: configNumber(cfg, 'rope_theta', file, 10000),
    ropeScaling,
    ropeStyle: 'half',
    tiedEmbeddings: cfg.tie_word_embeddings === true,
  };
}

/** Load a LLaMA-family model from a Hugging Face folder (config.json + model.safetensors). */
export function loadLlamaSafetensors(configPath: string, weightsPath: string): LlamaModel {
  const c = llamaConfigFromHf(readHfConfig(configPath), configPath);
  const f: SafetensorsFile = readSafetensorsHeader(weightsPath);
  const t = (name: string, shape: number[]): Tensor => {
    const info = f.tensors.get(name);
    const r = readSafetensor(f, name, info ? allocWeights(info.shape.reduce((a, b) => a * b, 1)) : undefined);
    const tensor = new Tensor(r.data, r.shape);
    expectShape(tensor, shape, name, weightsPath);
    return tensor;
  };
  const opt = (name: string, shape: number[]): Tensor | undefined =>
    f.tensors.has(name) ? t(name, shape) : undefined;
  const qd = c.numHeads * c.headDim;
  const kd = c.numKvHeads * c.headDim;
  const layers: LlamaLayerWeights[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}.`;
    layers.push({
      attnNorm: t(p + 'input_layernorm.weight', [c.hidden]),
      wq: t(p + 'self_attn.q_proj.weight', [qd, c.hidden]),
      wk: t(p + 'self_attn.k_proj.weight', [kd, c.hidden]),
      wv: t(p + 'self_attn.v_proj.weight', [kd, c.hidden]),
      wo: t(p + 'self_attn.o_proj.weight', [c.hidden, qd]),
      bq: opt(p + 'self_attn.q_proj.bias', [qd]),
      bk: opt(p + 'self_attn.k_proj.bias', [kd]),
      bv: opt(p + 'self_attn.v_proj.bias', [kd]),
      ffnNorm: t(p + 'post_attention_layernorm.weight', [c.hidden]),
      wGate: t(p + 'mlp.gate_proj.weight', [c.intermediate, c.hidden]),
      wUp: t(p + 'mlp.up_proj.weight', [c.intermediate, c.hidden]),
      wDown: t(p + 'mlp.down_proj.weight', [c.hidden, c.intermediate]),
    });
  }
  const embed = t('model.embed_tokens.weight', [c.vocabSize, c.hidden]);
  const untied = opt('lm_head.weight', [c.vocabSize, c.hidden]);
  return new LlamaModel(
    { ...c, tiedEmbeddings: untied === undefined },
    { embed, layers, outNorm: t('model.norm.weight', [c.hidden]), output: untied ?? embed },
    weightsPath,
  );
}
