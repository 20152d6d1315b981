/**
 * Compressed dimensions per layer: the progressive schedule (Eq. 5.13, Algorithm 3) and the uniform
 * baseline at the same overall budget.
 *
 * Conventions. `dMax` is the full K/V width h_kv·d of one layer (192 for SmolLM2-135M). A layer's rank
 * is the number of kept singular triplets d_c^l, used for both W_k and W_v (Algorithm 3 lines 10-13);
 * a skipped layer keeps its full cache (rank = dMax, flagged `skipped`). The overall compression ratio
 * is 1 − Σ_l d_c^l / (L·dMax): the fraction of K/V cache bytes removed (Eq. 5.4 per layer).
 *
 * The skip threshold (Algorithm 3 line 7). The thesis compares κ̃_l with 30 (LLaMA-3-8B) or 90
 * (LLaMA-2-13B, LLaMA-3-70B). Over 30 layers the raw product is ~1e68 for SmolLM2 (and similar for
 * any deep model), so those numbers cannot be meant for it. We compare the threshold with the
 * normalised log sensitivity s_l ∈ [0, 1] (`normalisedSensitivity`), the same quantity Eq. 5.13 scales
 * ranks by, so one threshold means the same thing for any depth or model: skip layer l when s_l > τ.
 * The default τ = 0.9 (the most sensitive tenth of the log range, which for SmolLM2 is layers 0-2) was
 * fixed before looking at any evaluation text. `{ kind: 'none' }` disables skipping,
 * `{ kind: 'layerKappa', above }` instead skips layers whose own κ(W_k)·κ(W_v) exceeds a value,
 * and `{ kind: 'firstLayers', count }` skips a fixed prefix.
 */
import { ConfigError, ValueError } from '../../errors';
import type { ScheduleKind } from '../../protocol/sensitivity';
import { logCumulativeKappa, normalisedSensitivity, type LayerKappa } from './sensitivity';

export type SkipRule =
  | { kind: 'none' }
  | { kind: 'normalised'; above: number }
  | { kind: 'layerKappa'; above: number }
  | { kind: 'firstLayers'; count: number };

export const DEFAULT_SKIP: SkipRule = { kind: 'normalised', above: 0.9 };

export interface RankSchedule {
  /** 'progressive' (Eq. 5.13) or 'uniform' (same rank for every compressed layer) or 'custom'. */
  kind: ScheduleKind;
  /** Kept rank per layer (dMax for skipped or untouched layers). */
  ranks: number[];
  /** The skip rule the schedule was made with (Algorithm 3 line 7); `skipped` is its outcome. */
  skipRule: SkipRule;
  /** Layers left uncompressed by the skip rule. */
  skipped: boolean[];
  /** Full width of one layer's K (= V) cache. */
  dMax: number;
  /** d_min that Eq. 5.13 was evaluated with (progressive only). */
  dMin?: number;
  /** The top of Eq. 5.13's range actually used (= dMax unless phase 2 lowered it; progressive only). */
  top?: number;
  /** Requested overall compression ratio. */
  target: number;
  /** Achieved overall compression ratio 1 − Σ ranks / (L·dMax). */
  achieved: number;
}

/** Wrong-typed arguments from a cell (plain objects, `as any`) fail here with the project's errors. */
function checkInputs(kappas: readonly LayerKappa[], dMax: number): void {
  if (!Array.isArray(kappas) || kappas.length === 0)
    throw new ValueError(
      `rank schedule: kappas must be a non-empty array of { kappaK, kappaV }, got ${String(kappas)}`,
    );
  if (typeof dMax !== 'number' || !Number.isInteger(dMax) || dMax < 1)
    throw new ValueError(`rank schedule: d_max must be a positive integer, got ${String(dMax)}`);
}

