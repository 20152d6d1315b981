/**
 * Live plotly figures from cells: `livePlot(figure)` shows a figure that the efflab extension keeps
 * subscribed over the `efflab.stream.v1` comm; `append` / `extend` stream new points (batched here every
 * `intervalMs`, redrawn there with throttled `extendTraces`), `replace` swaps a trace's data, `update`
 * re-publishes the whole figure (update_display_data → `Plotly.react`). On `close()` the final figure is
 * written into the output, so a saved notebook keeps it.
 */
import { ShapeError, ValueError } from '../errors';
import { randomUUID } from 'node:crypto';
import { getKernelBridge, plotly, type Comm, type Json, type JsonObject, type MimeBundle } from '../display';
import { PLOTLY_MIME, STREAM_TARGET, type PlotFigure, type StreamMessage } from '../protocol';

export interface LivePlotOptions {
  /** Keep at most this many points per trace (older ones scroll out); default unlimited. */
  maxPoints?: number;
  /** Batch streamed points for this long before sending (ms, default 50). */
  intervalMs?: number;
}

interface StreamRegistry {
  plots: Map<string, LivePlot>;
  /** The bridge the comm target is registered with (a new kernel bridge needs it again). */
  registeredWith: object | null;
}

const REGISTRY = Symbol.for('efflab.widgets.stream');

function registry(): StreamRegistry {
  const g = globalThis as { [REGISTRY]?: StreamRegistry };
  g[REGISTRY] ??= { plots: new Map(), registeredWith: null };
  return g[REGISTRY];
}

function ensureTarget(): void {
  const r = registry();
  const bridge = getKernelBridge();
  if (!bridge || r.registeredWith === bridge) return;
  bridge.registerCommTarget(STREAM_TARGET, (comm, open) => {
    const id = typeof open.data.stream === 'string' ? open.data.stream : '';
    const plot = r.plots.get(id);
    if (!plot) {
      comm.close({ reason: `no live figure "${id}" in this kernel (it was closed or the kernel restarted)` });
      return;
    }
    plot.attach(comm);
  });
  r.registeredWith = bridge;
}

function finiteArray(values: ArrayLike<number>, what: string): number[] {
  if (values === null || typeof values !== 'object' || typeof values.length !== 'number')
    throw new ValueError(`livePlot: ${what} must be an array of numbers, got ${String(values)}`);
  const out = Array.from(values);
  out.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ValueError(`${what}[${i}] is ${v}, not a finite number`);
  });
  return out;
}

export class LivePlot {
  readonly id = randomUUID();
  private readonly displayId = randomUUID();
  private readonly figure: PlotFigure;
  private readonly comms = new Set<Comm>();
  private pending = new Map<number, { x: number[]; y: number[] }>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Stream messages sent to the frontend (for tests and diagnostics). */
  messagesSent = 0;

  constructor(
    figure: PlotFigure,
    private readonly options: LivePlotOptions = {},
  ) {
    if (!figure || !Array.isArray(figure.data))
      throw new ValueError('livePlot: figure.data must be an array of traces');
    const { maxPoints, intervalMs } = options;
    if (maxPoints !== undefined && !(Number.isInteger(maxPoints) && maxPoints > 0)) {
      throw new ValueError(`livePlot: maxPoints must be a positive integer, got ${maxPoints}`);
    }
    if (intervalMs !== undefined && !(intervalMs >= 0))
      throw new ValueError(`livePlot: intervalMs must be ≥ 0, got ${intervalMs}`);
    this.figure = JSON.parse(JSON.stringify(figure)) as PlotFigure;
    for (const t of this.figure.data) {
      t.x ??= [];
      t.y ??= [];
    }
  }

  /** Number of traces. */
  get traces(): number {
    return this.figure.data.length;
  }

  /** Points currently held for trace `i`. */
  length(i: number): number {
    return this.figure.data[i]?.x?.length ?? 0;
  }

  /** Publishes the figure in the current cell's output and starts serving its stream. */
  show(): this {
    registry().plots.set(this.id, this);
    ensureTarget();
    this.publish(false);
    return this;
  }

  /** Appends one point to trace `trace`. */
  append(trace: number, x: number, y: number): void {
    this.extend([trace], [[x]], [[y]]);
  }

