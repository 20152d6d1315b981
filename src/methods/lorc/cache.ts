/**
 * `LowRankKVCache`: a KV cache holding each layer's keys and values as d_c-dim projections (LoRC,
 * thesis §5.4.1 and appendix H.1), implementing the decoder's `KVCache` contract.
 *
 * Per compressed layer it holds
 *   C_k = k_preRoPE · V_k,c   [B, S, d_c]   (keys BEFORE rotary embedding, Eq. 5.6; V_k,c = right basis)
 *   C_v = v · V_v,c           [B, S, d_c]   (Eq. 5.8)
 * and, when attention reads the layer, reconstructs and rotates the keys in one fused kernel
 * (`reconstructRope`). Every computation is an op of the ops index (matmul, applyRope, reconstructRope,
 * foldedAttention), so the cache runs on the backend the one switch selects, like the decoder. Values are either reconstructed (`valueMode: 'reconstruct'`, ṽ = C_v·V_v,cᵀ) or
 * never reconstructed (`'fold'`): the value up-projection is folded into the output projection
 * (Eq. 5.9) so the layer's output is Σ_h (P_h·C_v)·W_o'_h with W_o'_h = V_v,c[kv(h)]ᵀ·W_o[h] — `attend`
 * then returns the projected output. Grouped-query attention: query head h reads K/V head ⌊h/(Hq/Hkv)⌋
 * (§5.4.3): the shared ops `attention` kernels and the folded W_o' both index K/V heads that way.
 * A layer whose basis is null is held uncompressed (keys rotated on append, like a standard cache).
 *
 * Memory: `bytes()` is the byteLength of the K/V buffers actually allocated (capacity, not the formula);
 * `reserve(batch, positions)` allocates exactly, so after it bytes() equals Eq. 5.4 with N = positions.
 * RoPE tables shared by all layers are reported apart by `auxiliaryBytes()`.
 */
import {
  ShapeError,
  Tensor,
  allocF32,
  applyRope,
  wasmArena,
  wasmKernels,
  foldedAttention,
  getBackend,
  matmul,
  postReconstructRope,
  reconstructRope,
  ropeTables,
  settleBackground,
  warmBackground,
  type PendingKeys,
  type RopeStyle,
  type RopeTables,
} from '../../ops';
import type { KVAppend, KVAttendResult, KVCache, KVRead } from '../../models';
import { ConfigError, ValueError } from '../../errors';

export interface LowRankLayer {
  /** V_k,c [Hkv·D, d_c^k], or null to hold this layer's keys uncompressed. */
  keyBasis: Tensor | null;
  /** V_v,c [Hkv·D, d_c^v], or null to hold this layer's values uncompressed. */
  valueBasis: Tensor | null;
  /** W_o' [Hq·d_c^v, hidden] (Eq. 5.9); required for compressed values in 'fold' mode. */
  foldedOutput?: Tensor | null;
  /**
   * Values read back as ṽ = C_v·valueUpᵀ, [Hkv·D, d_c^v]; default `valueBasis` (orthonormal bases).
   * Data-aware value factors (`whiten`) are oblique, so their up-projection differs from the down one.
   */
  valueUp?: Tensor | null;
}

export interface LowRankKVCacheOptions {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** RoPE inverse frequencies (D/2 of them), e.g. `ropeInvFreq(D, base)`. */
  invFreq: ArrayLike<number>;
  ropeStyle: RopeStyle;
  layers: readonly LowRankLayer[];
  /** 'fold' (Eq. 5.9, attend returns projected output) or 'reconstruct' values at read. Default 'fold'. */
  valueMode?: 'fold' | 'reconstruct';
  /**
   * Decoding on the `native` backend after `reserve(1, …)`: rebuild the held keys of the next folded
   * layer on a background thread while this one runs, so an attention call rebuilds only its newest
   * row (same keys, same attention; two key buffers of the reserved length, reported by
   * `auxiliaryBytes()`). Default false (every held row rebuilt inside each attention call): with
   * OpenBLAS's own threads in use for large products (src/ops/native/sgemm.ts) the thread slowed decode
   * several-fold here (CPU time 2-3× per token, bench/profile/lorc-decode.ts KINDS=full,lorc,ahead).
   */
  keysAhead?: boolean;
}

