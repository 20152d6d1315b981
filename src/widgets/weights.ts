/**
 * The weight-tracking view for DORM (thesis ch. 3): a live plot of per-group data weights (e.g. the mean
 * weight of each data source) against the training step, beside a histogram of the current per-example
 * weights, fed from the training loop with `log(step, groupWeights, exampleWeights)`.
 */
import { ShapeError, ValueError } from '../errors';
import { LivePlot, type LivePlotOptions } from './live-plot';

export interface WeightTrackerOptions extends LivePlotOptions {
  /** Names of the groups (one line each). */
  groups: string[];
  /** Histogram bins for the per-example weights (default 30). */
  bins?: number;
  title?: string;
}

/** Equal-width histogram of `values` over [min, max]: bin centres and counts. */
export function histogram(values: ArrayLike<number>, bins: number): { centers: number[]; counts: number[] } {
  if (!Number.isInteger(bins) || bins < 1)
    throw new ValueError(`histogram: bins must be a positive integer, got ${bins}`);
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number')
    throw new ValueError(`histogram: values must be an array of numbers, got ${String(values)}`);
  if (values.length === 0) throw new ValueError('histogram: no values');
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ValueError(`histogram: value ${i} is ${String(v)}, not a finite number`);
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  const width = hi > lo ? (hi - lo) / bins : 1;
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    counts[Math.min(bins - 1, Math.floor((values[i] - lo) / width))]++;
  }
  const centers = counts.map((_, b) => (hi > lo ? lo + (b + 0.5) * width : lo));
  return { centers, counts };
}

export class WeightTracker {
  readonly plot: LivePlot;
  private readonly groups: string[];
  private readonly bins: number;

  constructor(options: WeightTrackerOptions) {
    const { groups } = options;
    if (!Array.isArray(groups) || groups.length === 0 || !groups.every((g) => typeof g === 'string')) {
      throw new ValueError('weightTracker: options.groups must be a non-empty array of group names');
    }
    this.groups = [...groups];
    this.bins = options.bins ?? 30;
    if (!Number.isInteger(this.bins) || this.bins < 1)
      throw new ValueError(`weightTracker: bins must be a positive integer, got ${this.bins}`);
    this.plot = new LivePlot(
      {
        data: [
          ...groups.map((name) => ({ type: 'scatter', mode: 'lines', name, x: [], y: [] })),
          {
            type: 'bar',
            name: 'per-example weights',
            x: [],
            y: [],
            xaxis: 'x2',
            yaxis: 'y2',
            showlegend: false,
          },
        ],
        layout: {
          title: { text: options.title ?? 'Data weights (DORM)' },
          grid: { rows: 1, columns: 2, pattern: 'independent' },
          xaxis: { title: { text: 'training step' } },
          yaxis: { title: { text: 'group weight' } },
          xaxis2: { title: { text: 'per-example weight' } },
          yaxis2: { title: { text: 'examples' } },
          bargap: 0.02,
        },
      },
      options,
    );
  }

  /** Shows the view in the current cell's output. */
  show(): this {
    this.plot.show();
    return this;
  }

  /**
   * Records one training step: `groupWeights` in the order of `groups` (or by name), and optionally the
   * current per-example weights, whose histogram replaces the previous one.
   */
  log(
    step: number,
    groupWeights: ArrayLike<number> | Record<string, number>,
    exampleWeights?: ArrayLike<number>,
  ): void {
    if (typeof step !== 'number' || !Number.isFinite(step))
      throw new ValueError(`weightTracker.log: step is ${step}, not a finite number`);
    const values = this.groupValues(groupWeights);
    this.plot.extend(
      this.groups.map((_, i) => i),
      values.map(() => [step]),
      values.map((v) => [v]),
    );
    if (exampleWeights !== undefined) {
      const h = histogram(exampleWeights, this.bins);
      this.plot.replace(this.groups.length, h.centers, h.counts);
    }
  }

  /** Ends the live stream; the final figure stays in the output. */
  close(): void {
    this.plot.close();
  }

  private groupValues(w: ArrayLike<number> | Record<string, number>): number[] {
    if (w === null || typeof w !== 'object')
      throw new ValueError(
        `weightTracker.log: group weights must be an array or an object by group, got ${String(w)}`,
      );
    const isArrayLike = typeof (w as ArrayLike<number>).length === 'number';
    const values = isArrayLike
      ? Array.from(w as ArrayLike<number>)
      : this.groups.map((g) => {
          const v = (w as Record<string, number>)[g];
          if (v === undefined) throw new ValueError(`weightTracker.log: no weight for group "${g}"`);
          return v;
        });
    if (values.length !== this.groups.length) {
      throw new ShapeError(
        `weightTracker.log: ${values.length} group weights for ${this.groups.length} groups (${this.groups.join(', ')})`,
      );
    }
    return values;
  }
}

/** Shows a weight-tracking view for `options.groups` and returns it (call `log` each step). */
export function weightTracker(options: WeightTrackerOptions): WeightTracker {
  return new WeightTracker(options).show();
}
