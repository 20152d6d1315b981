/**
 * Evaluate a list of front configurations on the same windows (paired against the uncompressed model),
 * each with one greedy continuation of a prompt — the loop the notebook and `bench/lorc-front.bench.ts`
 * share. Beyond the thesis (§5.6 reports one perplexity per configuration).
 */
import type { CausalLM } from '../../models/causal-lm';
import { ValueError } from '../../errors';
import { configCache, planConfig, type FrontConfig, type FrontPoint } from './front';
import type { LorcAnalysis } from './model';
import type { WhitenedAnalysis } from './whiten';
import { evaluateCache, type EvalWindows, type WindowScores } from './windows';

/** One evaluated configuration of a front run. */
export interface FrontRow extends FrontPoint {
  keyRatio: number;
  valueRatio: number;
  keyRanks: number[];
  valueRanks: number[];
  /** Per-window NLL (nats), paired with the reference's. */
  nll: number[];
  /** Greedy continuation of the prompt with this cache ('' when no prompt was given). */
  continuation: string;
}

/** Options of `runFront`. */
export interface FrontRunOptions {
  /** Prompt for the greedy continuation of every configuration (omit: none). */
  prompt?: string;
  /** New tokens per continuation (default 24). */
  genTokens?: number;
  /** Called after each configuration with (done, total, name). */
  onProgress?: (done: number, total: number, name: string) => void;
  /** Called after each window of each configuration with (windows done, windows in all). */
  onWindow?: (done: number, total: number) => void;
  /**
   * How the caches read compressed values (see `configCache`). Default 'reconstruct': the perplexities
   * and the bytes held are those of the folded cache (Eq. 5.9; equal within float32 rounding, tested),
   * and on the CPU the decoder's attention kernel plus W_o is several times faster than the folded
   * kernel (measured ≈ 30 s against ≈ 8 s per 128-token window under load). 'fold' to time Eq. 5.9.
   */
  valueMode?: 'fold' | 'reconstruct';
}

/**
 * Evaluate `configs` (each `{ name, bases, schedule, keyRatio, valueRatio }`) on `windows` against the
 * reference scores (score the reference with `keepResidualAt: firstCompressedLayer(...)` so that every
 * configuration starts at its first compressed layer instead of recomputing the layers below it), with the thesis analysis and (for whitened bases) a `whiten` result; returns one row
 * per configuration with bytes per token, perplexity, paired ratio ± SE and the continuation.
 */
export function runFront(
  lm: CausalLM,
  analysis: LorcAnalysis,
  whitened: WhitenedAnalysis | undefined,
  windows: EvalWindows,
  reference: WindowScores,
  configs: readonly (FrontConfig & { family?: string })[],
  opts: FrontRunOptions = {},
): FrontRow[] {
  if (!Array.isArray(configs) || configs.length === 0) throw new ValueError('runFront: no configurations');
  const rows: FrontRow[] = [];
  const valueMode = opts.valueMode ?? 'reconstruct';
  const nW = windows.windows.length;
  configs.forEach((cfg, i) => {
    const plan = planConfig(analysis, cfg);
    const mk = (): ReturnType<typeof configCache> => configCache(analysis, plan, whitened, { valueMode });
    const e = evaluateCache(lm.model, windows, mk, reference, {
      onProgress: (d) => opts.onWindow?.(i * nW + d, configs.length * nW),
    });
    const continuation = opts.prompt
      ? lm.generate(opts.prompt, { maxNewTokens: opts.genTokens ?? 24, stopAtEos: false, cache: mk() }).text
      : '';
    rows.push({
      name: cfg.name,
      family: cfg.family ?? cfg.name,
      removed: plan.removed,
      bytesPerToken: plan.bytesPerToken,
      ppl: e.ppl,
      ratio: e.ratio,
      se: e.se,
      ci95: e.ci95,
      keyRatio: cfg.keyRatio,
      valueRatio: cfg.valueRatio,
      keyRanks: plan.keyRanks,
      valueRanks: plan.valueRanks,
      nll: e.nll,
      continuation,
    });
    opts.onProgress?.(i + 1, configs.length, cfg.name);
  });
  return rows;
}

/**
 * The standard families of the front at overall ratios `ratios`: thesis SVD progressive and uniform
 * (both sides), whitened uniform and progressive (both sides), whitened keys-only (same overall bytes).
 */
export function frontFamilies(
  ratios: readonly number[],
  thesisRatios: readonly number[] = ratios,
): (FrontConfig & { family: string })[] {
  const pct = (r: number): string => `${Math.round(r * 1000) / 10}%`;
  const out: (FrontConfig & { family: string })[] = [];
  const add = (
    family: string,
    bases: 'svd' | 'whitened',
    schedule: 'progressive' | 'uniform',
    rs: readonly number[],
    keysOnly = false,
  ): void => {
    for (const r of rs)
      out.push({
        family,
        name: `${family} ${pct(r)}`,
        bases,
        schedule,
        keyRatio: keysOnly ? Math.round(2 * r * 1e6) / 1e6 : r,
        valueRatio: keysOnly ? 0 : r,
      });
  };
  add('thesis SVD progressive', 'svd', 'progressive', thesisRatios);
  add('thesis SVD uniform', 'svd', 'uniform', thesisRatios);
  add('whitened uniform', 'whitened', 'uniform', ratios);
  add('whitened progressive', 'whitened', 'progressive', ratios);
  add(
    'whitened keys-only',
    'whitened',
    'uniform',
    ratios.filter((r) => 2 * r < 1),
    true,
  );
  return out;
}