  /** Appends points to several traces at once (`x[i]`, `y[i]` go to `traces[i]`). */
  extend(traces: readonly number[], x: readonly ArrayLike<number>[], y: readonly ArrayLike<number>[]): void {
    if (this.closed) throw new ValueError('livePlot: this figure was closed');
    if (!Array.isArray(traces) || !Array.isArray(x) || !Array.isArray(y))
      throw new ValueError(
        'livePlot.extend: traces, x and y must be arrays (x[i], y[i] hold the points of traces[i])',
      );
    if (x.length !== traces.length || y.length !== traces.length) {
      throw new ShapeError(
        `livePlot.extend: ${traces.length} traces but ${x.length} x arrays and ${y.length} y arrays`,
      );
    }
    traces.forEach((t, i) => {
      this.checkTrace(t);
      const xs = finiteArray(x[i], `x[${i}]`);
      const ys = finiteArray(y[i], `y[${i}]`);
      if (xs.length !== ys.length)
        throw new ShapeError(`livePlot.extend: trace ${t} got ${xs.length} x but ${ys.length} y`);
      const tr = this.figure.data[t];
      tr.x = (tr.x as number[]).concat(xs);
      tr.y = (tr.y as number[]).concat(ys);
      const max = this.options.maxPoints;
      if (max !== undefined && tr.x.length > max) {
        tr.x = tr.x.slice(-max);
        tr.y = (tr.y as number[]).slice(-max);
      }
      const p = this.pending.get(t) ?? { x: [], y: [] };
      p.x.push(...xs);
      p.y.push(...ys);
      this.pending.set(t, p);
    });
    this.schedule();
  }

  /** Replaces trace `trace`'s data (e.g. a histogram of the current weights). */
  replace(trace: number, x: ArrayLike<number>, y: ArrayLike<number>): void {
    if (this.closed) throw new ValueError('livePlot: this figure was closed');
    this.checkTrace(trace);
    const xs = finiteArray(x, 'x');
    const ys = finiteArray(y, 'y');
    if (xs.length !== ys.length) throw new ShapeError(`livePlot.replace: ${xs.length} x but ${ys.length} y`);
    this.flush();
    this.figure.data[trace].x = xs;
    this.figure.data[trace].y = ys;
    this.broadcast({ type: 'replace', traces: [trace], x: [xs], y: [ys] });
  }

  /** Re-publishes the whole figure in place (update_display_data; the renderer redraws with Plotly.react). */
  update(layout?: Record<string, unknown>): void {
    if (layout) this.figure.layout = { ...(this.figure.layout ?? {}), ...layout };
    this.flush();
    this.publish(true);
  }

  /** Sends the points batched so far now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.size === 0) return;
    const traces = [...this.pending.keys()];
    const msg: StreamMessage = {
      type: 'extend',
      traces,
      x: traces.map((t) => this.pending.get(t)!.x),
      y: traces.map((t) => this.pending.get(t)!.y),
      maxPoints: this.options.maxPoints,
    };
    this.pending = new Map();
    this.broadcast(msg);
  }

  /** Stops streaming and writes the final figure into the output (so a saved notebook keeps it). */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    registry().plots.delete(this.id);
    this.publish(true);
    for (const c of this.comms) if (!c.closed) c.close();
    this.comms.clear();
  }

  /** @internal A frontend subscribed: bring it up to date with the whole figure. */
  attach(comm: Comm): void {
    this.comms.add(comm);
    comm.onClose(() => this.comms.delete(comm));
    this.flush();
    this.sendTo(comm, { type: 'reset', figure: this.figure });
  }

  private checkTrace(t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.figure.data.length) {
      throw new ValueError(
        `livePlot: trace ${t} does not exist (the figure has ${this.figure.data.length} traces)`,
      );
    }
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.options.intervalMs ?? 50);
  }

  private broadcast(msg: StreamMessage): void {
    for (const c of this.comms) this.sendTo(c, msg);
  }

  private sendTo(comm: Comm, msg: StreamMessage): void {
    if (comm.closed) return;
    comm.send(JSON.parse(JSON.stringify(msg)) as JsonObject);
    this.messagesSent++;
  }

  private publish(update: boolean): void {
    const base = plotly({
      data: this.figure.data as unknown as JsonObject[],
      layout: (this.figure.layout ?? {}) as JsonObject,
      config: (this.figure.config ?? {}) as JsonObject,
    });
    const spec = base.data[PLOTLY_MIME] as JsonObject;
    const live: Json = this.closed ? spec : { ...spec, efflab: { stream: this.id } };
    const bundle: MimeBundle = { ...base.data, [PLOTLY_MIME]: live };
    const bridge = getKernelBridge();
    if (!bridge) {
      if (!update) process.stdout.write(`${String(bundle['text/plain'] ?? '')}\n`);
      return;
    }
    bridge.publishDisplay(bundle, { displayId: this.displayId, update });
  }
}

/** Shows a live figure (see `LivePlot`); traces start with the data given, `append` adds to them. */
export function livePlot(figure: PlotFigure, options: LivePlotOptions = {}): LivePlot {
  return new LivePlot(figure, options).show();
}
