/**
 * The wire contract between the efflab library (kernel side) and this extension: MIME types, comm target
 * names and message shapes. Documented for users in extension/README.md. DOM-free; imported by both sides.
 */
import type { Decision, RuleCandidate } from './annotation';

/** Plotly figures (the standard type, rendered live by this extension). */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
/** The rule-annotation widget. */
export const ANNOTATE_MIME = 'application/vnd.efflab.annotate.v1+json';
/** The layer-sensitivity view. */
export const SENSITIVITY_MIME = 'application/vnd.efflab.sensitivity.v1+json';

/** Kernel-side comm target the annotation widget opens (frontend → kernel comm_open). */
export const ANNOTATE_TARGET = 'efflab.annotate.v1';
/** Kernel-side comm target a live figure opens to receive streamed points. */
export const STREAM_TARGET = 'efflab.stream.v1';
/** How often an open annotation widget pings the kernel (ms). */
export const PING_INTERVAL_MS = 15_000;

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

/** The data of an `ANNOTATE_MIME` bundle. */
export interface AnnotateBundle {
  /** One call of annotateRules; the comm is opened with `{ session }`. */
  session: string;
  /** The store file (relative to the notebook) the decisions are saved in. */
  store: string;
  annotator: string;
  title: string;
  candidates: RuleCandidate[];
}

/** Frontend → kernel on the annotate comm. */
export type AnnotateClientMessage =
  | { type: 'decide'; decision: Decision }
  | { type: 'retract'; candidateId: string; annotator: string }
  | { type: 'submit'; annotator: string }
  /** Sent every `PING_INTERVAL_MS` while the widget is open, so the kernel knows someone is there. */
  | { type: 'ping' };

/** Kernel → frontend on the annotate comm. */
export type AnnotateServerMessage =
  /** Sent on open: every saved decision (all annotators); `active` is false once the call has resolved. */
  | { type: 'state'; decisions: Decision[]; active: boolean }
  /** A decision or retraction was written to the store; `saved` counts this annotator's saved decisions. */
  | { type: 'saved'; saved: number }
  | { type: 'submitted'; annotator: string; count: number }
  | { type: 'error'; message: string };

/** Data of a `SENSITIVITY_MIME` bundle (normalised by the kernel side; see src/widgets/sensitivity.ts). */
export interface SensitivityBundle {
  title: string;
  layers: string[];
  condK: number[];
  condV: number[];
  /** ln κ̃_l, Eq. 5.12 (a log, because the product over layers can overflow a double). */
  logCumulative: number[];
  rank: number[];
  /** d_max of Eq. 5.13, when known. */
  fullDim: number | null;
  /** Relative reconstruction error of W_k at rank d_c (or of the layer, when only one is known). */
  error: number[];
  /** Relative reconstruction error of W_v at rank d_c, when reported separately. */
  errorV: number[] | null;
  /** Layers left uncompressed by the skip rule, when known. */
  skipped: boolean[] | null;
  /** Free-text notes (schedule, skip rule). */
  notes: string[];
  spectraK: number[][] | null;
  spectraV: number[][] | null;
}

function isNumberArray(v: unknown): v is number[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

/** Checks a stream message from the wire; throws naming the problem. */
export function parseStreamMessage(raw: unknown): StreamMessage {
  if (typeof raw !== 'object' || raw === null) throw new TypeError('stream message is not an object');
  const m = raw as Record<string, unknown>;
  if (m.type === 'reset') {
    const f = m.figure as PlotFigure | undefined;
    if (!f || !Array.isArray(f.data)) throw new TypeError('stream reset without figure.data');
    return { type: 'reset', figure: f };
  }
  if (m.type === 'extend' || m.type === 'replace') {
    const { traces, x, y } = m;
    if (!isNumberArray(traces)) throw new TypeError(`stream ${m.type}: traces must be numbers`);
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== traces.length || y.length !== traces.length) {
      throw new TypeError(`stream ${m.type}: x and y need one array per trace (${traces.length})`);
    }
    if (!x.every(isNumberArray) || !y.every(isNumberArray)) {
      throw new TypeError(`stream ${m.type}: x and y must hold arrays of numbers`);
    }
    for (let i = 0; i < traces.length; i++) {
      if (x[i].length !== y[i].length) {
        throw new TypeError(`stream ${m.type}: trace ${traces[i]} has ${x[i].length} x but ${y[i].length} y`);
      }
    }
    if (m.type === 'replace') return { type: 'replace', traces, x, y };
    const maxPoints = typeof m.maxPoints === 'number' ? m.maxPoints : undefined;
    return { type: 'extend', traces, x, y, maxPoints };
  }
  throw new TypeError(`unknown stream message type ${JSON.stringify(m.type)}`);
}