/** Held positions are read in buckets of this many, so gpu.js kernels compiled for a shape are reused. */
export const READ_BUCKET = 64;

/**
 * A growable [B, capacity, width] float32 buffer. `resident` (set by the cache's `reserve`, the call of
 * a decode loop) puts it in the wasm kernels' shared memory, read in place by the kernels; otherwise
 * ordinary memory (arena memory returns only when its array is garbage-collected, and single-pass
 * caches are made by the hundred).
 */
class Rows {
  data = new Float32Array(0);
  capacity = 0;
  resident = false;
  constructor(
    readonly width: number,
    public batch: number,
  ) {}

  ensure(positions: number, exact: boolean): void {
    const moving = this.resident && this.data.length > 0 && !inArena(this.data);
    if (positions <= this.capacity && !moving) return;
    const cap =
      positions <= this.capacity
        ? this.capacity
        : exact
          ? positions
          : Math.ceil(Math.max(positions, (this.capacity * 5) / 4) / READ_BUCKET) * READ_BUCKET;
    const n = this.batch * cap * this.width;
    const next = this.resident ? allocF32(n) : new Float32Array(n);
    for (let b = 0; b < this.batch; b++) {
      next.set(
        this.data.subarray(b * this.capacity * this.width, (b * this.capacity + this.capacity) * this.width),
        b * cap * this.width,
      );
    }
    this.data = next;
    this.capacity = cap;
  }

  /** Write rows [B, T, width] at positions start..start+T-1. */
  write(src: Float32Array, start: number, T: number): void {
    for (let b = 0; b < this.batch; b++) {
      this.data.set(
        src.subarray(b * T * this.width, (b + 1) * T * this.width),
        (b * this.capacity + start) * this.width,
      );
    }
  }

  /** The first S rows of every batch as a [B, S, width] tensor (a view when possible). */
  view(S: number): Tensor {
    if (this.batch === 1 || S === this.capacity) {
      return new Tensor(this.data.subarray(0, this.batch * S * this.width), [this.batch, S, this.width]);
    }
    const out = new Float32Array(this.batch * S * this.width);
    for (let b = 0; b < this.batch; b++)
      out.set(
        this.data.subarray(b * this.capacity * this.width, (b * this.capacity + S) * this.width),
        b * S * this.width,
      );
    return new Tensor(out, [this.batch, S, this.width]);
  }

  get bytes(): number {
    return this.data.byteLength;
  }
}

/** Whether a is in the wasm arena (true where there is no wasm: nothing to move then). */
function inArena(a: Float32Array): boolean {
  return !wasmKernels() || wasmArena().owns(a);
}

/** Keys of one layer being rebuilt on the background thread into bufs[index]. */
interface AheadJob {
  layer: number;
  index: number;
  rows: number;
  /** The compressed-key buffer the rows were read from (a moved buffer invalidates the job). */
  data: Float32Array;
  pending: PendingKeys;
}

interface AheadState {
  bufs: Float32Array[];
  bases: Map<number, Float32Array>;
  job: AheadJob | undefined;
}

interface LayerState {
  spec: LowRankLayer;
  keys: Rows | null;
  values: Rows | null;
  length: number;
}

export class LowRankKVCache implements KVCache {
  readonly numLayers: number;
  readonly valueMode: 'fold' | 'reconstruct';
  private readonly opts: LowRankKVCacheOptions;
  private readonly width: number;
  private layers: LayerState[] = [];
  private batch = 0;
  private reserved = 0;
  private tables: RopeTables = { cos: new Float32Array(0), sin: new Float32Array(0) };
  private tablePositions = 0;
  /** Decode working memory for keys rebuilt ahead (see `attendAhead`): two buffers, arena key bases. */
  private ahead: AheadState = { bufs: [], bases: new Map(), job: undefined };
  private aheadRows = 0;

