import type { PlotlyStatic } from 'plotly.js-dist-min';

let loading: Promise<PlotlyStatic> | null = null;

/** plotly.js, loaded on first use (it is large; notebooks without figures never fetch it). */
export function loadPlotly(): Promise<PlotlyStatic> {
  loading ??= import('plotly.js-dist-min').then((m) => m.default);
  return loading;
}

/** The value of a JupyterLab theme variable (e.g. `--jp-ui-font-color1`), or `fallback`. */
export function themeColour(name: string, fallback: string): string {
  return cssVar(name, fallback);
}

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.body).getPropertyValue(name).trim();
  return v.length > 0 ? v : fallback;
}

/**
 * The current JupyterLab theme as plotly layout defaults: transparent backgrounds and the theme's font and
 * grid colours, so figures read in light and dark themes. The figure's own layout wins where it sets a key.
 */
export function themedLayout(layout: Record<string, unknown> | undefined): Record<string, unknown> {
  const fg = cssVar('--jp-ui-font-color1', '#222');
  const grid = cssVar('--jp-border-color2', '#ddd');
  const axis = { gridcolor: grid, zerolinecolor: grid, linecolor: grid };
  const base: Record<string, unknown> = {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: 'rgba(0,0,0,0)',
    font: { color: fg, family: cssVar('--jp-ui-font-family', 'sans-serif') },
    margin: { t: 40, r: 20, b: 40, l: 55 },
    autosize: true,
  };
  const out: Record<string, unknown> = { ...base, ...(layout ?? {}) };
  for (const key of Object.keys(out).concat(['xaxis', 'yaxis'])) {
    if (!/^[xy]axis\d*$/.test(key)) continue;
    const user = (out[key] ?? {}) as Record<string, unknown>;
    out[key] = { ...axis, ...user };
  }
  return out;
}

/** Registry of live plot roots, so a theme change can redraw them all. */
export const themeListeners = new Set<() => void>();