/** Which layers Algorithm 3 (line 7) leaves uncompressed under a skip rule. */
export function skippedLayers(kappas: readonly LayerKappa[], rule: SkipRule = DEFAULT_SKIP): boolean[] {
  checkInputs(kappas, 1);
  const L = kappas.length;
  const kind = (rule as { kind?: unknown } | null)?.kind;
  if (!['none', 'normalised', 'layerKappa', 'firstLayers'].includes(kind as string))
    throw new ConfigError(
      `skip rule ${JSON.stringify(rule)}: kind must be 'none', 'normalised', 'layerKappa' or 'firstLayers'`,
    );
  switch (rule.kind) {
    case 'none':
      return new Array<boolean>(L).fill(false);
    case 'normalised': {
      if (!(rule.above >= 0 && rule.above <= 1))
        throw new ValueError(`skip rule 'normalised': threshold ${rule.above} must lie in [0, 1]`);
      return normalisedSensitivity(logCumulativeKappa(kappas)).map((s) => s > rule.above);
    }
    case 'layerKappa':
      if (!(rule.above >= 1))
        throw new ValueError(`skip rule 'layerKappa': threshold ${rule.above} must be ≥ 1`);
      return kappas.map((k) => k.kappaK * k.kappaV > rule.above);
    case 'firstLayers':
      if (!Number.isInteger(rule.count) || rule.count < 0 || rule.count > L)
        throw new ValueError(`skip rule 'firstLayers': count ${rule.count} outside 0..${L}`);
      return kappas.map((_, l) => l < rule.count);
  }
}

/**
 * Eq. 5.13 as written, unrounded: d_c^l = d_max·[1 − (max ln κ̃ − ln κ̃_l)/(max ln κ̃ − min ln κ̃)·(1 − d_min/d_max)].
 * When every layer has the same κ̃ the fraction is taken as 0 (every layer keeps d_max).
 */
export function progressiveDims(logCum: readonly number[], dMax: number, dMin: number): number[] {
  if (!(dMax > 0)) throw new ValueError(`progressiveDims: d_max ${dMax} must be positive`);
  if (!(dMin >= 0 && dMin <= dMax))
    throw new ValueError(`progressiveDims: d_min ${dMin} outside [0, d_max = ${dMax}]`);
  const s = normalisedSensitivity(logCum);
  return s.map((sl) => dMax * (1 - (1 - sl) * (1 - dMin / dMax)));
}

/** Overall compression ratio 1 − Σ ranks / (L·dMax) of a rank list. Eq. 5.4 summed over layers. */
export function overallCompression(ranks: readonly number[], dMax: number): number {
  if (ranks.length === 0) throw new ValueError('overallCompression: no layers');
  let kept = 0;
  for (const r of ranks) kept += r;
  return 1 - kept / (ranks.length * dMax);
}

function checkTarget(target: number): void {
  if (typeof target !== 'number' || !(target >= 0 && target < 1))
    throw new ValueError(`target compression ratio ${target} must lie in [0, 1)`);
}

function withSkips(dims: readonly number[], skipped: readonly boolean[], dMax: number): number[] {
  return dims.map((d, l) => (skipped[l] ? dMax : Math.max(1, Math.min(dMax, Math.round(d)))));
}

/**
 * Progressive schedule (Algorithm 3 with Eq. 5.13) meeting an overall compression target.
 *
 * Phase 1 (the thesis's recipe): d_max = the full width and d_min is solved by bisection as the
 * largest value whose rounded ranks still remove at least `target` of the cache (achieved ≥ target,
 * as close as integer ranks allow).
 *
 * Phase 2 (our extension, documented because it departs from the text): Eq. 5.13 interpolates
 * linearly in ln κ̃ between d_max and d_min, so when ln κ̃ falls about linearly with depth (as it does
 * for SmolLM2) the mean rank is ≈ (d_max + d_min)/2 and no d_min can remove much more than half of
 * the cache. If phase 1 would need d_min below `minRank`, d_min is held at `minRank` and the top of
 * the range d_max is lowered instead (bisection again), keeping the progressive shape. `minRank`
 * defaults to ⌈width/16⌉ (12 of 192), fixed a priori. Throws when even d_max = d_min = minRank
 * cannot reach the target.
 */
