/**
 * The per-iteration table of a finished experiment, read back from its file
 * (`bench/experiments/prboost-agnews-<preset>.json`, written by `bench/prboost-agnews.bench.ts`): for each
 * iteration t, mean ± sd over seeds of D_u coverage and rule accuracy (Fig. 2.3's rule panels), the latest
 * model's and the ensemble's test accuracy (Eq. 2.11), the accepted rules and Fleiss' κ of the pool
 * (Eq. B.1). As rows for `table()`, or as Markdown to paste into a report.
 */
import * as fs from 'node:fs';
import { FileFormatError, NotFoundError } from '../../errors';
import { table, type RichOutput } from '../../display';
import type { PrboostConfig } from './config';
import type { ExperimentResult, SeedOutcome, SummaryRow } from './experiment';
import type { IterationRecord } from './run';

/** What the benchmark writes: the config, the wall time, and the experiment result. */
export interface ExperimentFile extends ExperimentResult {
  config: PrboostConfig;
  seconds: number;
  /** The file it was read from. */
  file: string;
}

/** JSON writes NaN as null; read it back as NaN. */
function n(v: unknown): number {
  return typeof v === 'number' ? v : NaN;
}

/** Reads and checks an experiment file (FileFormatError names what is missing). */
export function loadExperiment(file: string): ExperimentFile {
  if (!fs.existsSync(file)) throw new NotFoundError(`experiment file ${file} does not exist`);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FileFormatError(`experiment file ${file} is not valid JSON (${(e as Error).message})`);
  }
  const o = raw as Partial<ExperimentFile> | null;
  if (typeof o !== 'object' || o === null || !Array.isArray(o.seeds) || o.seeds.length === 0)
    throw new FileFormatError(`experiment file ${file}: no "seeds" array`);
  o.seeds.forEach((s, i) => {
    if (typeof s !== 'object' || s === null || !Array.isArray(s.records) || s.records.length === 0)
      throw new FileFormatError(`experiment file ${file}: seeds[${i}] has no "records"`);
    s.records.forEach((r, j) => {
      if (typeof r?.iteration !== 'number' || typeof r.coverage !== 'number')
        throw new FileFormatError(
          `experiment file ${file}: seeds[${i}].records[${j}] lacks "iteration" or "coverage"`,
        );
    });
  });
  return {
    ...(o as ExperimentFile),
    summary: Array.isArray(o.summary) ? o.summary : [],
    claims: Array.isArray(o.claims) ? o.claims : [],
    seconds: n(o.seconds),
    file,
  };
}

