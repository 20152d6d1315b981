/**
 * Evaluation that can decide between two KV caches: perplexity over many fixed, non-overlapping windows
 * of held-out text, with the paired standard error of the perplexity ratio across windows.
 *
 * Why windows: one 128-token window is one sample. On SmolLM2 the uncompressed perplexity of different
 * 128-token windows of AG News ranges from under 20 to over 150, and the ratio of a compressed cache to
 * the full one varies almost as much, so a single window cannot rank two configurations. Scoring the
 * same windows with both caches and taking the per-window difference of mean NLL removes most of the
 * window-to-window variation (a paired design).
 *
 * Definitions (each window w has T tokens, scored from its second token, so T − 1 predictions):
 *   nll_w     mean negative log-likelihood of window w (nats per token)
 *   ppl       exp(mean_w nll_w)       (= the token-level perplexity, since every window scores T − 1 tokens)
 *   d_w       nll_w(config) − nll_w(reference)
 *   ratio     exp(mean_w d_w) = ppl(config) / ppl(reference)
 *   se        ratio · sd(d_w) / √n    (delta method on exp; sd with n − 1)
 *   ci95      exp(mean d ± 1.96 · sd(d)/√n)
 * The thesis reports one perplexity per configuration (§5.6); the paired error bar is our addition.
 */
import type { KVCache } from '../../models/kv-cache';
import type { LlamaModel } from '../../models/llama';
import type { TextTokenizer } from '../../models/tokenizer';
import { loadAgNews } from '../../data';
import { Tensor } from '../../ops';
import { ShapeError, ValueError } from '../../errors';
import { meanNll } from './evaluate';
import { LowRankKVCache } from './cache';

/** Token windows of a named text: the unit an evaluation is paired over. */
export interface EvalWindows {
  /** What the tokens are (text, rows, how they were joined), for records and tables. */
  text: string;
  /** Tokens per window (each window scores `size − 1` predictions). */
  size: number;
  /** The windows, each exactly `size` token ids. */
  windows: number[][];
}

/**
 * Cut ids into `count` consecutive non-overlapping windows of `size` tokens (the tail that does not
 * fill a window is dropped). Throws when the text is too short.
 */
export function fixedWindows(
  ids: readonly number[],
  size: number,
  count: number,
  text = 'tokens',
): EvalWindows {
  if (!Number.isInteger(size) || size < 2)
    throw new ValueError(`fixedWindows: window size ${size} must be ≥ 2`);
  if (!Number.isInteger(count) || count < 1)
    throw new ValueError(`fixedWindows: window count ${count} must be ≥ 1`);
  if (ids.length < size * count)
    throw new ShapeError(
      `fixedWindows: ${text} has ${ids.length} tokens, ${count} windows of ${size} need ${size * count}`,
    );
  const windows = Array.from({ length: count }, (_, w) => ids.slice(w * size, (w + 1) * size));
  return { text, size, windows };
}

/** Which AG News test rows a text is made of, and how many tokens of it are cut into windows. */
export interface AgNewsTextSpec {
  /** First row (0-based, in file order of ag_news/test.csv). */
  firstRow: number;
  /** One past the last row. */
  endRow: number;
  /** Tokens per window. */
  windowSize: number;
  /** Number of windows. */
  windows: number;
}

/**
 * Held-out evaluation text used throughout LoRC: AG News test descriptions of rows 7200-7599 (the last
 * 400 rows, as the older single-window evaluation), joined by newlines, 32 windows of 128 tokens.
 */
export const EVAL_TEXT: AgNewsTextSpec = { firstRow: 7200, endRow: 7600, windowSize: 128, windows: 32 };
/**
 * Calibration text for the data-aware (whitened) bases: AG News test descriptions of rows 0-599, disjoint
 * from `EVAL_TEXT`, 32 windows of 128 tokens.
 */
export const CALIBRATION_TEXT: AgNewsTextSpec = { firstRow: 0, endRow: 600, windowSize: 128, windows: 32 };

/** Two row ranges overlap (a calibration text must not overlap the evaluation text). */
export function rowsOverlap(a: AgNewsTextSpec, b: AgNewsTextSpec): boolean {
  return a.firstRow < b.endRow && b.firstRow < a.endRow;
}

/** The windows of an AG News text spec, tokenized with the model's tokenizer. */
export function agNewsWindows(tokenizer: TextTokenizer, spec: AgNewsTextSpec): EvalWindows {
  const rows = loadAgNews();
  if (!(spec.firstRow >= 0 && spec.endRow <= rows.length && spec.firstRow < spec.endRow))
    throw new ValueError(
      `agNewsWindows: rows ${spec.firstRow}-${spec.endRow - 1} outside the ${rows.length} rows of ag_news/test.csv`,
    );
  const ids = tokenizer.encode(
    rows
      .slice(spec.firstRow, spec.endRow)
      .map((r) => r.description)
      .join('\n'),
  );
  const name =
    `AG News test descriptions, rows ${spec.firstRow}-${spec.endRow - 1} joined by newlines, ` +
    `first ${spec.windows * spec.windowSize} tokens in ${spec.windows} windows of ${spec.windowSize}`;
  return fixedWindows(ids, spec.windowSize, spec.windows, name);
}

