/**
 * The layer-sensitivity view for LoRC (thesis ch. 5): per layer κ(W_k), κ(W_v) (Eq. 5.10), the cumulative
 * κ̃_l (Eq. 5.12), the compressed dimension d_c (Eq. 5.13) and the reconstruction error, with each layer's
 * singular-value spectrum on selection. `sensitivityView(input)` returns a displayable output (the last
 * value of a cell, or `display(...)`), carrying text/plain and text/html tables as fallbacks.
 */
import { escapeHtml, RichOutput, type Json } from '../display';
import { ShapeError, ValueError } from '../errors';
import { logCumulativeKappa } from '../methods/lorc/sensitivity';
import { SENSITIVITY_MIME, type LayerSensitivity, type SensitivityBundle } from '../protocol';

/** Plain arrays, one entry per layer (the view's own input form). */
export interface SensitivityColumns {
  /** Layer names (default "layer 0", "layer 1", …). */
  layers?: readonly (string | number)[];
  /** κ(W_k) per layer, Eq. 5.10. */
  condK: ArrayLike<number>;
  /** κ(W_v) per layer. */
  condV: ArrayLike<number>;
  /** κ̃_l per layer (Eq. 5.12); computed from condK, condV when both this and logCumulative are absent. */
  cumulative?: ArrayLike<number>;
  /** ln κ̃_l per layer (preferred over `cumulative` for deep models: the product overflows). */
  logCumulative?: ArrayLike<number>;
  /** Chosen compressed dimension d_c per layer (Eq. 5.13). */
  rank: ArrayLike<number>;
  /** d_max, the uncompressed dimension. */
  fullDim?: number;
  /** Relative reconstruction error per layer (of W_k, or of the layer). */
  error: ArrayLike<number>;
  /** Relative reconstruction error of W_v, when reported separately. */
  errorV?: ArrayLike<number>;
  /** Layers the skip rule left uncompressed. */
  skipped?: readonly boolean[];
  /** Singular values of W_k / W_v per layer (descending), shown when a layer is selected. */
  spectraK?: readonly ArrayLike<number>[];
  spectraV?: readonly ArrayLike<number>[];
}

/** The record `lorc.layerSensitivity(...)` returns (accepted as is; declared once in src/protocol). */
export type LorcSensitivityRecord = LayerSensitivity;

export type SensitivityInput = SensitivityColumns | LorcSensitivityRecord;

export interface SensitivityOptions {
  title?: string;
  /** Spectra to show (default: those the LoRC record carries, if any). */
  spectraK?: readonly ArrayLike<number>[];
  spectraV?: readonly ArrayLike<number>[];
}

function numbers(values: ArrayLike<number> | undefined, name: string, n: number, positive = false): number[] {
  if (values === undefined || values === null || typeof values.length !== 'number')
    throw new ValueError(`sensitivityView: "${name}" is missing`);
  if (values.length !== n)
    throw new ShapeError(`sensitivityView: "${name}" has ${values.length} entries for ${n} layers`);
  const out = Array.from(values);
  out.forEach((v, i) => {
    if (typeof v !== 'number' || Number.isNaN(v))
      throw new ValueError(`sensitivityView: ${name}[${i}] is ${v}, not a number`);
    if (positive && !(v >= 1))
      throw new ValueError(`sensitivityView: ${name}[${i}] is ${v}; condition numbers are ≥ 1`);
  });
  return out;
}

/** ln κ̃_l from per-layer κ(W_k), κ(W_v): Eq. 5.12 in log space (`lorc.logCumulativeKappa`, the one implementation). */
export function logCumulativeFrom(condK: readonly number[], condV: readonly number[]): number[] {
  if (condK.length !== condV.length)
    throw new ShapeError(`logCumulativeFrom: ${condK.length} κ(W_k) for ${condV.length} κ(W_v)`);
  return logCumulativeKappa(condK.map((kappaK, l) => ({ kappaK, kappaV: condV[l] })));
}

function spectra(list: readonly ArrayLike<number>[] | undefined, name: string, n: number): number[][] | null {
  if (list === undefined) return null;
  if (list.length !== n)
    throw new ShapeError(`sensitivityView: "${name}" has ${list.length} spectra for ${n} layers`);
  return list.map((s, i) => numbers(s, `${name}[${i}]`, s.length));
}

/** The spectra a LoRC record carries, when every layer has one. */
function recordSpectra(
  rows: LayerSensitivity['layers'],
  key: 'spectrumK' | 'spectrumV',
): number[][] | undefined {
  return rows.every((r) => Array.isArray(r[key])) ? rows.map((r) => r[key] as number[]) : undefined;
}

