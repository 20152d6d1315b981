/**
 * The KV-cache contract between a decoder and the memory that holds past keys and values.
 *
 * A decoder hands each layer's new keys to the cache BEFORE rotary embedding, with their absolute
 * positions, so a cache may store them in any form (full, low-rank, quantised) and apply RoPE when
 * attention reads them (LoRC stores compressed pre-RoPE keys: thesis appendix H.1). A cache may also
 * take over the attention read entirely (`attend`), e.g. to attend in a compressed space with the
 * value up-projection folded into the output projection (Eq. 5.9).
 */
import { Tensor, allocF32, attention, freeF32, outputBuffer, recycle, wasmArena, wasmKernels } from '../ops';
import { NonFiniteError, ShapeError, ValueError } from '../errors';

/** Applies rotary embedding to x [B, T, H, D] at the given absolute positions (one per t). */
export type RopeApplier = (x: Tensor, positions: readonly number[]) => Tensor;

export interface KVAppend {
  /** New keys before RoPE, [B, T, Hkv, D]. */
  keysPreRope: Tensor;
  /** New values, [B, T, Hkv, D]. */
  values: Tensor;
  /** Absolute positions of the T new tokens. */
  positions: readonly number[];
  /** The layer's normalised input [B, T, hidden] (for caches that project it themselves). */
  hidden: Tensor;
}

export interface KVRead {
  /** Keys after RoPE, [B, S, Hkv, D]. */
  keys: Tensor;
  /** Values, [B, S, Hkv, D]. */
  values: Tensor;
}

export interface KVAttendResult {
  /** Attention output: [B, T, Hq·D] before the output projection, or [B, T, hidden] after it. */
  out: Tensor;
  /** True when `out` has already been through the (possibly folded) output projection. */
  projected: boolean;
  /**
   * True when `out` is a new array the cache keeps no reference to, so the layer loop may reuse its
   * buffer once projected (src/ops/buffers.ts). Leave unset for a buffer the cache reuses itself.
   */
  fresh?: boolean;
}

/** A tensor the layer loop hands a cache: the normalised input, the new keys and values, the queries. */
export type KVOperand = 'hidden' | 'keysPreRope' | 'values' | 'queries';

export interface KVCache {
  /** Number of layers this cache serves. */
  readonly numLayers: number;
  /**
   * The operands of `append` / `attend` this cache keeps no reference to once the call returns (it
   * copies what it stores), so the layer loop may reuse their buffers (src/ops/buffers.ts). Unset:
   * none — the safe default for a cache that stores what it is given.
   */
  readonly releases?: readonly KVOperand[];
  /** Positions held for a layer. */
  length(layer: number): number;
  /** Store one step's keys and values for one layer. */
  append(layer: number, entry: KVAppend): void;
  /** Keys (rotated) and values of every held position, for the decoder's own attention. */
  read(layer: number): KVRead;
  /**
   * Optional: attend queries q [B, T, Hq, D] (already rotated) against the held positions, causally
   * (query t at absolute position `positions[t]`). When present the decoder calls it first; a cache
   * returns undefined for a layer it has no special attention for, and the decoder then runs its own
   * attention kernel over `read(layer)` (so plain layers of every cache use the same kernel).
   */
  attend?(layer: number, q: Tensor, positions: readonly number[]): KVAttendResult | undefined;
  /** Bytes of the tensors actually held, in total and per layer. */
  bytes(): number;
  bytesByLayer(): number[];
  /** Drop every held position. */
  clear(): void;
  /**
   * Optional: room for `positions` positions per batch row up front, so a decode loop up to that length
   * never regrows the storage (the caches that have it also move their rows where the kernels read them
   * in place).
   */
  reserve?(batch: number, positions: number): void;
}

/**
 * The full-precision default cache: per layer it keeps every position's keys (rotated once, at append
 * time, with the model's RoPE) and values as float32 in [B, S, Hkv, D] order. Storage grows by
 * doubling; `bytes()` reports the bytes of the held positions (keys + values, 4 bytes each), and
 * `capacityBytes()` the bytes allocated including growth headroom. Every entry is checked finite when
 * appended, so `attend` reads the held rows without rescanning them.
 *
 * Where it lives: after `reserve` (the call a long decode loop makes) the storage is in the wasm
 * kernels' shared memory, where attention reads it in place (no copy per step). Otherwise it is
 * ordinary memory and attention copies the held rows into released scratch once per call: arena memory
 * returns only when its array is garbage-collected, which a synchronous loop making thousands of caches
 * (scoring, features, generate per row) would not wait for.
 */