  constructor(opts: LowRankKVCacheOptions) {
    const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = opts;
    for (const [name, v] of [
      ['numHeads', Hq],
      ['numKvHeads', Hkv],
      ['headDim', D],
    ] as const) {
      if (!Number.isInteger(v) || v <= 0)
        throw new ValueError(`LowRankKVCache: ${name} = ${v} must be a positive integer`);
    }
    if (Hq % Hkv !== 0)
      throw new ConfigError(`LowRankKVCache: ${Hq} query heads are not a multiple of ${Hkv} K/V heads`);
    if (D % 2 !== 0 || opts.invFreq.length !== D / 2)
      throw new ShapeError(
        `LowRankKVCache: invFreq has ${opts.invFreq.length} entries, head dimension ${D} needs ${D / 2}`,
      );
    if (opts.layers.length === 0) throw new ValueError('LowRankKVCache: no layers');
    this.opts = opts;
    this.width = Hkv * D;
    this.valueMode = opts.valueMode ?? 'fold';
    this.numLayers = opts.layers.length;
    opts.layers.forEach((l, i) => this.checkLayer(l, i));
    this.clear();
  }

  private checkLayer(l: LowRankLayer, i: number): void {
    for (const [name, basis] of [
      ['keyBasis', l.keyBasis],
      ['valueBasis', l.valueBasis],
    ] as const) {
      if (basis === null) continue;
      if (
        basis.rank !== 2 ||
        basis.shape[0] !== this.width ||
        basis.shape[1] < 1 ||
        basis.shape[1] > this.width
      ) {
        throw new ShapeError(
          `LowRankKVCache: layer ${i} ${name} has shape [${basis.shape.join(', ')}], expected [${this.width}, d_c] with 1 ≤ d_c ≤ ${this.width}`,
        );
      }
    }
    const up = l.valueUp;
    if (up && (!l.valueBasis || up.shape.join() !== l.valueBasis.shape.join()))
      throw new ShapeError(
        `LowRankKVCache: layer ${i} valueUp [${up.shape.join(', ')}] must match valueBasis [${l.valueBasis?.shape.join(', ') ?? 'none'}]`,
      );
    if (this.valueMode === 'fold' && l.valueBasis !== null) {
      const dc = l.valueBasis.shape[1];
      const f = l.foldedOutput;
      if (!f || f.rank !== 2 || f.shape[0] !== this.opts.numHeads * dc) {
        throw new ShapeError(
          `LowRankKVCache: layer ${i} needs foldedOutput [${this.opts.numHeads}·${dc}, hidden] in 'fold' mode, got ${f ? `[${f.shape.join(', ')}]` : 'none'}`,
        );
      }
    }
  }

  /** Compressed rank of a layer's keys and values (null = uncompressed). */
  ranks(layer: number): { key: number | null; value: number | null } {
    const s = this.state(layer).spec;
    return { key: s.keyBasis?.shape[1] ?? null, value: s.valueBasis?.shape[1] ?? null };
  }

