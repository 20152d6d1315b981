/**
 * The layer-sensitivity view for LoRC (thesis ch. 5): per layer κ(W_k), κ(W_v) (Eq. 5.10), the cumulative
 * κ̃_l (Eq. 5.12), the compressed dimension d_c (Eq. 5.13) and the reconstruction error, with each layer's
 * singular-value spectrum on selection. `sensitivityView(input)` returns a displayable output (the last
 * value of a cell, or `display(...)`), carrying text/plain and text/html tables as fallbacks.
 */
import { escapeHtml, RichOutput, type Json } from '../display';
import { SENSITIVITY_MIME, type SensitivityBundle } from '../../extension/src/state/protocol';

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

/** The record `lorc.layerSensitivity(...)` returns (accepted as is). */
export interface LorcSensitivityRecord {
  kind: 'lorc-layer-sensitivity';
  schedule: string;
  target: number;
  achieved: number;
  dMax: number;
  skipRule: string;
  layers: readonly {
    layer: number;
    kappaK: number;
    kappaV: number;
    logCumulativeKappa: number;
    rank: number;
    skipped: boolean;
    keyError: number;
    valueError: number;
  }[];
}

export type SensitivityInput = SensitivityColumns | LorcSensitivityRecord;

export interface SensitivityOptions {
  title?: string;
  /** Spectra to add to a LoRC record (which carries none). */
  spectraK?: readonly ArrayLike<number>[];
  spectraV?: readonly ArrayLike<number>[];
}

function numbers(values: ArrayLike<number> | undefined, name: string, n: number, positive = false): number[] {
  if (values === undefined || typeof values.length !== 'number')
    throw new TypeError(`sensitivityView: "${name}" is missing`);
  if (values.length !== n)
    throw new RangeError(`sensitivityView: "${name}" has ${values.length} entries for ${n} layers`);
  const out = Array.from(values);
  out.forEach((v, i) => {
    if (typeof v !== 'number' || Number.isNaN(v))
      throw new TypeError(`sensitivityView: ${name}[${i}] is ${v}, not a number`);
    if (positive && !(v > 0))
      throw new RangeError(`sensitivityView: ${name}[${i}] is ${v}; condition numbers are > 0`);
  });
  return out;
}

/** ln κ̃_l = Σ_{j ≥ l} ln κ(W_k^j) + ln κ(W_v^j), Eq. 5.12 in log space. */
export function logCumulativeFrom(condK: readonly number[], condV: readonly number[]): number[] {
  const out = new Array<number>(condK.length);
  let acc = 0;
  for (let l = condK.length - 1; l >= 0; l--) {
    acc += Math.log(condK[l]) + Math.log(condV[l]);
    out[l] = acc;
  }
  return out;
}

function spectra(list: readonly ArrayLike<number>[] | undefined, name: string, n: number): number[][] | null {
  if (list === undefined) return null;
  if (list.length !== n)
    throw new RangeError(`sensitivityView: "${name}" has ${list.length} spectra for ${n} layers`);
  return list.map((s, i) => numbers(s, `${name}[${i}]`, s.length));
}

/** Normalises either input form to the bundle the extension renders; throws naming a bad field. */
export function sensitivityBundle(
  input: SensitivityInput,
  options: SensitivityOptions = {},
): SensitivityBundle {
  if (!input || typeof input !== 'object') throw new TypeError('sensitivityView: input must be an object');
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
        spectraK: options.spectraK,
        spectraV: options.spectraV,
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
    throw new TypeError('sensitivityView: "condK" is missing');
  const n = c.condK.length;
  if (n === 0) throw new RangeError('sensitivityView: no layers');
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
    throw new RangeError(`sensitivityView: "layers" has ${layers.length} names for ${n} layers`);
  if (c.skipped && c.skipped.length !== n)
    throw new RangeError(`sensitivityView: "skipped" has ${c.skipped.length} entries for ${n} layers`);
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
