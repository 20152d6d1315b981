// The parts of plotly.js (plotly.js-dist-min ships no types) that this extension calls.
declare module 'plotly.js-dist-min' {
  export interface PlotlyElement extends HTMLElement {
    on(
      event: 'plotly_click' | 'plotly_hover',
      handler: (event: { points: { pointIndex: number; x: unknown }[] }) => void,
    ): void;
  }
  export interface PlotlyStatic {
    react(
      root: HTMLElement,
      data: unknown[],
      layout?: Record<string, unknown>,
      config?: Record<string, unknown>,
    ): Promise<PlotlyElement>;
    extendTraces(
      root: HTMLElement,
      update: { x: unknown[][]; y: unknown[][] },
      indices: number[],
      maxPoints?: number,
    ): Promise<PlotlyElement>;
    purge(root: HTMLElement): void;
    Plots: { resize(root: HTMLElement): Promise<void> };
  }
  const Plotly: PlotlyStatic;
  export default Plotly;
}
