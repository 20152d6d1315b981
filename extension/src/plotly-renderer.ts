/**
 * Renderer for `application/vnd.plotly.v1+json` that stays live: an `update_display_data` calls
 * `renderModel` again on the same renderer and we redraw with `Plotly.react` (plotly's own JupyterLab
 * renderer returns early once a plot exists, so updates never appear). A figure carrying `efflab.stream`
 * subscribes over the `efflab.stream.v1` comm and appends streamed points with throttled `extendTraces`.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { openComm, type CommLink, type KernelGetter } from './comm';
import { loadPlotly, themedLayout, themeListeners } from './plotly';
import { FileFormatError } from '../../src/errors';
import { parseStreamMessage, PLOTLY_MIME, STREAM_TARGET, type PlotFigure } from '../../src/protocol';
import { FigureStream, Throttle } from './state/stream';

/** Minimum time between two redraws of one figure (ms). */
export const REDRAW_INTERVAL_MS = 100;

const browserScheduler = {
  now: () => performance.now(),
  setTimeout: (fn: () => void, ms: number): unknown =>
    window.setTimeout(() => requestAnimationFrame(() => fn()), ms),
  clearTimeout: (h: unknown) => window.clearTimeout(h as number),
};

function asFigure(raw: unknown): PlotFigure {
  const f = raw as PlotFigure | null;
  if (!f || typeof f !== 'object' || !Array.isArray(f.data)) {
    throw new FileFormatError(`${PLOTLY_MIME} output has no "data" array of traces`);
  }
  return f;
}

export class LivePlotRenderer extends Widget implements IRenderMime.IRenderer {
  private readonly plotNode: HTMLDivElement;
  private readonly statusNode: HTMLDivElement;
  private stream: FigureStream | null = null;
  private streamId: string | null = null;
  private comm: CommLink | null = null;
  private readonly throttle: Throttle;
  private redraws = 0;
  private drawing: Promise<void> = Promise.resolve();
  private readonly onTheme = (): void => this.throttleReact();

  constructor(
    private readonly mimeType: string,
    private readonly kernel: KernelGetter,
  ) {
    super();
    this.addClass('efflab-plot');
    this.plotNode = document.createElement('div');
    this.plotNode.className = 'efflab-plot-canvas';
    this.statusNode = document.createElement('div');
    this.statusNode.className = 'efflab-plot-status';
    this.node.append(this.plotNode, this.statusNode);
    this.throttle = new Throttle(() => this.flush(), REDRAW_INTERVAL_MS, browserScheduler);
    themeListeners.add(this.onTheme);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    const figure = asFigure(model.data[this.mimeType]);
    const h = figure.layout?.height;
    this.plotNode.style.height = typeof h === 'number' ? `${h}px` : '360px';
    this.stream = new FigureStream(figure);
    this.forceReact = true;
    this.throttle.request();
    const id = figure.efflab?.stream ?? null;
    if (id !== this.streamId) void this.subscribe(id);
    await this.drawing;
  }

  private forceReact = false;

  private async subscribe(id: string | null): Promise<void> {
    this.comm?.close();
    this.comm = null;
    this.streamId = id;
    if (id === null) return;
    const comm = await openComm(
      this.kernel,
      STREAM_TARGET,
      { stream: id },
      (data) => {
        try {
          this.stream?.apply(parseStreamMessage(data));
          this.throttle.request();
        } catch (err) {
          this.statusNode.textContent = `stream error: ${(err as Error).message}`;
        }
      },
      () => {
        this.comm = null;
      },
    );
    if (this.streamId !== id || this.isDisposed) {
      comm?.close();
      return;
    }
    this.comm = comm;
    if (comm === null) this.statusNode.textContent = 'not live: no kernel connection';
  }

  private throttleReact(): void {
    this.forceReact = true;
    this.throttle.request();
  }

  /** One redraw: react after a reset/replace/new model, else extendTraces with all points since the last one. */
  private flush(): void {
    const stream = this.stream;
    if (!stream || this.isDisposed) return;
    let job = stream.takeFlush();
    if (this.forceReact) {
      this.forceReact = false;
      job = { kind: 'react', figure: stream.snapshot() };
    }
    if (!job) return;
    const todo = job;
    this.drawing = this.drawing.then(async () => {
      const Plotly = await loadPlotly();
      if (this.isDisposed) return;
      if (todo.kind === 'react') {
        const f = todo.figure;
        await Plotly.react(this.plotNode, f.data, themedLayout(f.layout), {
          responsive: true,
          ...(f.config ?? {}),
        });
      } else {
        await Plotly.extendTraces(this.plotNode, { x: todo.x, y: todo.y }, todo.traces, todo.maxPoints);
      }
      this.redraws++;
      this.node.dataset.redraws = String(this.redraws);
      this.node.dataset.points = String(stream.length(0));
    });
    this.drawing = this.drawing.catch((err: unknown) => {
      this.statusNode.textContent = `plot error: ${(err as Error).message}`;
    });
  }

  protected override onResize(): void {
    void loadPlotly().then((P) => {
      if (!this.isDisposed && this.plotNode.isConnected)
        void P.Plots.resize(this.plotNode).catch(() => undefined);
    });
  }

  override dispose(): void {
    if (this.isDisposed) return;
    themeListeners.delete(this.onTheme);
    this.throttle.cancel();
    this.comm?.close();
    void loadPlotly().then((P) => P.purge(this.plotNode));
    super.dispose();
  }
}

export function plotlyRendererFactory(kernel: KernelGetter): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [PLOTLY_MIME],
    defaultRank: 0,
    createRenderer: (options) => new LivePlotRenderer(options.mimeType, kernel),
  };
}