/** Normalises either input form to the bundle the extension renders; throws naming a bad field. */
export function sensitivityBundle(
  input: SensitivityInput,
  options: SensitivityOptions = {},
): SensitivityBundle {
  if (!input || typeof input !== 'object') throw new ValueError('sensitivityView: input must be an object');
  if ('kind' in input && input.kind === 'lorc-layer-sensitivity') {
    const rows = input.layers;
    return sensitivityBundle(
      {
        layers: rows.map((r) => `layer ${r.layer}`),
        condK: rows.map((r) => r.kappaK),
        condV: rows.map((r) => r.kappaV),
        logCumulative: rows.map((r) => r.logCumulativeKappa),
        rank: rows.map((r) => r.rank),
        fullDim: input.dMax,
        error: rows.map((r) => r.keyError),
        errorV: rows.map((r) => r.valueError),
        skipped: rows.map((r) => r.skipped),
        spectraK: options.spectraK ?? recordSpectra(rows, 'spectrumK'),
        spectraV: options.spectraV ?? recordSpectra(rows, 'spectrumV'),
      },
      {
        title:
          options.title ??
          `LoRC layer sensitivity (${input.schedule} schedule, target ${(input.target * 100).toFixed(0)} %, ` +
            `achieved ${(input.achieved * 100).toFixed(1)} %; ${input.skipRule})`,
      },
    );
  }
  const c = input as SensitivityColumns;
  if (!c.condK || typeof c.condK.length !== 'number')
    throw new ValueError('sensitivityView: "condK" is missing');
  const n = c.condK.length;
  if (n === 0) throw new ValueError('sensitivityView: no layers');
  const condK = numbers(c.condK, 'condK', n, true);
  const condV = numbers(c.condV, 'condV', n, true);
  const logCumulative =
    c.logCumulative !== undefined
      ? numbers(c.logCumulative, 'logCumulative', n)
      : c.cumulative !== undefined
        ? numbers(c.cumulative, 'cumulative', n, true).map(Math.log)
        : logCumulativeFrom(condK, condV);
  const layers = c.layers ? c.layers.map(String) : condK.map((_, i) => `layer ${i}`);
  if (layers.length !== n)
    throw new ShapeError(`sensitivityView: "layers" has ${layers.length} names for ${n} layers`);
  if (c.skipped && c.skipped.length !== n)
    throw new ShapeError(`sensitivityView: "skipped" has ${c.skipped.length} entries for ${n} layers`);
  return {
    title: options.title ?? 'Layer sensitivity (LoRC)',
    layers,
    condK,
    condV,
    logCumulative,
    rank: numbers(c.rank, 'rank', n),
    fullDim: c.fullDim ?? null,
    error: numbers(c.error, 'error', n),
    errorV: c.errorV === undefined ? null : numbers(c.errorV, 'errorV', n),
    skipped: c.skipped ? [...c.skipped] : null,
    notes: [],
    spectraK: spectra(c.spectraK ?? options.spectraK, 'spectraK', n),
    spectraV: spectra(c.spectraV ?? options.spectraV, 'spectraV', n),
  };
}

function fmt(v: number): string {
  return Number.isFinite(v) ? v.toPrecision(4) : String(v);
}

function tableRows(b: SensitivityBundle): string[][] {
  return b.layers.map((name, i) => [
    name,
    fmt(b.condK[i]),
    fmt(b.condV[i]),
    fmt(b.logCumulative[i] / Math.LN10),
    `${b.rank[i]}${b.fullDim ? `/${b.fullDim}` : ''}${b.skipped?.[i] ? ' (skipped)' : ''}`,
    fmt(b.error[i]) + (b.errorV ? ` / ${fmt(b.errorV[i])}` : ''),
  ]);
}

const HEAD = ['layer', 'κ(W_k)', 'κ(W_v)', 'log10 κ̃', 'd_c', 'error (K / V)'];

/** A displayable layer-sensitivity view with text/plain and text/html table fallbacks. */
export function sensitivityView(input: SensitivityInput, options: SensitivityOptions = {}): RichOutput {
  const b = sensitivityBundle(input, options);
  const rows = tableRows(b);
  const widths = HEAD.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (r: string[]) => r.map((cell, j) => cell.padEnd(widths[j])).join('  ');
  const text = [b.title, line(HEAD), ...rows.map(line)].join('\n');
  const html =
    `<p>${escapeHtml(b.title)}</p><table><tr>${HEAD.map((h) => `<th>${escapeHtml(h)}</th>`).join('')}</tr>` +
    rows.map((r) => `<tr>${r.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`).join('') +
    '</table>';
  return new RichOutput({
    [SENSITIVITY_MIME]: JSON.parse(JSON.stringify(b)) as Json,
    'text/html': html,
    'text/plain': text,
  });
}
