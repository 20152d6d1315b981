/**
 * The figures of a DORM run that the closing note quotes, as a file: the Table 3.2 analogue (mean ± sd and the
 * per-seed accuracies), the length baselines, per-source shares at the start and end of training with their
 * Spearman ρ against −noise and the AUROC of "low weight ⇒ flipped", and the β sweep. Written as JSON by the
 * notebook's export cell (`<cacheDir>/export-<preset>/results.json`) and by `bench/dorm.bench.ts`'s quality
 * section (`bench/experiments/dorm-quality-<preset>.json`); `summaryMarkdown` renders one as the note's tables.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FileFormatError } from '../../errors';
import type { ExperimentResult } from './experiment';

/** One β of the sweep (see `betaSweep`). */
export interface SweepPoint {
  beta: number;
  distance: number;
  accuracy: number;
  auroc: number;
  shares: number[];
}

/** What a run's closing note reads: plain JSON (accuracies as fractions in [0, 1]). */
export interface ExperimentSummary {
  task: string;
  sources: string[];
  flipRates: number[];
  seeds: number[];
  table: { method: string; mean: number; sd: number | null; runs: number[] }[];
  lengths?: { chosenLonger: number; shorterWins: number; pairs: number };
  shares: { method: string; start: number[]; end: number[]; rho: number; auroc: number }[];
  sweep?: { beta: number | string; distance: number; accuracy: number; auroc: number; shares: number[] }[];
}

/** The closing-note figures of `runExperiment`'s result (and optionally a β sweep) as plain JSON. */
export function experimentSummary(r: ExperimentResult, sweep?: readonly SweepPoint[]): ExperimentSummary {
  return {
    task: r.task,
    sources: [...r.sources],
    flipRates: [...r.flipRates],
    seeds: r.runs.map((s) => s.seed),
    table: r.table.map((row) => ({
      method: row.method,
      mean: row.mean,
      sd: Number.isNaN(row.sd) ? null : row.sd,
      runs: [...row.runs],
    })),
    lengths: r.lengths && {
      chosenLonger: r.lengths.chosenLonger,
      shorterWins: r.lengths.shorterWins,
      pairs: r.lengths.pairs,
    },
    shares: r.shares.map((s) => ({ ...s, start: [...s.start], end: [...s.end] })),
    // JSON has no Infinity: β = ∞ is written as the string "Infinity".
    sweep: sweep?.map((p) => ({ ...p, beta: Number.isFinite(p.beta) ? p.beta : String(p.beta) })),
  };
}

/** Writes summaries (e.g. `{ synthetic, real }`) as JSON and returns the path. */
export function writeExperimentSummary(file: string, summaries: Record<string, ExperimentSummary>): string {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(summaries, null, 1) + '\n');
  return file;
}

/** Reads a file written by `writeExperimentSummary`, checking that each entry has a table and shares. */
export function readExperimentSummary(file: string): Record<string, ExperimentSummary> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new FileFormatError(`${file}: not a DORM results file (${(e as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null)
    throw new FileFormatError(`${file}: not a DORM results file (no object at the top)`);
  for (const [k, v] of Object.entries(parsed)) {
    const s = v as Partial<ExperimentSummary>;
    if (!Array.isArray(s.table) || !Array.isArray(s.shares) || !Array.isArray(s.sources))
      throw new FileFormatError(`${file}: entry "${k}" has no table, shares or sources`);
  }
  return parsed as Record<string, ExperimentSummary>;
}

const pct = (x: number): string => (100 * x).toFixed(1);

/** The Table 3.2 analogue, the shares with ρ and AUROC, and the β sweep of a summary as Markdown tables. */
export function summaryMarkdown(s: ExperimentSummary): string {
  const out: string[] = [`**${s.task}** (seeds ${s.seeds.join(', ')})`, ''];
  out.push('| method | test accuracy % (mean ± sd) | per seed |', '| --- | --- | --- |');
  for (const r of s.table)
    out.push(
      `| ${r.method} | ${r.sd === null ? pct(r.mean) : `${pct(r.mean)} ± ${pct(r.sd)}`} | ${r.runs.map(pct).join(', ')} |`,
    );
  out.push('');
  const heads = s.sources.map((n, k) => `${n} (${pct(s.flipRates[k])} % flipped)`);
  out.push(`| weights | ${heads.join(' | ')} | Spearman ρ vs −noise | AUROC flipped |`);
  out.push(`| --- | ${heads.map(() => '---').join(' | ')} | --- | --- |`);
  for (const sh of s.shares)
    out.push(
      `| ${sh.method} | ${sh.start.map((v, k) => `${v.toFixed(3)} → ${sh.end[k].toFixed(3)}`).join(' | ')} | ${sh.rho.toFixed(2)} | ${sh.auroc.toFixed(3)} |`,
    );
  if (s.sweep?.length) {
    out.push('', '| β | mean \\|w − w⁰\\| | test accuracy % | AUROC flipped |', '| --- | --- | --- | --- |');
    for (const p of s.sweep)
      out.push(`| ${p.beta} | ${p.distance.toFixed(3)} | ${pct(p.accuracy)} | ${p.auroc.toFixed(3)} |`);
  }
  return out.join('\n') + '\n';
}