export function progressiveSchedule(
  kappas: readonly LayerKappa[],
  dMax: number,
  target: number,
  skip: SkipRule = DEFAULT_SKIP,
  minRank: number = Math.ceil(dMax / 16),
): RankSchedule {
  checkInputs(kappas, dMax);
  checkTarget(target);
  if (!(minRank >= 1 && minRank <= dMax))
    throw new ValueError(`progressiveSchedule: minRank ${minRank} outside 1..${dMax}`);
  const skipped = skippedLayers(kappas, skip);
  const logCum = logCumulativeKappa(kappas);
  const L = kappas.length;
  const ranksFor = (top: number, dMin: number): number[] =>
    withSkips(progressiveDims(logCum, top, dMin), skipped, dMax);
  if (target === 0) {
    const ranks = new Array<number>(L).fill(dMax);
    return {
      kind: 'progressive',
      ranks,
      skipRule: skip,
      skipped: new Array<boolean>(L).fill(false),
      dMax,
      dMin: dMax,
      target,
      achieved: 0,
    };
  }
  const meets = (r: number[]): boolean => overallCompression(r, dMax) >= target;
  const bisect = (f: (v: number) => number[], lo: number, hi: number): number => {
    // f(v)'s compression is non-increasing in v; return the largest v in [lo, hi] that meets target.
    for (let i = 0; i < 60; i++) {
      const mid = (lo + hi) / 2;
      if (meets(f(mid))) lo = mid;
      else hi = mid;
    }
    return lo;
  };
  if (meets(ranksFor(dMax, minRank))) {
    const dMin = bisect((v) => ranksFor(dMax, v), minRank, dMax);
    const ranks = ranksFor(dMax, dMin);
    return {
      kind: 'progressive',
      ranks,
      skipRule: skip,
      skipped,
      dMax,
      dMin,
      top: dMax,
      target,
      achieved: overallCompression(ranks, dMax),
    };
  }
  if (!meets(ranksFor(minRank, minRank))) {
    throw new ValueError(
      `progressiveSchedule: target ${target} unreachable with ${skipped.filter(Boolean).length} skipped layers and ranks ≥ ${minRank} (best ${overallCompression(ranksFor(minRank, minRank), dMax).toFixed(4)})`,
    );
  }
  const top = bisect((v) => ranksFor(v, minRank), minRank, dMax);
  const ranks = ranksFor(top, minRank);
  return {
    kind: 'progressive',
    ranks,
    skipRule: skip,
    skipped,
    dMax,
    dMin: minRank,
    top,
    target,
    achieved: overallCompression(ranks, dMax),
  };
}

/**
 * Uniform baseline: the same skipped layers, every other layer at one common rank, the largest rank
 * whose overall compression is ≥ target (thesis §5.6.2: "the same refrained layers while applying the
 * uniform compression ratios across compressed layers").
 */
export function uniformSchedule(
  kappas: readonly LayerKappa[],
  dMax: number,
  target: number,
  skip: SkipRule = DEFAULT_SKIP,
): RankSchedule {
  checkInputs(kappas, dMax);
  checkTarget(target);
  const L = kappas.length;
  if (target === 0) {
    return {
      kind: 'uniform',
      ranks: new Array<number>(L).fill(dMax),
      skipRule: skip,
      skipped: new Array<boolean>(L).fill(false),
      dMax,
      target,
      achieved: 0,
    };
  }
  const skipped = skippedLayers(kappas, skip);
  const nSkip = skipped.filter(Boolean).length;
  if (nSkip === L) throw new ValueError('uniformSchedule: every layer is skipped; no budget can be met');
  // Σ ranks ≤ (1 − target)·L·dMax, with nSkip layers at dMax.
  const r = Math.floor(((1 - target) * L * dMax - nSkip * dMax) / (L - nSkip) + 1e-9);
  if (r < 1) {
    throw new ValueError(
      `uniformSchedule: target ${target} unreachable with ${nSkip} skipped layers (rank would be ${r})`,
    );
  }
  const ranks = skipped.map((s) => (s ? dMax : Math.min(dMax, r)));
  return {
    kind: 'uniform',
    ranks,
    skipRule: skip,
    skipped,
    dMax,
    target,
    achieved: overallCompression(ranks, dMax),
  };
}

/** A hand-made schedule (single-layer profiling, shallow-vs-deep): given ranks, dMax elsewhere. */
export function customSchedule(
  L: number,
  dMax: number,
  ranksByLayer: ReadonlyMap<number, number>,
): RankSchedule {
  const ranks = new Array<number>(L).fill(dMax);
  for (const [l, r] of ranksByLayer) {
    if (!Number.isInteger(l) || l < 0 || l >= L)
      throw new ValueError(`customSchedule: layer ${l} outside 0..${L - 1}`);
    if (!Number.isInteger(r) || r < 1 || r > dMax)
      throw new ValueError(`customSchedule: rank ${r} for layer ${l} outside 1..${dMax}`);
    ranks[l] = r;
  }
  const achieved = overallCompression(ranks, dMax);
  return {
    kind: 'custom',
    ranks,
    skipRule: { kind: 'none' },
    skipped: new Array<boolean>(L).fill(false),
    dMax,
    target: achieved,
    achieved,
  };
}
