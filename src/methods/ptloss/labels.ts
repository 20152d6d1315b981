/**
 * Labels of the PTLoss notebook's tables and figures, derived from the settings and results they
 * describe (so a preset that searches orders 1..2 is never called "3-order").
 */
import type { ExperimentSettings, SeedResult } from './experiment';

/** "order 1" or "orders 1..N" for a search over orders 1..maxOrder (Algorithm 2). */
export function searchedOrders(settings: Pick<ExperimentSettings, 'maxOrder'>): string {
  return settings.maxOrder === 1 ? 'order 1' : `orders 1..${settings.maxOrder}`;
}

/** The selected order per teacher across seeds, e.g. "2, 1, 3" (seed-major, teacher order within a seed). */
export function chosenOrders(results: readonly SeedResult[]): string {
  return results.map((r) => r.teachers.map((t) => t.bestOrder).join(', ')).join('; ');
}

/** Claims-table label of the PTLoss row: what was searched and what was chosen. */
export function ptlossClaimLabel(
  settings: Pick<ExperimentSettings, 'maxOrder' | 'trialsPerOrder'>,
  results: readonly SeedResult[],
): string {
  return `PTLoss (${searchedOrders(settings)} × ${settings.trialsPerOrder} draws searched; chosen order per teacher: ${chosenOrders(results)}) beats the baselines`;
}

/** Plotly layout fields of the simplex figure: a title naming the chosen trial, kept clear of the top vertex's label. */
export type SimplexLayout = {
  title: { text: string; x: number; xanchor: 'left'; y: number; yanchor: 'top' };
  margin: { t: number; l: number; r: number; b: number };
  ternary: {
    domain: { x: [number, number]; y: [number, number] };
    aaxis: { title: { text: string } };
    baxis: { title: { text: string } };
    caxis: { title: { text: string } };
  };
  legend: { orientation: 'h'; y: number };
  height: number;
};

/**
 * Layout of the teacher → proxy → p* simplex plot for the chosen trial. The ternary's top-vertex label
 * sits above its domain, so the domain stops at 82% of the plot height and the title is pinned to the top
 * edge; the legend goes below the plot.
 */
export function simplexLayout(best: { index: number; order: number }, height = 560): SimplexLayout {
  return {
    title: {
      text: `Teacher → proxy teacher (trial ${best.index}, order ${best.order}) vs p*, test points`,
      x: 0.02,
      xanchor: 'left',
      y: 0.98,
      yanchor: 'top',
    },
    margin: { t: 90, l: 60, r: 60, b: 60 },
    ternary: {
      domain: { x: [0, 1], y: [0, 0.82] },
      aaxis: { title: { text: 'class 0' } },
      baxis: { title: { text: 'class 1' } },
      caxis: { title: { text: 'class 2' } },
    },
    legend: { orientation: 'h', y: -0.08 },
    height,
  };
}
