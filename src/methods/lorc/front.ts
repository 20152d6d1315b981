/**
 * Configurations for a KV-bytes / perplexity front: which bases (the thesis's weight SVD or the
 * data-aware ones of `whiten`), which schedule (Eq. 5.13 progressive or uniform), and separate key and
 * value budgets (asymmetric; keys-only is valueRatio = 0). Plus the front itself and the "best within
 * x % perplexity increase" reading.
 *
 * Budgets. `keyRatio` is the fraction of the KEY cache removed, `valueRatio` that of the VALUE cache;
 * each side gets its own schedule (same skip rule). The overall ratio, the thesis's compression ratio,
 * is 1 − Σ_l (r_k,l + r_v,l) / (2·L·d_max) (Eq. 5.4 summed over layers and both halves).
 */
import { ConfigError, ShapeError, ValueError } from '../../errors';
import { LowRankKVCache, type LowRankLayer } from './cache';
import { rightBasis } from './decompose';
import { foldOutputProjection, type LorcAnalysis } from './model';
import { DEFAULT_SKIP, progressiveSchedule, uniformSchedule, type SkipRule } from './schedule';
import { leadingColumns, type WhitenedAnalysis } from './whiten';
import { ropeInvFreq } from '../../ops';

/** One point to evaluate. */
export interface FrontConfig {
  /** Label for tables and plots. */
  name: string;
  /** 'svd': the thesis's weight SVD (Eq. 5.6, 5.8); 'whitened': data-aware bases (`whiten`). */
  bases: 'svd' | 'whitened';
  /** Rank schedule per side: Eq. 5.13 ('progressive') or one rank for every compressed layer. */
  schedule: 'progressive' | 'uniform';
  /** Fraction of the key cache removed (0: keys held in full). */
  keyRatio: number;
  /** Fraction of the value cache removed (0: values held in full). */
  valueRatio: number;
  /** Layers left whole (Algorithm 3 line 7); default `DEFAULT_SKIP`. */
  skip?: SkipRule;
}

/** A configuration with its ranks and bytes. */
export interface PlannedConfig extends FrontConfig {
  /** Kept key rank per layer (d_max = whole). */
  keyRanks: number[];
  /** Kept value rank per layer. */
  valueRanks: number[];
  /** Fraction of K/V cache bytes removed overall (Eq. 5.4). */
  removed: number;
  /** K/V bytes per token over all layers, float32 (Eq. 5.4 with b = N = 1). */
  bytesPerToken: number;
}

function sideRanks(an: LorcAnalysis, cfg: FrontConfig, ratio: number, side: string): number[] {
  if (typeof ratio !== 'number' || !(ratio >= 0 && ratio < 1))
    throw new ValueError(`front config "${cfg.name}": ${side} ratio ${String(ratio)} must lie in [0, 1)`);
  if (ratio === 0) return new Array<number>(an.layers.length).fill(an.dMax);
  const skip = cfg.skip ?? DEFAULT_SKIP;
  if (cfg.schedule === 'progressive') return progressiveSchedule(an.kappas, an.dMax, ratio, skip).ranks;
  if (cfg.schedule === 'uniform') return uniformSchedule(an.kappas, an.dMax, ratio, skip).ranks;
  throw new ConfigError(
    `front config "${cfg.name}": schedule "${String(cfg.schedule)}" is neither 'progressive' nor 'uniform'`,
  );
}

/** Ranks and bytes of a configuration (schedules from the thesis's κ, Eqs. 5.10-5.13). */
export function planConfig(analysis: LorcAnalysis, cfg: FrontConfig): PlannedConfig {
  if (!cfg || typeof cfg !== 'object')
    throw new ValueError(`planConfig: expected a FrontConfig, got ${String(cfg)}`);
  if (cfg.bases !== 'svd' && cfg.bases !== 'whitened')
    throw new ConfigError(
      `front config "${cfg.name}": bases "${String(cfg.bases)}" is neither 'svd' nor 'whitened'`,
    );
  const keyRanks = sideRanks(analysis, cfg, cfg.keyRatio, 'key');
  const valueRanks = sideRanks(analysis, cfg, cfg.valueRatio, 'value');
  const kept = keyRanks.reduce((a, b) => a + b, 0) + valueRanks.reduce((a, b) => a + b, 0);
  return {
    ...cfg,
    keyRanks,
    valueRanks,
    removed: 1 - kept / (2 * analysis.layers.length * analysis.dMax),
    bytesPerToken: kept * 4,
  };
}

/**
 * A LoRC cache for a planned configuration: per layer the key basis (first r_k right singular vectors of
 * W_k, or of the whitened Sᵀ W_k) and the value factors (thesis: V_v,c both ways, Eq. 5.8; whitened:
 * Down/Up of `whiten`), values folded into W_o (Eq. 5.9; `valueMode: 'fold'`, the default) or read back
 * as C_v·Upᵀ before the model's own attention (`'reconstruct'`: the same numbers, the same bytes held,
 * a different order of products). A side at rank d_max is held whole.
 */
