/**
 * A live figure's data model and its redraw throttle. Streamed points are folded into a local copy of the
 * figure at once, but the page redraws at most once per interval: between redraws the extends pile up
 * and go to plotly as one `extendTraces` call (or one `react` after a reset / replace), so 10,000 points
 * arriving in a burst cost a handful of redraws, not 10,000. DOM-free, so it is unit-tested under node.
 */
import { ValueError } from '../../../src/errors';
import type { PlotFigure, PlotTrace, StreamMessage } from '../../../src/protocol';

/** What the renderer must do to bring plotly up to date. */
export type Flush =
  | { kind: 'react'; figure: PlotFigure }
  | { kind: 'extend'; traces: number[]; x: number[][]; y: number[][]; maxPoints: number | undefined };

export class FigureStream {
  private figure: PlotFigure;
  private needsReact = false;
  private pending = new Map<number, { x: number[]; y: number[] }>();
  private pendingMax: number | undefined;

  constructor(figure: PlotFigure) {
    this.figure = cloneFigure(figure);
  }

  /** The current figure (a copy, safe to hand to plotly). */
  snapshot(): PlotFigure {
    return cloneFigure(this.figure);
  }

  /** Number of points in trace `i` of the local model. */
  length(i: number): number {
    return this.figure.data[i]?.x?.length ?? 0;
  }

  apply(msg: StreamMessage): void {
    if (msg.type === 'reset') {
      this.figure = cloneFigure({ ...msg.figure, efflab: this.figure.efflab });
      this.markReact();
      return;
    }
    for (const t of msg.traces) {
      if (!Number.isInteger(t) || t < 0 || t >= this.figure.data.length) {
        throw new ValueError(
          `stream ${msg.type}: trace ${t} does not exist (figure has ${this.figure.data.length})`,
        );
      }
    }
    if (msg.type === 'replace') {
      msg.traces.forEach((t, i) => {
        this.figure.data[t] = { ...this.figure.data[t], x: [...msg.x[i]], y: [...msg.y[i]] };
      });
      this.markReact();
      return;
    }
    msg.traces.forEach((t, i) => {
      const trace: PlotTrace = this.figure.data[t];
      const x = (trace.x ?? []).concat(msg.x[i]);
      const y = (trace.y ?? []).concat(msg.y[i]);
      const cut = msg.maxPoints !== undefined && x.length > msg.maxPoints ? x.length - msg.maxPoints : 0;
      trace.x = cut ? x.slice(cut) : x;
      trace.y = cut ? y.slice(cut) : y;
      if (this.needsReact) return;
      const p = this.pending.get(t) ?? { x: [], y: [] };
      p.x.push(...msg.x[i]);
      p.y.push(...msg.y[i]);
      this.pending.set(t, p);
    });
    if (msg.maxPoints !== undefined) this.pendingMax = msg.maxPoints;
  }

  /** Whether a redraw is owed. */
  dirty(): boolean {
    return this.needsReact || this.pending.size > 0;
  }

  /** The single plotly call that catches up with everything applied since the last flush. */
  takeFlush(): Flush | null {
    if (this.needsReact) {
      this.needsReact = false;
      return { kind: 'react', figure: this.snapshot() };
    }
    if (this.pending.size === 0) return null;
    const traces = [...this.pending.keys()];
    const flush: Flush = {
      kind: 'extend',
      traces,
      x: traces.map((t) => this.pending.get(t)!.x),
      y: traces.map((t) => this.pending.get(t)!.y),
      maxPoints: this.pendingMax,
    };
    this.pending.clear();
    this.pendingMax = undefined;
    return flush;
  }

  private markReact(): void {
    this.needsReact = true;
    this.pending.clear();
    this.pendingMax = undefined;
  }
}

function cloneFigure(f: PlotFigure): PlotFigure {
  return {
    data: f.data.map((t) => ({ ...t, x: t.x ? [...t.x] : t.x, y: t.y ? [...t.y] : t.y })),
    layout: f.layout ? structuredClone(f.layout) : {},
    config: f.config ? { ...f.config } : undefined,
    efflab: f.efflab,
  };
}

/** Clock and timer the throttle runs on (injected so tests can drive time). */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * Runs `task` at most once per `intervalMs`: the first request after a quiet period runs on the next tick,
 * later ones are merged into one run at the end of the interval.
 */
export class Throttle {
  private last = -Infinity;
  private handle: unknown = null;
  runs = 0;

  constructor(
    private readonly task: () => void,
    private readonly intervalMs: number,
    private readonly scheduler: Scheduler,
  ) {
    if (!(intervalMs >= 0)) throw new ValueError(`throttle interval must be ≥ 0 ms, got ${intervalMs}`);
  }

  request(): void {
    if (this.handle !== null) return;
    const wait = Math.max(0, this.last + this.intervalMs - this.scheduler.now());
    this.handle = this.scheduler.setTimeout(() => {
      this.handle = null;
      this.last = this.scheduler.now();
      this.runs++;
      this.task();
    }, wait);
  }

  cancel(): void {
    if (this.handle !== null) this.scheduler.clearTimeout(this.handle);
    this.handle = null;
  }
}
