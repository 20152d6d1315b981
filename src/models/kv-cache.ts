/**
 * The KV-cache contract between a decoder and the memory that holds past keys and values.
 *
 * A decoder hands each layer's new keys to the cache BEFORE rotary embedding, with their absolute
 * positions, so a cache may store them in any form (full, low-rank, quantised) and apply RoPE when
 * attention reads them (LoRC stores compressed pre-RoPE keys: thesis appendix H.1). A cache may also
 * take over the attention read entirely (`attend`), e.g. to attend in a compressed space with the
 * value up-projection folded into the output projection (Eq. 5.9).
 */
import type { Tensor } from '../ops/tensor';

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
}

export interface KVCache {
  /** Number of layers this cache serves. */
  readonly numLayers: number;
  /** Positions held for a layer. */
  length(layer: number): number;
  /** Store one step's keys and values for one layer. */
  append(layer: number, entry: KVAppend): void;
  /** Keys (rotated) and values of every held position, for the decoder's own attention. */
  read(layer: number): KVRead;
  /**
   * Optional: attend queries q [B, T, Hq, D] (already rotated) against the held positions, causally
   * (query t at absolute position `positions[t]`). When present the decoder calls it instead of read().
   */
  attend?(layer: number, q: Tensor, positions: readonly number[]): KVAttendResult;
  /** Bytes of the tensors actually held, in total and per layer. */
  bytes(): number;
  bytesByLayer(): number[];
  /** Drop every held position. */
  clear(): void;
}
