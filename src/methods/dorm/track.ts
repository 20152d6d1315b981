/**
 * Live view of DORM's weights while Algorithm 1 runs (cf. Fig. 3.4): the extension's weight tracker shows
 * each source's share of the total weight (sums to 1) and a histogram of all weights; a second live figure
 * shows the weights of clean and of flipped pairs as two histograms on common bins and the AUROC of low
 * weight for flagging flipped pairs, step by step. Both update in place over the stream comm.
 */
import { ShapeError, ValueError } from '../../errors';
import { LivePlot, weightTracker, type WeightTracker } from '../../widgets';
import type { WeightSnapshot } from './solver';

/** Histograms of `values` split by `flag` (0 / 1) on common equal-width bins. */
export function splitHistogram(
  values: ArrayLike<number>,
  flag: ArrayLike<number>,
  bins: number,
): { centers: number[]; clean: number[]; flipped: number[] } {
  if (values.length !== flag.length)
    throw new ShapeError(`splitHistogram: ${values.length} values, ${flag.length} flags`);
  if (!(Number.isInteger(bins) && bins > 0)) throw new ValueError(`splitHistogram: bins ${bins}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  const width = hi > lo ? (hi - lo) / bins : 1;
  const clean = new Array<number>(bins).fill(0);
  const flipped = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) {
    const b = Math.min(bins - 1, Math.floor((values[i] - lo) / width));
    (flag[i] ? flipped : clean)[b]++;
  }
  return { centers: clean.map((_, b) => lo + (b + 0.5) * width), clean, flipped };
}

export interface DormTrackerOptions {
  sources: readonly string[];
  /** 1 where a training pair's label was flipped (reporting only). */
  flipped: Uint8Array;
  bins?: number;
  title?: string;
}

/** The two live figures; feed `log` from `runBilevel`'s `onLog`. */
export class DormTracker {
  readonly shares: WeightTracker;
  readonly detail: LivePlot;
  /** Everything logged, for tables after the run. */
  readonly steps: number[] = [];
  readonly shareHistory: number[][] = [];
  readonly aurocHistory: number[] = [];
  private readonly bins: number;

  constructor(private readonly opts: DormTrackerOptions) {
    this.bins = opts.bins ?? 25;
    this.shares = weightTracker({
      groups: [...opts.sources],
      title: opts.title ?? 'DORM: share of weight per source',
    });
    this.detail = new LivePlot({
      data: [
        { type: 'bar', name: 'clean pairs', x: [], y: [], opacity: 0.6 },
        { type: 'bar', name: 'flipped pairs', x: [], y: [], opacity: 0.6 },
        {
          type: 'scatter',
          mode: 'lines+markers',
          name: 'AUROC (low weight → flipped)',
          x: [],
          y: [],
          xaxis: 'x2',
          yaxis: 'y2',
        },
      ],
      layout: {
        title: { text: 'Weights of clean vs flipped pairs' },
        barmode: 'overlay',
        grid: { rows: 1, columns: 2, pattern: 'independent' },
        xaxis: { title: { text: 'weight' } },
        yaxis: { title: { text: 'pairs' } },
        xaxis2: { title: { text: 'training step' } },
        yaxis2: { title: { text: 'AUROC' }, range: [0, 1] },
      },
    }).show();
  }

  /** Records one snapshot: shares and the all-weights histogram, clean/flipped histograms and the AUROC. */
  log(s: WeightSnapshot): void {
    if (s.weights.length !== this.opts.flipped.length)
      throw new ShapeError(
        `DormTracker: ${s.weights.length} weights for ${this.opts.flipped.length} training pairs`,
      );
    this.steps.push(s.step);
    this.shareHistory.push([...s.shares]);
    this.aurocHistory.push(s.auroc);
    this.shares.log(s.step, s.shares, s.weights);
    const h = splitHistogram(s.weights, this.opts.flipped, this.bins);
    this.detail.replace(0, h.centers, h.clean);
    this.detail.replace(1, h.centers, h.flipped);
    if (Number.isFinite(s.auroc)) this.detail.append(2, s.step, s.auroc);
  }

  close(): void {
    this.shares.close();
    this.detail.close();
  }
}

/** Shows the tracker for a split's training sources and returns it. */
export function trackWeights(opts: DormTrackerOptions): DormTracker {
  return new DormTracker(opts);
}
