/**
 * The layer-sensitivity figure as plain data (DOM-free, unit-tested): per layer κ(W_k), κ(W_v) (Eq. 5.10) as
 * bars on their own log axis, log10 κ̃_l (Eq. 5.12) on a second axis, and below them d_c (Eq. 5.13) with the
 * reconstruction errors. κ̃ is a product over layers (about 10^64 for a 30-layer model); on the κ axis it
 * would flatten the per-layer bars, so it never shares that axis.
 */
import type { SensitivityBundle } from '../../../src/protocol';

/** Traces and layout (before theming) of the main figure. */
export function sensitivityFigure(b: SensitivityBundle): {
  data: Record<string, unknown>[];
  layout: Record<string, unknown>;
} {
  const x = b.layers;
  const errorName = b.errorV ? 'reconstruction error W_k' : 'reconstruction error';
  const data: Record<string, unknown>[] = [
    { type: 'bar', name: 'κ(W_k)', x, y: b.condK, hovertemplate: '%{x}: κ(W_k) = %{y:.4g}<extra></extra>' },
    { type: 'bar', name: 'κ(W_v)', x, y: b.condV, hovertemplate: '%{x}: κ(W_v) = %{y:.4g}<extra></extra>' },
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: 'log10 cumulative κ̃ (Eq. 5.12, right axis)',
      x,
      y: b.logCumulative.map((l) => l / Math.LN10),
      yaxis: 'y4',
      hovertemplate: '%{x}: log10 κ̃ = %{y:.4g}<extra></extra>',
    },
    {
      type: 'bar',
      name: 'd_c (Eq. 5.13)',
      x,
      y: b.rank,
      xaxis: 'x2',
      yaxis: 'y2',
      hovertemplate: `%{x}: d_c = %{y}${b.fullDim ? ` of ${b.fullDim}` : ''}%{customdata}<extra></extra>`,
      customdata: b.layers.map((_, i) => (b.skipped?.[i] ? ' (skipped: not compressed)' : '')),
    },
    {
      type: 'scatter',
      mode: 'lines+markers',
      name: errorName,
      x,
      y: b.error,
      xaxis: 'x2',
      yaxis: 'y3',
      hovertemplate: '%{x}: error = %{y:.4g}<extra></extra>',
    },
  ];
  if (b.errorV) {
    data.push({
      type: 'scatter',
      mode: 'lines+markers',
      name: 'reconstruction error W_v',
      x,
      y: b.errorV,
      xaxis: 'x2',
      yaxis: 'y3',
      hovertemplate: '%{x}: error(W_v) = %{y:.4g}<extra></extra>',
    });
  }
  const layout = {
    barmode: 'group',
    height: 520,
    grid: { rows: 2, columns: 1, pattern: 'independent' },
    yaxis: { type: 'log', title: { text: 'κ(W_k), κ(W_v) (log)' } },
    xaxis2: { matches: 'x' },
    yaxis2: { title: { text: 'd_c' }, rangemode: 'tozero' },
    yaxis3: {
      title: { text: 'error', standoff: 12 },
      overlaying: 'y2',
      side: 'right',
      showgrid: false,
      automargin: true,
    },
    yaxis4: {
      title: { text: 'log10 κ̃', standoff: 12 },
      overlaying: 'y',
      side: 'right',
      showgrid: false,
      automargin: true,
    },
    legend: { orientation: 'h', y: -0.12 },
    hovermode: 'x unified',
  };
  return { data, layout };
}

/** The line beside the layer menu: the rank and errors, or why no spectrum can be drawn. */
export function spectrumNote(b: SensitivityBundle, i: number): string {
  if (!b.spectraK && !b.spectraV)
    return ` — d_c = ${b.rank[i]} (this view was given no singular values; pass spectraK / spectraV)`;
  const errV = b.errorV ? `, W_v ${b.errorV[i].toPrecision(3)}` : '';
  return ` — d_c = ${b.rank[i]}, error ${b.error[i].toPrecision(3)}${errV}`;
}
