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
import { sensitivityFigure, spectrumNote } from './state/sensitivity-figure';

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
    const fig = sensitivityFigure(b);
    const data = fig.data;
    const layout = themedLayout(fig.layout);
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
    this.note.textContent = spectrumNote(b, i);
    if (!b.spectraK && !b.spectraV) {
      Plotly.purge(this.spectrum);
      return;
    }
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
