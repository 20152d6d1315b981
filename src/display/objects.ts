/**
 * Displayable objects: HTML, Markdown, images, SVG, JSON, Plotly figures and tables. Each can be
 * a cell's last value or be passed to `display()`.
 */
import { ValueError } from '../errors';
import { describe } from '../protocol/check';
import { randomUUID } from 'node:crypto';
import type { Json, JsonObject, MimeBundle } from './bridge';
import { DISPLAY, plainText, type Displayable, type Representation } from './mime';
import { escapeHtml, frameToHtml, frameToText, isFrameLike, type FrameLike } from './table';

/** A fixed bundle that displays as itself. */
export class RichOutput implements Displayable {
  constructor(
    readonly data: MimeBundle,
    readonly metadata: JsonObject = {},
  ) {}

  [DISPLAY](): Representation {
    return { data: this.data, metadata: this.metadata };
  }
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new ValueError(`${what}: expected a string, got ${describe(value)}`);
  return value;
}

/** HTML content (with a text fallback of the same markup). */
export function html(markup: string): RichOutput {
  text(markup, 'html()');
  return new RichOutput({ 'text/html': markup, 'text/plain': markup });
}

/** Markdown content (rendered by the frontend; shown as source elsewhere). */
export function markdown(source: string): RichOutput {
  text(source, 'markdown()');
  return new RichOutput({ 'text/markdown': source, 'text/plain': source });
}

/** SVG markup. */
export function svg(markup: string): RichOutput {
  text(markup, 'svg()');
  return new RichOutput({ 'image/svg+xml': markup, 'text/plain': '<SVG image>' });
}

/** A JSON tree viewer where the frontend has one. */
export function json(value: Json): RichOutput {
  if (
    value === undefined ||
    typeof value === 'function' ||
    typeof value === 'symbol' ||
    typeof value === 'bigint'
  )
    throw new ValueError(`json(): expected a JSON value, got ${describe(value)}`);
  return new RichOutput({ 'application/json': value, 'text/plain': plainText(value) });
}

/** Image size hints, in CSS pixels. */
export interface ImageOptions {
  width?: number;
  height?: number;
  /** MIME type; guessed from the bytes when omitted. */
  mime?: 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp';
}

/** The MIME type of an encoded image, from its magic bytes. */
export function sniffImage(bytes: Uint8Array): ImageOptions['mime'] {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return 'image/png';
  if (bytes[0] === 0xff && bytes[1] === 0xd8) return 'image/jpeg';
  if (bytes[0] === 0x47 && bytes[1] === 0x49 && bytes[2] === 0x46) return 'image/gif';
  if (bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return 'image/webp';
  return undefined;
}

/** An encoded image (PNG, JPEG, GIF or WebP bytes). */
export function image(bytes: Uint8Array, options: ImageOptions = {}): RichOutput {
  if (!(bytes instanceof Uint8Array))
    throw new ValueError(
      `image(): expected the encoded bytes as a Uint8Array (e.g. fs.readFileSync), got ${describe(bytes)}`,
    );
  const mime = options.mime ?? sniffImage(bytes);
  if (!mime) throw new ValueError('image(): unknown image format; pass options.mime');
  const size: JsonObject = {};
  if (options.width !== undefined) size.width = options.width;
  if (options.height !== undefined) size.height = options.height;
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
  return new RichOutput(
    { [mime]: data, 'text/plain': `<${mime} image, ${bytes.byteLength} bytes>` },
    Object.keys(size).length ? { [mime]: size } : {},
  );
}

/** A Plotly figure: traces, layout and config as plotly.js takes them. */
export interface PlotlyFigure {
  data: JsonObject[];
  layout?: JsonObject;
  config?: JsonObject;
}

/** The plotly.js build the HTML fallback loads when the frontend has no Plotly renderer. */
export const PLOTLY_CDN = 'https://cdn.plot.ly/plotly-2.35.2.min.js';

function plotlySummary(figure: PlotlyFigure): string {
  const kinds = figure.data.map((t) => (typeof t.type === 'string' ? t.type : 'scatter'));
  const title = figure.layout?.title;
  const titleText =
    typeof title === 'string'
      ? title
      : title && typeof title === 'object' && !Array.isArray(title)
        ? title.text
        : undefined;
  return `Plotly figure: ${figure.data.length} trace(s) (${kinds.join(', ')})${typeof titleText === 'string' ? `, "${titleText}"` : ''}`;
}

/**
 * A Plotly figure as `application/vnd.plotly.v1+json` (JupyterLab's Plotly renderer), with a
 * self-loading `text/html` fallback and a one-line `text/plain` summary.
 */
export function plotly(figure: PlotlyFigure): RichOutput {
  if (figure === null || typeof figure !== 'object' || !Array.isArray(figure.data))
    throw new ValueError(
      `plotly(): expected a figure { data: [traces…], layout?, config? }, got ${describe(figure)}`,
    );
  const spec: JsonObject = { data: figure.data, layout: figure.layout ?? {}, config: figure.config ?? {} };
  const id = `efflab-plot-${randomUUID()}`;
  const payload = JSON.stringify(spec).replace(/</g, '\\u003c');
  const fallback =
    `<div id="${id}" style="height:${typeof figure.layout?.height === 'number' ? figure.layout.height : 420}px"></div>` +
    `<script>(function(){var s=${payload};function draw(){window.Plotly.newPlot("${id}",s.data,s.layout,s.config);}` +
    `if(window.Plotly){draw();}else{var t=document.createElement("script");t.src="${PLOTLY_CDN}";t.onload=draw;document.head.appendChild(t);}})();</script>`;
  return new RichOutput({
    'application/vnd.plotly.v1+json': spec,
    'text/html': fallback,
    'text/plain': plotlySummary(figure),
  });
}

/** Row objects (like `[{a: 1, b: 2}, …]`) shaped as a frame for the table renderer. */
function rowsToFrame(rows: readonly Record<string, unknown>[]): FrameLike {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return {
    index: rows.map((_, i) => i),
    columns,
    values: rows.map((r) => columns.map((c) => r[c])),
    shape: [rows.length, columns.length],
  };
}

/** A table from a danfojs DataFrame/Series or an array of row objects. */
export function table(
  source: FrameLike | readonly Record<string, unknown>[],
  options: { maxRows?: number } = {},
): RichOutput {
  const frame = isFrameLike(source) ? source : Array.isArray(source) ? rowsToFrame(source) : undefined;
  if (!frame) throw new ValueError('table(): expected a danfojs DataFrame/Series or an array of row objects');
  return new RichOutput({
    'text/html': frameToHtml(frame, options.maxRows),
    'text/plain': frameToText(frame, options.maxRows),
  });
}

/** Escapes text for use inside `html()`. */
export { escapeHtml };
