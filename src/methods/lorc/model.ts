/**
 * Model-level LoRC: decompose every layer's K/V projections once, derive the sensitivities, and build
 * a `LowRankKVCache` for any rank schedule (Algorithm 3).
 */
import { ShapeError, Tensor, ropeInvFreq, type RopeStyle } from '../../ops';
import * as path from 'node:path';
import { LowRankKVCache, type LowRankLayer } from './cache';
import { fingerprint, loadDecompositions, saveDecompositions } from './persist';
import {
  decomposeProjection,
  kappaOf,
  relativeReconstructionError,
  rightBasis,
  type ProjectionDecomposition,
} from './decompose';
import type { RankSchedule } from './schedule';
import { logCumulativeKappa, type LayerKappa } from './sensitivity';
import { ValueError } from '../../errors';

/** One layer's attention weights in thesis layout (K = X·W_k; output = A·W_o). */
export interface AttentionWeights {
  /** W_k [hidden, Hkv·D]. */
  wk: Tensor;
  /** W_v [hidden, Hkv·D]. */
  wv: Tensor;
  /** W_o [Hq·D, hidden]. */
  wo: Tensor;
}

export interface AttentionShape {
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  hidden: number;
  ropeStyle: RopeStyle;
  /** RoPE inverse frequencies; default ropeInvFreq(headDim, ropeBase). */
  invFreq?: ArrayLike<number>;
  ropeBase?: number;
}

export interface LorcAnalysis {
  shape: AttentionShape;
  weights: readonly AttentionWeights[];
  /** Joint SVD of W_k and W_v per layer (Eq. 5.6, 5.8). */
  layers: { key: ProjectionDecomposition; value: ProjectionDecomposition }[];
  /** κ(W_k), κ(W_v) per layer (Eq. 5.10). */
  kappas: LayerKappa[];
  /** ln κ̃_l (Eq. 5.12). */
  logCumulative: number[];
  /** Full K/V width per layer, Hkv·D (d_max). */
  dMax: number;
  /** Wall time of the decompositions, ms. */
  svdMs: number;
}

export interface AnalyseOptions {
  /**
   * Folder for an on-disk cache of the decompositions (file named by a fingerprint of the weights);
   * omitted: always decompose.
   */
  cacheDir?: string;
  /**
   * Called after each layer's two SVDs with (layers done, layers) — e.g. `progress({ total }).set`; the
   * uncached decomposition of SmolLM2 takes ~26 s. Not called when the decompositions come from the cache.
   */
  onProgress?: (done: number, total: number) => void;
}

/** Decompose every layer's K/V projection and compute κ, ln κ̃ (Algorithm 3 lines 1-4). */
export function analyse(
  shape: AttentionShape,
  weights: readonly AttentionWeights[],
  opts: AnalyseOptions = {},
): LorcAnalysis {
  const width = shape.numKvHeads * shape.headDim;
  if (weights.length === 0) throw new ValueError('analyse: no layers');
  const t0 = performance.now();
  const file = opts.cacheDir
    ? path.join(opts.cacheDir, `lorc-svd-${fingerprint(weights.flatMap((w) => [w.wk, w.wv]))}.bin`)
    : undefined;
  const cached = file ? loadDecompositions(file) : undefined;
  const layers = weights.map((w, l) => {
    for (const [name, t, want] of [
      ['W_k', w.wk, [shape.hidden, width]],
      ['W_v', w.wv, [shape.hidden, width]],
      ['W_o', w.wo, [shape.numHeads * shape.headDim, shape.hidden]],
    ] as const) {
      if (t.rank !== 2 || t.shape[0] !== want[0] || t.shape[1] !== want[1])
        throw new ShapeError(
          `analyse: layer ${l} ${name} has shape [${t.shape.join(', ')}], expected [${want.join(', ')}]`,
        );
    }
    if (cached && cached.length === 2 * weights.length)
      return { key: cached[2 * l], value: cached[2 * l + 1] };
    const pair = {
      key: decomposeProjection(w.wk, `layer ${l} W_k`),
      value: decomposeProjection(w.wv, `layer ${l} W_v`),
    };
    opts.onProgress?.(l + 1, weights.length);
    return pair;
  });
  if (file && !cached)
    saveDecompositions(
      file,
      layers.flatMap((l) => [l.key, l.value]),
    );
  const kappas = layers.map((l) => ({ kappaK: kappaOf(l.key), kappaV: kappaOf(l.value) }));
  return {
    shape,
    weights,
    layers,
    kappas,
    logCumulative: logCumulativeKappa(kappas),
    dMax: width,
    svdMs: performance.now() - t0,
  };
}

/**
 * Fold the value up-projection into the output projection (Eq. 5.9), per query head h with K/V head
 * g = ⌊h/(Hq/Hkv)⌋: W_o'_h = V_v,c[g·D:(g+1)·D, :]ᵀ · W_o[h·D:(h+1)·D, :], stacked to [Hq·d_c, hidden].
 */
