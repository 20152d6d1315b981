/** Rows and figures for showing DORM results in a notebook (plain objects for `table()` / `plotly()`). */
import { lengthBaselines, type LengthBaselines } from '../../data';
import { ValueError } from '../../errors';
import type { PlotlyFigure } from '../../display';
import type { ExperimentResult } from './experiment';
import type { PriorWeights } from './prior';
import type { DormSplit, PreferenceTask } from './task';

const pct = (x: number): string => (100 * x).toFixed(1);

/** The Table 3.2 analogue as rows: method, test accuracy % (mean ± sd), and the per-seed values. */
export function accuracyRows(r: ExperimentResult): Record<string, string>[] {
  return r.table.map((row) => ({
    method: row.method,
    'test accuracy % (mean ± sd)': Number.isNaN(row.sd)
      ? `${pct(row.mean)}`
      : `${pct(row.mean)} ± ${pct(row.sd)}`,
    'per seed': row.runs.map(pct).join(', '),
  }));
}

/** Per-source shares of total weight at the start and end of training, Spearman ρ and AUROC. */
export function shareRows(r: ExperimentResult): Record<string, string>[] {
  return r.shares.map((s) => {
    const row: Record<string, string> = { weights: s.method };
    r.sources.forEach((name, k) => {
      row[`${name} (${pct(r.flipRates[k])}% flipped)`] = `${s.start[k].toFixed(3)} → ${s.end[k].toFixed(3)}`;
    });
    row['Spearman ρ vs −noise'] = s.rho.toFixed(2);
    row['AUROC flipped'] = s.auroc.toFixed(3);
    return row;
  });
}

/** Rows describing a split: sources, sizes and flip counts. */
export function splitRows(split: DormSplit): Record<string, string | number>[] {
  const rows: Record<string, string | number>[] = split.sources.map((name, k) => {
    let n = 0;
    let f = 0;
    split.train.source.forEach((s, i) => {
      if (s === k) {
        n++;
        f += split.train.flipped[i];
      }
    });
    return { set: `train: ${name}`, pairs: n, flipped: f, 'flip rate %': pct(split.flipRates[k]) };
  });
  rows.push({ set: 'validation (clean)', pairs: split.validation.n, flipped: 0, 'flip rate %': '0.0' });
  rows.push({ set: 'test (clean)', pairs: split.test.n, flipped: 0, 'flip rate %': '0.0' });
  return rows;
}

/** Scatter of uncertainty u against disagreement q per training pair, clean and flipped in two colours. */
export function priorScatter(split: DormSplit, prior: PriorWeights, maxPoints = 3000): PlotlyFigure {
  const step = Math.max(1, Math.ceil(split.train.n / maxPoints));
  const pick = (flag: number) => {
    const x: number[] = [];
    const y: number[] = [];
    for (let i = 0; i < split.train.n; i += step) {
      if (split.train.flipped[i] !== flag) continue;
      x.push(prior.q[i]);
      y.push(prior.u[i]);
    }
    return { x, y };
  };
  const c = pick(0);
  const f = pick(1);
  return {
    data: [
      { type: 'scatter', mode: 'markers', name: 'clean', x: c.x, y: c.y, marker: { size: 4, opacity: 0.6 } },
      {
        type: 'scatter',
        mode: 'markers',
        name: 'flipped',
        x: f.x,
        y: f.y,
        marker: { size: 4, opacity: 0.6 },
      },
    ],
    layout: {
      title: {
        text: `Prior: uncertainty u vs disagreement q (N = ${prior.passes}, dropout ${prior.dropout})`,
      },
      xaxis: { title: { text: 'disagreement q (Eq. 3.5)' }, type: 'log' },
      yaxis: { title: { text: 'uncertainty u (Eq. 3.4)' } },
    },
  };
}

/** β sweep rows. */
export function betaRows(
  sweep: { beta: number; distance: number; accuracy: number; auroc: number; shares: number[] }[],
  sources: readonly string[],
): Record<string, string>[] {
  return sweep.map((s) => {
    const row: Record<string, string> = {
      β: String(s.beta),
      'mean |w − w⁰|': s.distance.toFixed(3),
      'test accuracy %': pct(s.accuracy),
      'AUROC flipped': s.auroc.toFixed(3),
    };
    sources.forEach((name, k) => (row[`share ${name}`] = s.shares[k].toFixed(3)));
    return row;
  });
}

/** The length baselines (see data.lengthBaselines) on a task that carries dialogue lengths. */
export function lengthBaselinesOf(task: PreferenceTask): LengthBaselines {
  if (!task.chosenLength || !task.rejectedLength)
    throw new ValueError(`task ${task.name} has no dialogue lengths (only the HH-RLHF task does)`);
  return lengthBaselines(
    Array.from(task.chosenLength, (c, i) => ({ chosenLength: c, rejectedLength: task.rejectedLength![i] })),
  );
}
