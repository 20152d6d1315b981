/** Live plotly figures: the figure as carried by `PLOTLY_MIME` and the messages streamed to it. */
import { FileFormatError } from '../errors';
import { describe, requireNumbers, requireObject } from './check';

/** A plotly trace: any plotly attributes; x / y are what streams extend. */
export interface PlotTrace {
  x?: unknown[];
  y?: unknown[];
  [attribute: string]: unknown;
}

/** A plotly figure as carried by `application/vnd.plotly.v1+json`, plus efflab's stream link. */
export interface PlotFigure {
  data: PlotTrace[];
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
  /** Present on live figures: the stream to subscribe to over `STREAM_TARGET`. */
  efflab?: { stream: string };
}

/** Messages from the kernel to a live figure. */
export type StreamMessage =
  | { type: 'reset'; figure: PlotFigure }
  | { type: 'extend'; traces: number[]; x: number[][]; y: number[][]; maxPoints?: number }
  | { type: 'replace'; traces: number[]; x: number[][]; y: number[][] };

/** Checks a stream message from the wire; throws `FileFormatError` naming the problem. */
export function parseStreamMessage(raw: unknown): StreamMessage {
  const m = requireObject(raw, 'stream message', FileFormatError);
  if (m.type === 'reset') {
    const f = m.figure as PlotFigure | undefined;
    if (!f || typeof f !== 'object' || !Array.isArray(f.data))
      throw new FileFormatError('stream reset without figure.data');
    return { type: 'reset', figure: f };
  }
  if (m.type === 'extend' || m.type === 'replace') {
    const traces = requireNumbers(m.traces, `stream ${m.type}: traces`, FileFormatError);
    const { x, y } = m;
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== traces.length || y.length !== traces.length) {
      throw new FileFormatError(`stream ${m.type}: x and y need one array per trace (${traces.length})`);
    }
    const xs = x.map((v: unknown, i: number) =>
      requireNumbers(v, `stream ${m.type}: x[${i}]`, FileFormatError),
    );
    const ys = y.map((v: unknown, i: number) =>
      requireNumbers(v, `stream ${m.type}: y[${i}]`, FileFormatError),
    );
    for (let i = 0; i < traces.length; i++) {
      if (xs[i].length !== ys[i].length) {
        throw new FileFormatError(
          `stream ${m.type}: trace ${traces[i]} has ${xs[i].length} x but ${ys[i].length} y`,
        );
      }
    }
    if (m.type === 'replace') return { type: 'replace', traces, x: xs, y: ys };
    const maxPoints = typeof m.maxPoints === 'number' ? m.maxPoints : undefined;
    return { type: 'extend', traces, x: xs, y: ys, maxPoints };
  }
  throw new FileFormatError(`unknown stream message type: ${describe(m.type)}`);
}
