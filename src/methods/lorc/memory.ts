/** KV-cache size accounting (Eq. 5.4): C_{k,v} = b × N × h × d per layer, here with d_c in place of h·d. */
import { ValueError } from '../../errors';

/** Bytes of one layer's K and V caches for batch b, length N and width (h·d, or d_c). Eq. 5.4 ×2 (K and V). */
export function layerCacheBytes(
  batch: number,
  positions: number,
  width: number,
  bytesPerElement = 4,
): number {
  for (const [n, v] of [
    ['batch', batch],
    ['positions', positions],
    ['width', width],
  ] as const)
    if (!Number.isInteger(v) || v < 0)
      throw new ValueError(`layerCacheBytes: ${n} = ${v} must be a non-negative integer`);
  return 2 * batch * positions * width * bytesPerElement;
}

/** Per-layer bytes for a list of per-layer widths (ranks). Eq. 5.4. */
export function cacheBytesByLayer(
  batch: number,
  positions: number,
  widths: readonly number[],
  bytesPerElement = 4,
): number[] {
  return widths.map((w) => layerCacheBytes(batch, positions, w, bytesPerElement));
}