/**
 * The uncompressed model's residual stream entering layer `layer`, one tensor [T, hidden] per window,
 * kept by a reference scoring so compressed configurations can start there.
 */
export interface WindowResiduals {
  /** The layer the residuals enter. */
  layer: number;
  /** The token ids of each window (a residual is only reused for exactly these ids). */
  ids: number[][];
  /** Residual per window. */
  x: Tensor[];
}

/** Per-window mean NLL of one cache configuration. */
export interface WindowScores {
  /** Mean NLL (nats/token) of each window, in window order. */
  nll: number[];
  /** exp(mean nll): perplexity over all scored tokens. */
  ppl: number;
  /** Tokens scored (Σ (size − 1)). */
  tokens: number;
  /** The full model's residuals entering a layer (reference scoring with `keepResidualAt` only). */
  residuals?: WindowResiduals;
}

/** Options of `scoreWindows`. */
export interface ScoreOptions {
  /** Called after each window with (done, total); e.g. a progress bar's `set`. */
  onProgress?: (done: number, total: number) => void;
  /**
   * Reference scoring only (no `newCache`): keep each window's residual stream entering this layer.
   * `evaluateCache` then starts every LoRC cache that holds the layers below it whole from there,
   * instead of recomputing layers whose output the compression cannot change (same numbers).
   */
  keepResidualAt?: number;
  /** Residuals of a reference scoring to start from (set by `evaluateCache`). */
  resumeFrom?: WindowResiduals;
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * The layer a window can start at: the residual's layer when `resume` holds this window's ids and the
 * cache is a LoRC cache whose layers below that one are held whole (their keys and values, hence the
 * residual after them, equal the full model's); else 0.
 */
function startLayer(cache: KVCache, ids: readonly number[], w: number, resume?: WindowResiduals): number {
  if (!resume || !(cache instanceof LowRankKVCache)) return 0;
  if (w >= resume.ids.length || !sameIds(resume.ids[w], ids)) return 0;
  return cache.firstCompressedLayer() >= resume.layer ? resume.layer : 0;
}

/**
 * Score every window with a fresh cache from `newCache` (the model's own full cache when omitted): one
 * prefill per window, logits of every position, mean NLL from the second token (the perplexity of
 * §5.6, per window). With `opts.resumeFrom`, a window starts at the residual kept for it when the
 * cache leaves the layers below it uncompressed (see `startLayer`).
 */
export function scoreWindows(
  model: LlamaModel,
  windows: EvalWindows,
  newCache?: () => KVCache,
  opts: ScoreOptions = {},
): WindowScores {
  if (!windows || !Array.isArray(windows.windows) || windows.windows.length === 0)
    throw new ValueError('scoreWindows: no windows to score');
  const L = model.config.numLayers;
  const keep = opts.keepResidualAt;
  if (keep !== undefined) {
    if (newCache)
      throw new ValueError('scoreWindows: keepResidualAt keeps the full model’s residuals; omit newCache');
    if (!Number.isInteger(keep) || keep < 0 || keep > L)
      throw new ValueError(`scoreWindows: keepResidualAt ${keep} outside 0..${L}`);
  }
  const nll: number[] = [];
  const kept: Tensor[] = [];
  windows.windows.forEach((ids, i) => {
    const cache = newCache ? newCache() : model.createCache();
    if (cache.length(0) !== 0) throw new ValueError('scoreWindows: newCache() must return an empty cache');
    let logits: Tensor;
    const from = startLayer(cache, ids, i, opts.resumeFrom);
    if (keep !== undefined) {
      if (ids.length > model.config.contextLength)
        throw new ShapeError(
          `scoreWindows: window ${i} has ${ids.length} tokens, context is ${model.config.contextLength}`,
        );
      const x = model.runLayers(model.embedTokens(ids), 0, keep, cache);
      kept.push(x);
      logits = model.head(model.runLayers(x, keep, L, cache), 'all').logits as Tensor;
    } else if (from > 0) {
      logits = model.head(model.runLayers(opts.resumeFrom!.x[i], from, L, cache), 'all').logits as Tensor;
    } else {
      logits = model.forward(ids, cache, { logits: 'all' }).logits as Tensor;
    }
    nll.push(meanNll(logits, ids));
    opts.onProgress?.(i + 1, windows.windows.length);
  });
  const mean = nll.reduce((a, b) => a + b, 0) / nll.length;
  return {
    nll,
    ppl: Math.exp(mean),
    tokens: windows.windows.reduce((a, w) => a + w.length - 1, 0),
    ...(keep !== undefined
      ? { residuals: { layer: keep, ids: windows.windows.map((w) => [...w]), x: kept } }
      : {}),
  };
}

/** A configuration's perplexity against a reference on the same windows, with its paired error bar. */
export interface PairedRatio {
  /** Perplexity of the configuration. */
  ppl: number;
  /** Perplexity of the reference (e.g. the uncompressed model). */
  refPpl: number;
  /** ppl / refPpl = exp(mean of the per-window NLL differences). */
  ratio: number;
  /**
   * Standard error of `ratio` across windows (paired, delta method). NaN for a single window: one
   * window gives no spread to estimate it from (see `formatRatio`, which shows "n/a (1 window)").
   */
  se: number;
  /** 95 % interval of the ratio, exp(mean d ± 1.96 se_d) (NaN bounds for a single window). */
  ci95: [number, number];
  /** Per-window NLL differences d_w = nll_w − ref_w (nats). */
  windows: number[];
}

/** The paired perplexity ratio of `scores` against `reference` over the same windows (see file comment). */
export function pairedRatio(
  scores: WindowScores | readonly number[],
  reference: WindowScores | readonly number[],
): PairedRatio {
  const a = Array.isArray(scores) ? (scores as readonly number[]) : (scores as WindowScores).nll;
  const b = Array.isArray(reference) ? (reference as readonly number[]) : (reference as WindowScores).nll;
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length || a.length === 0)
    throw new ShapeError(
      `pairedRatio: ${a?.length ?? 'no'} windows against ${b?.length ?? 'no'} reference windows (need the same, ≥ 1)`,
    );
  const n = a.length;
  const d = a.map((x, i) => x - b[i]);
  if (d.some((x) => !Number.isFinite(x))) throw new ValueError('pairedRatio: a window NLL is not finite');
  const md = d.reduce((s, x) => s + x, 0) / n;
  const sd = n > 1 ? Math.sqrt(d.reduce((s, x) => s + (x - md) ** 2, 0) / (n - 1)) : NaN;
  const seD = sd / Math.sqrt(n);
  const ratio = Math.exp(md);
  const mean = (xs: readonly number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  return {
    ppl: Math.exp(mean(a)),
    refPpl: Math.exp(mean(b)),
    ratio,
    se: ratio * seD,
    ci95: [Math.exp(md - 1.96 * seD), Math.exp(md + 1.96 * seD)],
    windows: d,
  };
}

/** The result of `evaluateCache`: perplexity, paired ratio to the reference, its SE, and per-window data. */
export interface WindowedEvaluation extends PairedRatio {
  /** Window size and text, so a record names what was scored. */
  text: string;
  windowSize: number;
  tokens: number;
  /** Per-window NLL of the configuration. */
  nll: number[];
}

/**
 * Perplexity of a cache configuration over fixed windows, paired against reference scores on the same
 * windows (e.g. `scoreWindows(model, w)` with the full cache): returns {ppl, ratio, se, windows, …}.
 */
export function evaluateCache(
  model: LlamaModel,
  windows: EvalWindows,
  newCache: () => KVCache,
  reference: WindowScores,
  opts: ScoreOptions = {},
): WindowedEvaluation {
  if (reference.nll.length !== windows.windows.length)
    throw new ShapeError(
      `evaluateCache: the reference scored ${reference.nll.length} windows, these are ${windows.windows.length}`,
    );
  const s = scoreWindows(model, windows, newCache, {
    ...opts,
    resumeFrom: opts.resumeFrom ?? reference.residuals,
  });
  return {
    ...pairedRatio(s, reference),
    text: windows.text,
    windowSize: windows.size,
    tokens: s.tokens,
    nll: s.nll,
  };
}

/**
 * A paired ratio (or any value with its SE) for a table: "1.234 ± 0.012", or "1.234 ± n/a (1 window)"
 * when there is one window. Our decision: the window is the unit of the paired design, so one window
 * has no standard error; a per-token SE is not offered, because consecutive tokens of a window are
 * strongly dependent and such an SE would be far too small.
 */
export function formatRatio(
  p: { ratio: number; se: number; windows: readonly number[] | number },
  format: (x: number) => string = (x) => x.toFixed(4),
): string {
  const n = typeof p.windows === 'number' ? p.windows : p.windows.length;
  return `${format(p.ratio)} ± ${n < 2 || !Number.isFinite(p.se) ? `n/a (${n} window${n === 1 ? '' : 's'})` : format(p.se)}`;
}
