/**
 * The layer-sensitivity view (LoRC, thesis ch. 5): per layer the condition numbers κ(W_k), κ(W_v) and the
 * cumulative κ̃_l (Eq. 5.12) on a log axis, the compressed dimension d_c chosen by Eq. 5.13 and the
 * reconstruction error; hovering shows the values, clicking a layer (or picking it in the menu) shows
 * its singular-value spectrum with d_c marked.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { el } from './dom';
import { loadPlotly, themeColour, themedLayout, themeListeners } from './plotly';
import { parseSensitivityBundle, SENSITIVITY_MIME, type SensitivityBundle } from '../../src/protocol';

export class SensitivityRenderer extends Widget implements IRenderMime.IRenderer {
  private bundle: SensitivityBundle | null = null;
  private selected = 0;
  private readonly heading = el('div', 'efflab-sens-title');
  private readonly picker = el('select', 'efflab-sens-picker');
  private readonly main = el('div', 'efflab-sens-main');
  private readonly spectrum = el('div', 'efflab-sens-spectrum');
  private readonly note = el('div', 'efflab-sens-note');
  private readonly onTheme = (): void => void this.draw();

  constructor() {
    super();
    this.addClass('efflab-sensitivity');
    this.picker.setAttribute('aria-label', 'layer');
    this.picker.addEventListener('change', () => this.select(Number(this.picker.value)));
    const bar = el('div', 'efflab-sens-bar');
    bar.append(el('span', '', 'Spectrum of layer '), this.picker, this.note);
    this.node.append(this.heading, this.main, bar, this.spectrum);
    themeListeners.add(this.onTheme);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    this.bundle = parseSensitivityBundle(model.data[SENSITIVITY_MIME]);
    this.heading.textContent = [this.bundle.title, ...this.bundle.notes].join(' · ');
    this.picker.replaceChildren(
      ...this.bundle.layers.map((name, i) => {
        const o = el('option', '', name);
        o.value = String(i);
        return o;
      }),
    );
    this.selected = Math.min(this.selected, this.bundle.layers.length - 1);
    this.picker.value = String(this.selected);
    await this.draw();
  }

  private async draw(): Promise<void> {
    const b = this.bundle;
    if (!b || this.isDisposed) return;
    const Plotly = await loadPlotly();
    const x = b.layers;
    // κ(W_k), κ(W_v) (single digits to thousands) keep the left log axis to themselves; the cumulative κ̃
    // (a product over layers, ~10^64 for a 30-layer model) is drawn as log10 κ̃ on its own right axis, so it
    // does not flatten the per-layer bars.
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
    const layout = themedLayout({
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
    });
    const gd = await Plotly.react(this.main, data, layout, { responsive: true });
    if (!this.main.dataset.bound) {
      this.main.dataset.bound = 'true';
      gd.on('plotly_click', (ev) => {
        const p = ev.points[0];
        if (p) this.select(p.pointIndex);
      });
    }
    await this.drawSpectrum();
  }

  private select(i: number): void {
    if (!this.bundle || !(i >= 0 && i < this.bundle.layers.length)) return;
    this.selected = i;
    this.picker.value = String(i);
    void this.drawSpectrum();
  }

  private async drawSpectrum(): Promise<void> {
    const b = this.bundle;
    if (!b) return;
    const i = this.selected;
    this.spectrum.dataset.layer = b.layers[i];
    const Plotly = await loadPlotly();
    if (!b.spectraK && !b.spectraV) {
      this.note.textContent = ` — d_c = ${b.rank[i]} (no singular values were supplied for a spectrum)`;
      Plotly.purge(this.spectrum);
      return;
    }
    const errV = b.errorV ? `, W_v ${b.errorV[i].toPrecision(3)}` : '';
    this.note.textContent = ` — d_c = ${b.rank[i]}, error ${b.error[i].toPrecision(3)}${errV}`;
    const traces: Record<string, unknown>[] = [];
    for (const [name, spectra] of [
      ['σ(W_k)', b.spectraK],
      ['σ(W_v)', b.spectraV],
    ] as const) {
      const s = spectra?.[i];
      if (s) traces.push({ type: 'scatter', mode: 'lines', name, x: s.map((_, k) => k + 1), y: s });
    }
    const layout = themedLayout({
      height: 300,
      title: { text: `singular values, ${b.layers[i]}` },
      xaxis: { title: { text: 'index' } },
      yaxis: { type: 'log', title: { text: 'σ (log)' } },
      annotations: [
        {
          x: b.rank[i],
          y: 1,
          yref: 'paper',
          text: `d_c = ${b.rank[i]}`,
          showarrow: false,
          xanchor: 'left',
          yanchor: 'bottom',
        },
      ],
      shapes: [
        {
          type: 'line',
          x0: b.rank[i],
          x1: b.rank[i],
          y0: 0,
          y1: 1,
          yref: 'paper',
          line: { dash: 'dot', width: 2, color: themeColour('--jp-ui-font-color1', '#444') },
        },
      ],
    });
    await Plotly.react(this.spectrum, traces, layout, { responsive: true });
  }

  override dispose(): void {
    themeListeners.delete(this.onTheme);
    super.dispose();
  }
}

export const sensitivityRendererFactory: IRenderMime.IRendererFactory = {
  safe: true,
  mimeTypes: [SENSITIVITY_MIME],
  defaultRank: 0,
  createRenderer: () => new SensitivityRenderer(),
};