export function foldOutputProjection(
  valueBasis: Tensor,
  wo: Tensor,
  numHeads: number,
  numKvHeads: number,
): Tensor {
  const [width, dc] = valueBasis.shape;
  const D = width / numKvHeads;
  if (!Number.isInteger(D) || wo.rank !== 2 || wo.shape[0] !== numHeads * D)
    throw new ShapeError(
      `foldOutputProjection: basis [${valueBasis.shape.join(', ')}] with ${numKvHeads} K/V heads does not fit W_o [${wo.shape.join(', ')}] with ${numHeads} heads`,
    );
  const hidden = wo.shape[1];
  const group = numHeads / numKvHeads;
  const out = new Float32Array(numHeads * dc * hidden);
  const acc = new Float64Array(dc * hidden);
  // A one-off product per (layer, rank), in plain TS with float64 accumulation: row d of the head's
  // W_o block is scattered into every c with weight V[g·D + d, c] (contiguous inner loop over hidden).
  for (let h = 0; h < numHeads; h++) {
    const g = Math.floor(h / group);
    acc.fill(0);
    for (let d = 0; d < D; d++) {
      const woRow = (h * D + d) * hidden;
      const vRow = (g * D + d) * dc;
      for (let c = 0; c < dc; c++) {
        const v = valueBasis.data[vRow + c];
        const base = c * hidden;
        for (let j = 0; j < hidden; j++) acc[base + j] += v * wo.data[woRow + j];
      }
    }
    out.set(acc, h * dc * hidden);
  }
  return new Tensor(out, [numHeads * dc, hidden]);
}

export interface BuildCacheOptions {
  valueMode?: 'fold' | 'reconstruct';
  /** Hold layers whose rank equals d_max in compressed form anyway (default false: uncompressed). */
  compressFullRank?: boolean;
  /**
   * Which projections the schedule's ranks apply to: 'both' (Algorithm 3, default), 'keys' only
   * (values held uncompressed) or 'values' only. The one-sided modes are our addition, for models
   * whose value projections are not low-rank (see the SmolLM2 results); their overall ratio is half
   * the schedule's.
   */
  compress?: 'both' | 'keys' | 'values';
  /** Rebuild keys ahead on a background thread while decoding (see LowRankKVCacheOptions). Default false. */
  keysAhead?: boolean;
}

/** The low-rank cache for a schedule (Algorithm 3 lines 5-15). */
export function buildCache(
  analysis: LorcAnalysis,
  schedule: RankSchedule,
  opts: BuildCacheOptions = {},
): LowRankKVCache {
  const { shape } = analysis;
  if (schedule.ranks.length !== analysis.layers.length)
    throw new ShapeError(
      `buildCache: schedule has ${schedule.ranks.length} layers, model has ${analysis.layers.length}`,
    );
  if (schedule.dMax !== analysis.dMax)
    throw new ShapeError(
      `buildCache: schedule d_max ${schedule.dMax} differs from the model's K/V width ${analysis.dMax}`,
    );
  const valueMode = opts.valueMode ?? 'fold';
  const layers: LowRankLayer[] = analysis.layers.map((l, i) => {
    const r = schedule.ranks[i];
    if (schedule.skipped[i] || (r === analysis.dMax && !opts.compressFullRank)) {
      return { keyBasis: null, valueBasis: null };
    }
    if (opts.compress === 'keys') return { keyBasis: rightBasis(l.key, r), valueBasis: null };
    const valueBasis = rightBasis(l.value, r);
    return {
      keyBasis: opts.compress === 'values' ? null : rightBasis(l.key, r),
      valueBasis,
      foldedOutput:
        valueMode === 'fold'
          ? foldOutputProjection(valueBasis, analysis.weights[i].wo, shape.numHeads, shape.numKvHeads)
          : null,
    };
  });
  return new LowRankKVCache({
    numHeads: shape.numHeads,
    numKvHeads: shape.numKvHeads,
    headDim: shape.headDim,
    invFreq: shape.invFreq ?? ropeInvFreq(shape.headDim, shape.ropeBase ?? 10000),
    ropeStyle: shape.ropeStyle,
    layers,
    valueMode,
    keysAhead: opts.keysAhead,
  });
}

/** Per-layer relative reconstruction errors of W_k and W_v at a schedule's ranks (appendix G.1). */
export function reconstructionErrors(
  analysis: LorcAnalysis,
  ranks: readonly number[],
): { key: number; value: number }[] {
  return analysis.layers.map((l, i) => ({
    key: relativeReconstructionError(l.key, ranks[i]),
    value: relativeReconstructionError(l.value, ranks[i]),
  }));
}