export class FullKVCache implements KVCache {
  /** Keys (rotated) and values are copied into the cache's own storage. */
  readonly releases: readonly KVOperand[] = ['hidden', 'keysPreRope', 'values', 'queries'];
  readonly numLayers: number;
  private readonly rope: RopeApplier;
  private readonly keys: Float32Array[];
  private readonly vals: Float32Array[];
  private readonly lens: number[];
  /** [B, Hkv, D] of the stored entries, fixed by the first append. */
  private geom: [number, number, number] | undefined;
  /** Positions per batch row to allocate at once (`reserve`), so appends up to it never regrow. */
  private reservedPositions = 0;
  /** Whether storage goes into the wasm arena (after `reserve`; see the class comment). */
  private resident = false;

  constructor(numLayers: number, rope: RopeApplier) {
    if (!Number.isInteger(numLayers) || numLayers <= 0) {
      throw new ValueError(`FullKVCache: numLayers must be a positive integer (got ${numLayers})`);
    }
    this.numLayers = numLayers;
    this.rope = rope;
    this.keys = Array.from({ length: numLayers }, () => new Float32Array(0));
    this.vals = Array.from({ length: numLayers }, () => new Float32Array(0));
    this.lens = new Array<number>(numLayers).fill(0);
  }

  private checkLayer(layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers) {
      throw new ValueError(`FullKVCache: layer ${layer} out of range 0..${this.numLayers - 1}`);
    }
  }

  length(layer: number): number {
    this.checkLayer(layer);
    return this.lens[layer];
  }

  append(layer: number, entry: KVAppend): void {
    this.checkLayer(layer);
    const { keysPreRope: k, values: v, positions } = entry;
    if (k.rank !== 4 || v.shape.join() !== k.shape.join()) {
      throw new ShapeError(
        `FullKVCache.append: keys [${k.shape.join(', ')}] and values [${v.shape.join(', ')}] must both be [B, T, Hkv, D]`,
      );
    }
    const [B, T, H, D] = k.shape;
    if (positions.length !== T) {
      throw new ShapeError(`FullKVCache.append: ${positions.length} positions for ${T} new tokens`);
    }
    if (this.geom && (this.geom[0] !== B || this.geom[1] !== H || this.geom[2] !== D)) {
      throw new ShapeError(
        `FullKVCache.append: entries [B=${B}, Hkv=${H}, D=${D}] differ from the held [${this.geom.join(', ')}]`,
      );
    }
    this.geom = [B, H, D];
    const len = this.lens[layer];
    if (positions[0] !== len) {
      throw new ValueError(
        `FullKVCache.append: layer ${layer} holds ${len} positions; new ones start at ${positions[0]}`,
      );
    }
    const rotated = this.rope(k, positions);
    const row = H * D;
    const need = B * (len + T) * row;
    const moving = this.resident && !inArena(this.keys[layer]);
    if (this.keys[layer].length < need || moving) {
      const cap = Math.max(need, 2 * this.keys[layer].length, B * this.reservedPositions * row);
      const capPos = this.keys[layer].length >= need ? this.keys[layer].length / (B * row) : cap / (B * row);
      this.keys[layer] = regrow(this.keys[layer], B, len, capPos, row, this.resident);
      this.vals[layer] = regrow(this.vals[layer], B, len, capPos, row, this.resident);
    }
    assertFiniteRows(v.data, `FullKVCache.append(layer ${layer}): values`);
    assertFiniteRows(rotated.data, `FullKVCache.append(layer ${layer}): rotated keys`);
    const capPos = this.keys[layer].length / (B * row);
    for (let b = 0; b < B; b++) {
      this.keys[layer].set(rotated.data.subarray(b * T * row, (b + 1) * T * row), (b * capPos + len) * row);
      this.vals[layer].set(v.data.subarray(b * T * row, (b + 1) * T * row), (b * capPos + len) * row);
    }
    this.lens[layer] = len + T;
    recycle(rotated); // copied into the storage above
  }

  read(layer: number): KVRead {
    this.checkLayer(layer);
    const len = this.lens[layer];
    if (!this.geom || len === 0) throw new ValueError(`FullKVCache.read: layer ${layer} is empty`);
    const [B, H, D] = this.geom;
    const row = H * D;
    const capPos = this.keys[layer].length / (B * row);
    const pick = (src: Float32Array): Tensor => {
      const out = new Float32Array(B * len * row);
      for (let b = 0; b < B; b++)
        out.set(src.subarray(b * capPos * row, (b * capPos + len) * row), b * len * row);
      return new Tensor(out, [B, len, H, D]);
    };
    return { keys: pick(this.keys[layer]), values: pick(this.vals[layer]) };
  }

  /**
   * Causal attention of q [1, T, Hq, D] at consecutive held positions over the held rows, read in place
   * (batch 1); undefined otherwise (the decoder then reads a copy with `read`).
   */
  attend(layer: number, q: Tensor, positions: readonly number[]): KVAttendResult | undefined {
    this.checkLayer(layer);
    const len = this.lens[layer];
    if (!this.geom || this.geom[0] !== 1 || len === 0 || q.rank !== 4) return undefined;
    const T = q.shape[1];
    const start = positions[0];
    if (positions.length !== T || T === 0 || start + T > len) return undefined;
    for (let t = 1; t < T; t++) if (positions[t] !== start + t) return undefined;
    const [, H, D] = this.geom;
    const n = len * H * D;
    const keys = new Tensor(this.keys[layer].subarray(0, n), [1, len, H, D]);
    const values = new Tensor(this.vals[layer].subarray(0, n), [1, len, H, D]);
    const out = attention(q, keys, values, { causal: true, queryOffset: start, keysValuesChecked: true });
    return { out, projected: false };
  }

  bytes(): number {
    return this.bytesByLayer().reduce((a, b) => a + b, 0);
  }

  bytesByLayer(): number[] {
    if (!this.geom) return this.lens.map(() => 0);
    const [B, H, D] = this.geom;
    return this.lens.map((len) => 2 * 4 * B * len * H * D);
  }

  /**
   * Allocate room for `positions` positions per batch row up front (as `LowRankKVCache.reserve`), so a
   * decode loop up to that length never regrows the storage. Held positions are kept.
   */
  reserve(batch: number, positions: number): void {
    if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(positions) || positions < 1) {
      throw new ValueError(
        `FullKVCache.reserve: batch ${batch} and positions ${positions} must be positive integers`,
      );
    }
    if (this.geom && this.geom[0] !== batch) {
      throw new ShapeError(`FullKVCache.reserve: the cache holds batch ${this.geom[0]}, not ${batch}`);
    }
    this.reservedPositions = Math.max(this.reservedPositions, positions);
    this.resident = true; // reserved for decoding: storage in the arena
    if (!this.geom) return; // allocated at the first append, once Hkv and D are known
    const [B, H, D] = this.geom;
    const row = H * D;
    for (let l = 0; l < this.numLayers; l++) {
      if (this.keys[l].length >= B * positions * row && inArena(this.keys[l])) continue;
      const capPos = Math.max(positions, this.keys[l].length / (B * row));
      this.keys[l] = regrow(this.keys[l], B, this.lens[l], capPos, row, true);
      this.vals[l] = regrow(this.vals[l], B, this.lens[l], capPos, row, true);
    }
  }

  /** Bytes allocated, including the doubling headroom. */
  capacityBytes(): number {
    return this.keys.reduce((a, k, i) => a + 4 * (k.length + this.vals[i].length), 0);
  }

  /**
   * Drop every held position and hand storage in the kernels' shared memory back at once instead of
   * when the collector finds it (for a cache made and dropped inside one synchronous loop, as
   * `generate` does). Arrays from `read` are copies and stay valid; nothing else may still view the rows.
   */
  dispose(): void {
    for (let l = 0; l < this.numLayers; l++) {
      freeF32(this.keys[l]);
      freeF32(this.vals[l]);
    }
    this.clear();
  }

  clear(): void {
    for (let l = 0; l < this.numLayers; l++) {
      this.keys[l] = new Float32Array(0);
      this.vals[l] = new Float32Array(0);
      this.lens[l] = 0;
    }
    this.geom = undefined;
    this.reservedPositions = 0;
    this.resident = false;
  }
}