export function configCache(
  analysis: LorcAnalysis,
  plan: PlannedConfig,
  whitened?: WhitenedAnalysis,
  opts: { valueMode?: 'fold' | 'reconstruct' } = {},
): LowRankKVCache {
  const valueMode = opts.valueMode ?? 'fold';
  if (valueMode !== 'fold' && valueMode !== 'reconstruct')
    throw new ConfigError(
      `configCache("${plan.name}"): valueMode "${String(valueMode)}" is neither 'fold' nor 'reconstruct'`,
    );
  if (plan.bases === 'whitened' && !whitened)
    throw new ConfigError(`configCache("${plan.name}"): whitened bases need a whiten(...) result`);
  const L = analysis.layers.length;
  if (
    plan.keyRanks.length !== L ||
    plan.valueRanks.length !== L ||
    (whitened && whitened.layers.length !== L)
  )
    throw new ShapeError(`configCache("${plan.name}"): ranks or bases do not cover the model's ${L} layers`);
  const { shape, dMax } = analysis;
  const layers: LowRankLayer[] = analysis.layers.map((dec, l) => {
    const rk = plan.keyRanks[l];
    const rv = plan.valueRanks[l];
    const w = plan.bases === 'whitened' ? whitened!.layers[l] : undefined;
    const keyBasis = rk >= dMax ? null : w ? leadingColumns(w.key.basis, rk) : rightBasis(dec.key, rk);
    if (rv >= dMax) return { keyBasis, valueBasis: null };
    const valueBasis = w ? leadingColumns(w.value.down, rv) : rightBasis(dec.value, rv);
    const valueUp = w ? leadingColumns(w.value.upT, rv) : valueBasis;
    return {
      keyBasis,
      valueBasis,
      valueUp,
      foldedOutput:
        valueMode === 'fold'
          ? foldOutputProjection(valueUp, analysis.weights[l].wo, shape.numHeads, shape.numKvHeads)
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
  });
}

/** An evaluated configuration. */
export interface FrontPoint {
  name: string;
  /** Family for grouping on a plot (e.g. 'thesis SVD progressive'). */
  family: string;
  removed: number;
  bytesPerToken: number;
  ppl: number;
  /** ppl / uncompressed ppl on the same windows. */
  ratio: number;
  /** Paired standard error of `ratio` across windows. */
  se: number;
  ci95: [number, number];
}

/** The points no other point beats on both bytes (≤) and perplexity ratio (≤, one strictly), by bytes. */
export function paretoFront<P extends Pick<FrontPoint, 'bytesPerToken' | 'ratio'>>(
  points: readonly P[],
): P[] {
  const front = points.filter(
    (p) =>
      !points.some(
        (q) =>
          q !== p &&
          q.bytesPerToken <= p.bytesPerToken &&
          q.ratio <= p.ratio &&
          (q.bytesPerToken < p.bytesPerToken || q.ratio < p.ratio),
      ),
  );
  return [...front].sort((a, b) => a.bytesPerToken - b.bytesPerToken);
}

/**
 * The configuration with the fewest bytes whose perplexity increase ratio − 1 is at most `maxIncrease`
 * (point estimate; `confident` says whether the upper 95 % bound is within it too), or undefined.
 */
export function bestWithin<P extends Pick<FrontPoint, 'bytesPerToken' | 'ratio' | 'ci95'>>(
  points: readonly P[],
  maxIncrease: number,
): { point: P; confident: boolean } | undefined {
  if (!(maxIncrease >= 0)) throw new ValueError(`bestWithin: maxIncrease ${maxIncrease} must be ≥ 0`);
  const ok = points.filter((p) => p.ratio - 1 <= maxIncrease);
  if (ok.length === 0) return undefined;
  const point = ok.reduce((a, b) =>
    b.bytesPerToken < a.bytesPerToken || (b.bytesPerToken === a.bytesPerToken && b.ratio < a.ratio) ? b : a,
  );
  return { point, confident: point.ci95[1] - 1 <= maxIncrease };
}

/**
 * The first layer any of `configs` compresses (keys or values below d_max), the number of layers when
 * none does: every configuration leaves the layers below it whole, so a reference scoring can keep the
 * residual entering it (`scoreWindows(…, { keepResidualAt })`) and each configuration start there.
 */
export function frontStartLayer(analysis: LorcAnalysis, configs: readonly FrontConfig[]): number {
  let first = analysis.layers.length;
  for (const cfg of configs) {
    const p = planConfig(analysis, cfg);
    const l = p.keyRanks.findIndex((r, i) => r < analysis.dMax || p.valueRanks[i] < analysis.dMax);
    if (l >= 0) first = Math.min(first, l);
  }
  return first;
}