  private state(layer: number): LayerState {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers)
      throw new ValueError(`LowRankKVCache: layer ${layer} outside 0..${this.numLayers - 1}`);
    return this.layers[layer];
  }

  length(layer: number): number {
    return this.state(layer).length;
  }

  /** The first layer holding keys or values compressed (numLayers when every layer is held whole). */
  firstCompressedLayer(): number {
    const i = this.opts.layers.findIndex((l) => l.keyBasis !== null || l.valueBasis !== null);
    return i < 0 ? this.numLayers : i;
  }

  /** Allocate every layer for `batch` rows and `positions` tokens exactly (bytes() then equals Eq. 5.4). */
  reserve(batch: number, positions: number): void {
    if (!Number.isInteger(batch) || batch <= 0 || !Number.isInteger(positions) || positions < 0)
      throw new ValueError(
        `LowRankKVCache.reserve: batch ${batch} and positions ${positions} must be positive integers`,
      );
    if (this.batch !== 0 && this.batch !== batch)
      throw new ShapeError(
        `LowRankKVCache.reserve: cache holds batch ${this.batch}; clear() before using batch ${batch}`,
      );
    this.setBatch(batch);
    this.reserved = positions;
    for (const l of this.layers) {
      // Reserved for decoding: rows in the kernels' shared memory (see Rows).
      if (l.keys) l.keys.resident = true;
      if (l.values) l.values.resident = true;
      l.keys?.ensure(positions, true);
      l.values?.ensure(positions, true);
    }
    this.ensureTables(positions);
    // A decode loop follows: start the background key thread now, outside any timed step.
    if (batch === 1 && this.opts.keysAhead === true && getBackend() === 'native') warmBackground();
  }

  private setBatch(batch: number): void {
    if (this.batch === batch) return;
    this.batch = batch;
    this.layers = this.opts.layers.map((spec) => ({
      spec,
      keys: new Rows(spec.keyBasis?.shape[1] ?? this.width, batch),
      values: new Rows(spec.valueBasis?.shape[1] ?? this.width, batch),
      length: 0,
    }));
  }

  private ensureTables(positions: number): void {
    if (positions <= this.tablePositions && (this.reserved === 0 || inArena(this.tables.cos))) return;
    const cap =
      positions <= this.tablePositions
        ? this.tablePositions
        : Math.max(positions, this.tablePositions * 2, 64);
    const pos = Array.from({ length: cap }, (_, i) => i);
    const t = ropeTables(pos, this.opts.invFreq);
    // A rebuild in flight reads the tables being replaced: let it finish first.
    if (this.ahead.job) settleBackground();
    if (this.reserved > 0 && wasmKernels()) {
      // Reserved for decoding: tables in the kernels' shared memory too, read in place by the RoPE
      // kernel each step instead of being staged (2 · S · D/2 floats per compressed layer per step).
      const cos = allocF32(t.cos.length);
      const sin = allocF32(t.sin.length);
      cos.set(t.cos);
      sin.set(t.sin);
      this.tables = { cos, sin };
    } else this.tables = t;
    this.tablePositions = cap;
  }

  private tablesFor(S: number): RopeTables {
    this.ensureTables(S);
    const half = this.opts.headDim / 2;
    return { cos: this.tables.cos.subarray(0, S * half), sin: this.tables.sin.subarray(0, S * half) };
  }

  /** Store new keys (pre-RoPE) and values of one layer, compressed where the layer has a basis. */
  append(layer: number, entry: KVAppend): void {
    const { keysPreRope: k, values: v, positions } = entry;
    const Hkv = this.opts.numKvHeads;
    const D = this.opts.headDim;
    if (k.rank !== 4 || k.shape[2] !== Hkv || k.shape[3] !== D || v.shape.join() !== k.shape.join()) {
      throw new ShapeError(
        `LowRankKVCache.append(layer ${layer}): keys [${k.shape.join(', ')}] and values [${v.shape.join(', ')}] must both be [B, T, ${Hkv}, ${D}]`,
      );
    }
    const [B, T] = k.shape;
    if (positions.length !== T)
      throw new ShapeError(
        `LowRankKVCache.append(layer ${layer}): ${positions.length} positions for ${T} tokens`,
      );
    if (this.batch === 0) this.setBatch(B);
    if (B !== this.batch)
      throw new ShapeError(
        `LowRankKVCache.append(layer ${layer}): batch ${B}, but the cache holds batch ${this.batch}`,
      );
    const st = this.state(layer);
    for (let t = 0; t < T; t++) {
      if (positions[t] !== st.length + t) {
        throw new ValueError(
          `LowRankKVCache.append(layer ${layer}): position ${positions[t]} at step ${t}, expected ${st.length + t} (positions must continue the held sequence from 0)`,
        );
      }
    }
    if (T === 0) return;
    const S = st.length + T;
    const exact = S <= this.reserved;
    const flatK = k.reshape([B * T, this.width]);
    const flatV = v.reshape([B * T, this.width]);
    // Keys: compress pre-RoPE (Eq. 5.6 / H.1), or rotate now when uncompressed; values: Eq. 5.8.
    const kRows = st.spec.keyBasis
      ? matmul(flatK, st.spec.keyBasis).data
      : applyRope(k.reshape([B * T, Hkv, D]), this.tilesFor(st.length, T, B), this.opts.ropeStyle).data;
    const vRows = st.spec.valueBasis ? matmul(flatV, st.spec.valueBasis).data : flatV.data;
    // Growing may move the rows a background rebuild is reading (see attendAhead): let it finish first.
    if (this.ahead.job && S > st.keys!.capacity) settleBackground();
    st.keys!.ensure(S, exact);
    st.values!.ensure(S, exact);
    st.keys!.write(kRows, st.length, T);
    st.values!.write(vRows, st.length, T);
    st.length = S;
    this.ensureTables(S);
  }

  /** RoPE tables for positions start..start+T-1, repeated for B batch rows (for [B·T, H, D] inputs). */
  private tilesFor(start: number, T: number, B: number): RopeTables {
    this.ensureTables(start + T);
    const half = this.opts.headDim / 2;
    const cos = new Float32Array(B * T * half);
    const sin = new Float32Array(B * T * half);
    for (let b = 0; b < B; b++) {
      cos.set(this.tables.cos.subarray(start * half, (start + T) * half), b * T * half);
      sin.set(this.tables.sin.subarray(start * half, (start + T) * half), b * T * half);
    }
    return { cos, sin };
  }

  /**
   * Rows read for a layer: the held length, or on the gpu.js path the length rounded up to
   * READ_BUCKET (within capacity) so compiled kernels are reused; the padding rows are zeros and lie
   * beyond every query's causal horizon, so they never receive attention weight.
   */
  private readRows(st: LayerState, padded: boolean): number {
    if (!padded || getBackend() !== 'gl') return st.length;
    return Math.min(st.keys!.capacity, Math.ceil(st.length / READ_BUCKET) * READ_BUCKET);
  }

  /**
   * Rotated keys [B, S, Hkv, D] of the first S rows (reconstructed for compressed layers), into `out`
   * when given (see `attend`).
   */
  private keysOf(st: LayerState, S: number, out?: Float32Array): Tensor {
    const B = this.batch;
    const { numKvHeads: Hkv, headDim: D } = this.opts;
    const held = st.keys!.view(S);
    if (!st.spec.keyBasis) return held.reshape([B, S, Hkv, D]);
    return reconstructRope(held, st.spec.keyBasis, this.tablesFor(S), Hkv, this.opts.ropeStyle, { out });
  }

  private valuesOf(st: LayerState, S: number): Tensor {
    const B = this.batch;
    const { numKvHeads: Hkv, headDim: D } = this.opts;
    const held = st.values!.view(S);
    if (!st.spec.valueBasis) return held.reshape([B, S, Hkv, D]);
    const dc = st.spec.valueBasis.shape[1];
    const flat = held.reshape([B * S, dc]);
    return matmul(flat, st.spec.valueUp ?? st.spec.valueBasis, { transB: true }).reshape([B, S, Hkv, D]);
  }

  read(layer: number): KVRead {
    const st = this.state(layer);
    if (st.length === 0) throw new ValueError(`LowRankKVCache.read(layer ${layer}): nothing held`);
    return { keys: this.keysOf(st, st.length), values: this.valuesOf(st, st.length) };
  }

  /**
   * Causal attention of rotated queries q [B, T, Hq, D] over the held positions, for the layers whose
   * values are folded into W_o' (Eq. 5.9; see class comment). Every other layer (uncompressed, keys
   * only, or 'reconstruct' values) returns undefined: the decoder then runs its own attention kernel
   * over `read(layer)`, so those layers use exactly the model's attention.
   */
  attend(layer: number, q: Tensor, positions: readonly number[]): KVAttendResult | undefined {
    const st = this.state(layer);
    const { numHeads: Hq, headDim: D } = this.opts;
    if (q.rank !== 4 || q.shape[0] !== this.batch || q.shape[2] !== Hq || q.shape[3] !== D) {
      throw new ShapeError(
        `LowRankKVCache.attend(layer ${layer}): q [${q.shape.join(', ')}] must be [${this.batch}, T, ${Hq}, ${D}]`,
      );
    }
    const T = q.shape[1];
    if (positions.length !== T)
      throw new ShapeError(
        `LowRankKVCache.attend(layer ${layer}): ${positions.length} positions for ${T} queries`,
      );
    const offset = T > 0 ? positions[0] : 0;
    for (let t = 0; t < T; t++) {
      if (positions[t] !== offset + t || positions[t] >= st.length) {
        throw new ValueError(
          `LowRankKVCache.attend(layer ${layer}): query positions must be consecutive and held (got ${positions[t]} at ${t}, ${st.length} held); append before attend`,
        );
      }
    }
    if (!(this.valueMode === 'fold' && st.spec.valueBasis)) return undefined;
    const S = this.readRows(st, true);
    const ahead = this.attendAhead(layer, st, S, q, offset);
    if (ahead) return { out: ahead, projected: true };
    // Reconstructed keys go into released scratch of the kernels' shared memory (working memory of this
    // call, not K/V state), where the folded attention reads them in place.
    const n = this.batch * S * this.width;
    const scratch = st.spec.keyBasis && wasmKernels() ? wasmArena().scratch(4 * n + 64) : undefined;
    try {
      const buf = scratch ? new Float32Array(wasmArena().memory.buffer, scratch.ptr, n) : undefined;
      const keys = this.keysOf(st, S, buf);
      // Eq. 5.9: out = Σ_h (P_h · C_v) · W_o'_h, never materialising the values.
      const out = foldedAttention(q, keys, st.values!.view(S), st.spec.foldedOutput!, offset);
      return { out, projected: true };
    } finally {
      scratch?.done();
    }
  }

  /**
   * The decode path of a folded layer with compressed keys on the `native` backend (batch 1, after
   * `reserve`): the keys of positions 0..S−2 were rebuilt and rotated on the background thread while
   * the previous layer ran (`postReconstructRope`), so only the newest row is rebuilt here; then the
   * next folded layer's held rows are posted to the background thread (into the other buffer) before
   * this layer attends. The rows rebuilt ahead are the same products and rotations as in place
   * (`reconstructRope`), so the result is the same attention. Undefined where this path does not apply
   * (the caller then rebuilds every row in scratch).
   */
  private attendAhead(
    layer: number,
    st: LayerState,
    S: number,
    q: Tensor,
    offset: number,
  ): Tensor | undefined {
    const basis = st.spec.keyBasis;
    if (
      !basis ||
      this.opts.keysAhead !== true ||
      this.batch !== 1 ||
      this.reserved === 0 ||
      S > this.reserved ||
      getBackend() !== 'native'
    )
      return undefined;
    if (!this.aheadBuffers()) return undefined;
    const a = this.ahead;
    const { numKvHeads: Hkv, headDim: D } = this.opts;
    const dc = basis.shape[1];
    const width = this.width;
    const half = D / 2;
    const job = a.job;
    const mine = job?.layer === layer ? job : undefined;
    const index = mine ? mine.index : job ? 1 - job.index : 0;
    const buf = a.bufs[index];
    let ready = 0;
    if (mine) {
      a.job = undefined;
      if (mine.pending.wait() && mine.rows <= S && mine.data === st.keys!.data) ready = mine.rows;
      this.aheadRows += ready;
    }
    const tables = this.tablesFor(S);
    if (ready < S) {
      const c = st.keys!.data.subarray(ready * dc, S * dc);
      reconstructRope(
        new Tensor(c, [1, S - ready, dc]),
        basis,
        {
          cos: tables.cos.subarray(ready * half, S * half),
          sin: tables.sin.subarray(ready * half, S * half),
        },
        Hkv,
        this.opts.ropeStyle,
        { out: buf.subarray(ready * width, S * width) },
      );
    }
    const keys = new Tensor(buf.subarray(0, S * width), [1, S, Hkv, D]);
    this.postAhead(layer, 1 - index);
    // Eq. 5.9: out = Σ_h (P_h · C_v) · W_o'_h, never materialising the values.
    return foldedAttention(q, keys, st.values!.view(S), st.spec.foldedOutput!, offset);
  }

  /** Post the held rows of the next folded layer with compressed keys (wrapping to the next step). */
  private postAhead(layer: number, index: number): void {
    const n = this.numLayers;
    for (let i = 1; i <= n; i++) {
      const l = (layer + i) % n;
      const st = this.layers[l];
      const basis = st.spec.keyBasis;
      if (!basis || !st.spec.valueBasis || this.valueMode !== 'fold' || !st.keys) continue;
      const rows = st.length;
      if (rows === 0 || rows > this.reserved) return;
      const D = this.opts.headDim;
      const pending = postReconstructRope({
        c: st.keys.data,
        basis: this.aheadBasis(l, basis),
        cos: this.tables.cos,
        sin: this.tables.sin,
        out: this.ahead.bufs[index],
        rows,
        dc: basis.shape[1],
        Hkv: this.opts.numKvHeads,
        D,
      });
      this.ahead.job = pending ? { layer: l, index, rows, data: st.keys.data, pending } : undefined;
      return;
    }
  }

  /** Two key buffers of the reserved length in the kernels' shared memory (false: no wasm arena). */
  private aheadBuffers(): boolean {
    const n = this.reserved * this.width;
    const a = this.ahead;
    if (a.bufs.length === 2 && a.bufs[0].length >= n) return true;
    if (!wasmKernels() || this.opts.ropeStyle !== 'half') return false;
    settleBackground();
    a.job = undefined;
    a.bufs = [allocF32(n), allocF32(n)];
    return true;
  }

  /** A layer's key basis copied once into the kernels' shared memory (the background thread reads it there). */
  private aheadBasis(layer: number, basis: Tensor): Float32Array {
    let b = this.ahead.bases.get(layer);
    if (!b) {
      b = allocF32(basis.size);
      b.set(basis.data);
      this.ahead.bases.set(layer, b);
    }
    return b;
  }

  /** Key rows attention calls took rebuilt ahead by the background thread since construction (a diagnostic). */
  rowsRebuiltAhead(): number {
    return this.aheadRows;
  }

  bytes(): number {
    return this.bytesByLayer().reduce((a, b) => a + b, 0);
  }

  bytesByLayer(): number[] {
    return this.layers.map((l) => (l.keys?.bytes ?? 0) + (l.values?.bytes ?? 0));
  }

  /** Bytes of the RoPE tables shared by every layer (not K/V state; excluded from bytes()). */
  auxiliaryBytes(): number {
    const a = this.ahead;
    let n = this.tables.cos.byteLength + this.tables.sin.byteLength;
    for (const b of a.bufs) n += b.byteLength;
    for (const b of a.bases.values()) n += b.byteLength;
    return n;
  }

  clear(): void {
    if (this.ahead.job) settleBackground();
    this.ahead = { bufs: [], bases: new Map(), job: undefined };
    this.batch = 0;
    this.reserved = 0;
    this.layers = this.opts.layers.map((spec) => ({ spec, keys: null, values: null, length: 0 }));
  }
}
