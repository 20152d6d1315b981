/**
 * LoRC in one call (thesis Algorithm 3 end to end): `compress(model, target)` decomposes every layer's K/V
 * projections, derives the sensitivities (Eqs. 5.10, 5.12), chooses the ranks (Eq. 5.13 or the uniform
 * baseline, with the skip rule of line 7) and builds the compressed KV cache, returning it with its schedule
 * and the per-layer report. The steps stay public for teaching: `modelAttention` → `analyse` →
 * `progressiveSchedule` / `uniformSchedule` → `buildCache` → `layerSensitivity` do the same one by one.
 *
 * ```ts
 * const lm = models.loadCausalLM('smollm2-135m-instruct');
 * const c = lorc.compress(lm, 0.6);                 // 60 % of the K/V cache removed
 * lm.generate(prompt, { cache: c.cache });
 * widgets.sensitivityView(c.report);
 * ```
 */
import { ConfigError, ValueError } from '../../errors';
import type { LlamaModel } from '../../models/llama';
import type { LowRankKVCache } from './cache';
import { modelAttention } from './evaluate';
import { analyse, buildCache, type BuildCacheOptions, type LorcAnalysis } from './model';
import {
  DEFAULT_SKIP,
  progressiveSchedule,
  uniformSchedule,
  type RankSchedule,
  type SkipRule,
} from './schedule';
import { layerSensitivity, type LayerSensitivity } from './view';

/** What `compress` starts from: a loaded causal LM, its decoder, or an analysis made earlier (no new SVDs). */
export type CompressSource = LlamaModel | { model: LlamaModel } | LorcAnalysis;

export interface CompressOptions {
  /** 'progressive' (Eq. 5.13, default) or 'uniform' (one rank for every compressed layer, the baseline). */
  schedule?: 'progressive' | 'uniform';
  /** Which layers stay uncompressed (Algorithm 3 line 7); default `DEFAULT_SKIP`. */
  skip?: SkipRule;
  /** Lowest rank the progressive schedule may give a layer (default ⌈d_max/16⌉). */
  minRank?: number;
  /** Folder for the on-disk cache of the SVDs (keyed by a fingerprint of the weights); default: none. */
  cacheDir?: string;
  /** Progress of the SVDs (see `AnalyseOptions.onProgress`), e.g. `progress({ label: 'SVDs' }).set`. */
  onProgress?: (done: number, total: number) => void;
  /** How the cache is built: value mode, which projections are compressed (see `buildCache`). */
  cache?: BuildCacheOptions;
}

/** The result of `compress`: the cache and everything it was made from. */
export interface CompressedLorc {
  /** The decomposition of every layer (reuse it: `compress(result.analysis, otherTarget)`). */
  analysis: LorcAnalysis;
  /** The ranks per layer, with the skip rule that made them. */
  schedule: RankSchedule;
  /** The compressed KV cache, ready for `generate({ cache })` or `perplexityWith`. */
  cache: LowRankKVCache;
  /** Per-layer κ, ln κ̃, rank, reconstruction errors and spectra (`widgets.sensitivityView(report)`). */
  report: LayerSensitivity;
  /** A fresh, empty cache with the same schedule and options (a cache holds one sequence's keys). */
  newCache(): LowRankKVCache;
}

function isAnalysis(source: CompressSource): source is LorcAnalysis {
  return Array.isArray((source as LorcAnalysis).kappas) && Array.isArray((source as LorcAnalysis).layers);
}

function decoderOf(source: CompressSource): LlamaModel {
  const m = (source as { model?: unknown }).model;
  const model = (m ?? source) as LlamaModel;
  if (
    !model ||
    typeof model !== 'object' ||
    typeof (model as { attentionWeights?: unknown }).attentionWeights !== 'function'
  )
    throw new ValueError(
      'lorc.compress: expected a causal LM (models.loadCausalLM), its .model, or a lorc.analyse result',
    );
  return model;
}

/**
 * Compresses a model's KV cache to an overall `target` ratio (fraction of K/V cache bytes removed, Eq. 5.4
 * summed over layers) with LoRC's progressive schedule (Algorithm 3, Eq. 5.13) or the uniform baseline.
 */
export function compress(
  source: CompressSource,
  target: number,
  options: CompressOptions = {},
): CompressedLorc {
  if (source === null || typeof source !== 'object')
    throw new ValueError(`lorc.compress: expected a model or an analysis, got ${String(source)}`);
  if (typeof target !== 'number' || !(target >= 0 && target < 1))
    throw new ValueError(`lorc.compress: target ${String(target)} must be a compression ratio in [0, 1)`);
  if (options === null || typeof options !== 'object')
    throw new ValueError(`lorc.compress: options must be an object, got ${String(options)}`);
  const kind = options.schedule ?? 'progressive';
  if (kind !== 'progressive' && kind !== 'uniform')
    throw new ConfigError(`lorc.compress: schedule "${String(kind)}" is neither 'progressive' nor 'uniform'`);
  let analysis: LorcAnalysis;
  if (isAnalysis(source)) {
    if (options.cacheDir !== undefined)
      throw new ConfigError(
        'lorc.compress: options.cacheDir applies to a model, not to an existing analysis',
      );
    analysis = source;
  } else {
    const { shape, weights } = modelAttention(decoderOf(source));
    analysis = analyse(shape, weights, { cacheDir: options.cacheDir, onProgress: options.onProgress });
  }
  if (kind === 'uniform' && options.minRank !== undefined)
    throw new ConfigError('lorc.compress: minRank applies to the progressive schedule only');
  const skip = options.skip ?? DEFAULT_SKIP;
  const schedule =
    kind === 'progressive'
      ? progressiveSchedule(analysis.kappas, analysis.dMax, target, skip, options.minRank)
      : uniformSchedule(analysis.kappas, analysis.dMax, target, skip);
  const cacheOptions = options.cache ?? {};
  const newCache = (): LowRankKVCache => buildCache(analysis, schedule, cacheOptions);
  return { analysis, schedule, cache: newCache(), report: layerSensitivity(analysis, schedule), newCache };
}