/** Throw NonFiniteError naming `what` and the index when d holds a NaN or an infinity. */
function assertFiniteRows(d: Float32Array, what: string): void {
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]))
      throw new NonFiniteError(`${what} hold a non-finite value ${d[i]} at flat index ${i}`);
  }
}

/** Whether a is in the wasm arena (true where there is no wasm: nothing to move then). */
function inArena(a: Float32Array): boolean {
  return !wasmKernels() || wasmArena().owns(a);
}

function regrow(
  old: Float32Array,
  B: number,
  len: number,
  capPos: number,
  row: number,
  resident: boolean,
): Float32Array {
  const out = resident ? allocF32(B * capPos * row) : new Float32Array(B * capPos * row);
  const oldCap = old.length === 0 ? 0 : old.length / (B * row);
  for (let b = 0; b < B; b++)
    out.set(old.subarray(b * oldCap * row, (b * oldCap + len) * row), b * capPos * row);
  return out;
}

/**
 * A one-pass cache for several prompts packed one after another in a single forward (rows
 * offsets[i] .. offsets[i + 1] − 1 are prompt i, each at positions 0..len − 1): it keeps the current
 * pass's keys (rotated) and values per layer and attends each prompt's queries causally to that
 * prompt's keys only, so no prompt sees another and no padding is computed (`LlamaModel.lastLogitsBatch`).
 * It holds one pass: appending again replaces a layer's entries, and it cannot be decoded on.
 */