/** Mean ± sd (sample sd; 0 for one value) of the finite values; NaN when there are none. */
export function meanSd(values: readonly number[]): { mean: number; sd: number; n: number } {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return { mean: NaN, sd: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : 0;
  return { mean, sd, n: v.length };
}

/** One iteration of the table: each metric as mean ± sd over the seeds that reached it. */
export interface ExperimentIterationRow {
  iteration: number;
  seeds: number;
  coverage: { mean: number; sd: number };
  ruleAccuracy: { mean: number; sd: number };
  modelAccuracy: { mean: number; sd: number };
  ensembleAccuracy: { mean: number; sd: number };
  /** Rules accepted so far (cumulative) and in this iteration. */
  rules: { mean: number; sd: number };
  acceptedNow: { mean: number; sd: number };
  kappa: { mean: number; sd: number };
  sigma: { mean: number; sd: number };
}

/** The per-iteration rows of an experiment (Fig. 2.3's quantities, mean ± sd over seeds). */
export function experimentIterations(
  result: Pick<ExperimentResult, 'seeds'> | { seeds: readonly Pick<SeedOutcome, 'records'>[] },
): ExperimentIterationRow[] {
  const seeds = result.seeds;
  const last = Math.max(...seeds.map((s) => s.records[s.records.length - 1].iteration));
  const rows: ExperimentIterationRow[] = [];
  for (let t = 0; t <= last; t++) {
    const at = seeds.flatMap((s) => s.records.filter((r) => r.iteration === t));
    if (at.length === 0) continue;
    const pick = (f: (r: IterationRecord) => unknown): { mean: number; sd: number } => {
      const { mean, sd } = meanSd(at.map((r) => n(f(r))));
      return { mean, sd };
    };
    rows.push({
      iteration: t,
      seeds: at.length,
      coverage: pick((r) => r.coverage),
      ruleAccuracy: pick((r) => r.ruleAccuracy),
      modelAccuracy: pick((r) => r.modelAccuracy),
      ensembleAccuracy: pick((r) => r.ensembleAccuracy),
      rules: pick((r) => r.rules),
      acceptedNow: pick((r) => r.acceptedNow),
      kappa: pick((r) => r.kappa),
      sigma: pick((r) => r.sigma),
    });
  }
  return rows;
}

const cell = (v: { mean: number; sd: number }, scale: number, digits: number, sd: boolean): string =>
  Number.isFinite(v.mean)
    ? `${(scale * v.mean).toFixed(digits)}${sd && Number.isFinite(v.sd) ? ` ± ${(scale * v.sd).toFixed(digits)}` : ''}`
    : '–';

/** The rows as strings, one column per metric (percentages for coverage and accuracies). */
export function experimentIterationRows(
  result: Parameters<typeof experimentIterations>[0],
): Record<string, string | number>[] {
  const rows = experimentIterations(result);
  const sd = rows.some((r) => r.seeds > 1);
  return rows.map((r) => ({
    iteration: r.iteration,
    seeds: r.seeds,
    'D_u coverage %': cell(r.coverage, 100, 1, sd),
    'rule acc on D_u %': cell(r.ruleAccuracy, 100, 1, sd),
    'model test acc %': cell(r.modelAccuracy, 100, 1, sd),
    'ensemble test acc %': cell(r.ensembleAccuracy, 100, 1, sd),
    'accepted rules (total)': cell(r.rules, 1, 1, sd),
    'accepted now': cell(r.acceptedNow, 1, 1, sd),
    κ: cell(r.kappa, 1, 2, sd),
    σ: cell(r.sigma, 1, 2, sd),
  }));
}

/** Rows as a Markdown table (cells with `|` escaped). */
export function markdownTable(rows: readonly Record<string, string | number>[]): string {
  if (rows.length === 0) return '';
  const cols = Object.keys(rows[0]);
  const esc = (v: unknown): string => String(v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `| ${cols.map(esc).join(' | ')} |`,
    `| ${cols.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${cols.map((c) => esc(r[c] ?? '')).join(' | ')} |`),
  ].join('\n');
}

/** The summary rows (mean ± sd over seeds, in % except counts). */
export function experimentSummaryRows(summary: readonly SummaryRow[]): Record<string, string>[] {
  return summary.map((r) => {
    const count = r.name === 'accepted rules';
    const scale = count ? 1 : 100;
    return {
      quantity: r.name,
      value: cell({ mean: n(r.mean), sd: n(r.sd) }, scale, count ? 1 : 2, r.values.length > 1),
      unit: count ? 'rules' : '%',
    };
  });
}

/**
 * The closing-note text of an experiment file: the per-iteration table, the summary and the claims, as
 * Markdown (`experimentReport(loadExperiment(path))`).
 */
export function experimentReport(e: ExperimentFile): string {
  const seeds = e.seeds.map((s) => s.seed).join(', ');
  const parts = [
    `PRBoost on AG News, preset "${e.preset}", seeds ${seeds}` +
      (Number.isFinite(e.seconds) ? `, ${(e.seconds / 60).toFixed(1)} min` : '') +
      ` (${e.file}). Mean ± sd over seeds.`,
    '',
    markdownTable(experimentIterationRows(e)),
  ];
  if (e.summary.length) parts.push('', markdownTable(experimentSummaryRows(e.summary)));
  if (e.claims.length)
    parts.push('', ...e.claims.map((c) => `- ${c.holds ? 'holds' : '**fails**'}: ${c.claim} — ${c.detail}`));
  return parts.join('\n');
}

/** The per-iteration table of an experiment file, displayable in a notebook. */
export function experimentTable(e: Parameters<typeof experimentIterations>[0]): RichOutput {
  return table(experimentIterationRows(e));
}
