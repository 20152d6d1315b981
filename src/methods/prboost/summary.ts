/**
 * A rule summary in the spirit of Snorkel's `lf_summary` (per rule: label, coverage, overlaps, conflicts,
 * empirical accuracy on labelled rows), the dataset-level figures, and the pairwise conflict matrix
 * Snorkel does not offer: entry (j, k) is the share of rows on which rules j and k both fire with
 * different labels.
 */
import type { PlotlyFigure } from '../../display';
import { ShapeError } from '../../errors';
import type { LabelMatrix } from './label-matrix';

/** One rule's row of the summary. */
export interface RuleSummaryRow {
  rule: string;
  label: string;
  /** Share of rows the rule fires on. */
  coverage: number;
  /** Share of rows where it fires together with at least one other rule. */
  overlaps: number;
  /** Share of rows where another firing rule votes a different label. */
  conflicts: number;
  /** Labelled rows it fires on, and how many of those it gets right. */
  correct: number;
  incorrect: number;
  /** correct / (correct + incorrect); NaN when it fires on no labelled row. */
  accuracy: number;
}

/** The summary table plus dataset-level figures and the conflict matrix. */
export interface RuleSummary {
  rows: RuleSummaryRow[];
  /** Share of rows with ≥ 1 vote, with ≥ 2 votes, and with disagreeing votes. */
  coverage: number;
  overlap: number;
  conflict: number;
  /** m × m, entry [j][k] = share of rows where j and k both fire with different labels. */
  conflictMatrix: number[][];
  ruleIds: string[];
}

/**
 * Summarises a label matrix; `gold[i]` is row i's class or −1 when unknown (only known rows count towards
 * the empirical accuracy). `classNames` names the labels.
 */
export function ruleSummary(
  lm: LabelMatrix,
  classNames: readonly string[],
  gold?: ArrayLike<number>,
): RuleSummary {
  const m = lm.ruleIds.length;
  const n = lm.rows;
  if (gold && gold.length !== n)
    throw new ShapeError(`ruleSummary: ${gold.length} gold labels for ${n} rows`);
  const fire = new Float64Array(m);
  const over = new Float64Array(m);
  const conf = new Float64Array(m);
  const correct = new Float64Array(m);
  const incorrect = new Float64Array(m);
  const pair = Array.from({ length: m }, () => new Float64Array(m));
  let covered = 0;
  let overlapped = 0;
  let conflicted = 0;
  const row: number[] = new Array<number>(m);
  for (let i = 0; i < n; i++) {
    let count = 0;
    const labels = new Set<number>();
    for (let j = 0; j < m; j++) {
      row[j] = lm.votes[i * m + j];
      if (row[j] >= 0) {
        count++;
        labels.add(row[j]);
      }
    }
    if (count === 0) continue;
    covered++;
    if (count > 1) overlapped++;
    if (labels.size > 1) conflicted++;
    const g = gold ? gold[i] : -1;
    for (let j = 0; j < m; j++) {
      if (row[j] < 0) continue;
      fire[j]++;
      if (count > 1) over[j]++;
      let disagrees = false;
      for (let k = 0; k < m; k++) {
        if (k !== j && row[k] >= 0 && row[k] !== row[j]) {
          disagrees = true;
          pair[j][k]++;
        }
      }
      if (disagrees) conf[j]++;
      if (g >= 0) {
        if (g === row[j]) correct[j]++;
        else incorrect[j]++;
      }
    }
  }
  const share = (x: number): number => (n ? x / n : 0);
  return {
    rows: lm.ruleIds.map((id, j) => ({
      rule: id,
      label: classNames[lm.ruleLabels[j]] ?? String(lm.ruleLabels[j]),
      coverage: share(fire[j]),
      overlaps: share(over[j]),
      conflicts: share(conf[j]),
      correct: correct[j],
      incorrect: incorrect[j],
      accuracy: correct[j] + incorrect[j] > 0 ? correct[j] / (correct[j] + incorrect[j]) : NaN,
    })),
    coverage: share(covered),
    overlap: share(overlapped),
    conflict: share(conflicted),
    conflictMatrix: pair.map((r) => Array.from(r, share)),
    ruleIds: [...lm.ruleIds],
  };
}

/** The conflict matrix as a plotly heatmap (share of rows, in %). */
export function conflictHeatmap(
  summary: RuleSummary,
  title = 'Pairwise rule conflicts (% of rows)',
): PlotlyFigure {
  return {
    data: [
      {
        type: 'heatmap',
        x: summary.ruleIds,
        y: summary.ruleIds,
        z: summary.conflictMatrix.map((r) => r.map((v) => Number((100 * v).toFixed(3)))),
        colorscale: 'Reds',
        hovertemplate: '%{y} vs %{x}: %{z:.2f}% of rows<extra></extra>',
      },
    ],
    layout: {
      title: { text: title },
      height: 480,
      xaxis: { tickangle: -40 },
      yaxis: { autorange: 'reversed' },
      margin: { l: 140, b: 140 },
    },
  };
}