export class PackedPromptsCache implements KVCache {
  /** Holds the values it is given (and keys it rotated itself) until `release`. */
  readonly releases: readonly KVOperand[] = ['hidden', 'keysPreRope', 'queries'];
  readonly numLayers: number;
  private readonly rope: RopeApplier;
  private readonly offsets: readonly number[];
  private readonly held: (KVRead | undefined)[];

  constructor(numLayers: number, rope: RopeApplier, offsets: readonly number[]) {
    if (!Number.isInteger(numLayers) || numLayers <= 0) {
      throw new ValueError(`PackedPromptsCache: numLayers must be a positive integer (got ${numLayers})`);
    }
    if (offsets.length < 2 || offsets[0] !== 0 || offsets.some((o, i) => i > 0 && !(o > offsets[i - 1]))) {
      throw new ValueError(
        `PackedPromptsCache: offsets [${offsets.join(', ')}] must start at 0 and increase strictly`,
      );
    }
    this.numLayers = numLayers;
    this.rope = rope;
    this.offsets = offsets;
    this.held = new Array<KVRead | undefined>(numLayers).fill(undefined);
  }

  private checkLayer(layer: number): void {
    if (!Number.isInteger(layer) || layer < 0 || layer >= this.numLayers) {
      throw new ValueError(`PackedPromptsCache: layer ${layer} out of range 0..${this.numLayers - 1}`);
    }
  }

  /** 0 before a pass (a forward starts at position 0), then the packed rows of the pass. */
  length(layer: number): number {
    this.checkLayer(layer);
    return this.held[layer] ? this.offsets[this.offsets.length - 1] : 0;
  }

  append(layer: number, entry: KVAppend): void {
    this.checkLayer(layer);
    const { keysPreRope: k, values: v, positions } = entry;
    const N = this.offsets[this.offsets.length - 1];
    if (k.rank !== 4 || k.shape[0] !== 1 || k.shape[1] !== N || v.shape.join() !== k.shape.join()) {
      throw new ShapeError(
        `PackedPromptsCache.append: keys [${k.shape.join(', ')}] and values [${v.shape.join(', ')}] must both be [1, ${N}, Hkv, D]`,
      );
    }
    if (positions.length !== N) {
      throw new ShapeError(`PackedPromptsCache.append: ${positions.length} positions for ${N} packed tokens`);
    }
    this.held[layer] = { keys: this.rope(k, positions), values: v };
  }

  /** Hand every held key and value back for reuse (src/ops/buffers.ts); the cache is empty after. */
  release(): void {
    for (let l = 0; l < this.held.length; l++) {
      const h = this.held[l];
      if (h) recycle(h.keys, h.values);
      this.held[l] = undefined;
    }
  }

  read(layer: number): KVRead {
    this.checkLayer(layer);
    const h = this.held[layer];
    if (!h) throw new ValueError(`PackedPromptsCache.read: layer ${layer} is empty`);
    return h;
  }

  /** Causal attention of each packed prompt's queries q [1, N, Hq, D] to its own keys. */
  attend(layer: number, q: Tensor, positions: readonly number[]): KVAttendResult {
    const { keys, values } = this.read(layer);
    const [, N, Hq, D] = q.shape;
    const [, , Hkv] = keys.shape;
    if (positions.length !== N || keys.shape[1] !== N) {
      throw new ShapeError(`PackedPromptsCache.attend: ${N} queries against ${keys.shape[1]} packed keys`);
    }
    const out = outputBuffer(N * Hq * D);
    for (let i = 0; i + 1 < this.offsets.length; i++) {
      const [a, b] = [this.offsets[i], this.offsets[i + 1]];
      const part = (t: Tensor, heads: number): Tensor =>
        new Tensor(t.data.subarray(a * heads * D, b * heads * D), [1, b - a, heads, D]);
      const o = attention(part(q, Hq), part(keys, Hkv), part(values, Hkv), { causal: true, queryOffset: 0 });
      out.set(o.data, a * Hq * D);
      recycle(o);
    }
    return { out: new Tensor(out, [1, N, Hq * D]), projected: false, fresh: true };
  }

  bytes(): number {
    return this.bytesByLayer().reduce((a, b) => a + b, 0);
  }

  bytesByLayer(): number[] {
    return this.held.map((h) => (h ? 4 * (h.keys.size + h.values.size) : 0));
  }

  clear(): void {
    this.held.fill(undefined);
  }
}
