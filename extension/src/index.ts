/**
 * efflab's JupyterLab extension: live plotly figures, the rule-annotation widget and the layer-sensitivity
 * view. Renderers that talk to the kernel are added to each notebook's own rendermime registry, bound to
 * that notebook's session, so their comms reach the right kernel.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { IThemeManager } from '@jupyterlab/apputils';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { annotateRendererFactory } from './annotate-widget';
import { plotlyRendererFactory } from './plotly-renderer';
import { recoverPendingAnnotations } from './pending';
import { loadPlotly, themeListeners } from './plotly';
import { sensitivityRendererFactory } from './sensitivity-view';

/** Rank below the defaults (100) so ours win over other renderers of the same MIME types. */
const RANK = 0;

function attach(app: JupyterFrontEnd, panel: NotebookPanel): void {
  const kernel = async () => {
    await panel.sessionContext.ready;
    return panel.sessionContext.session?.kernel ?? null;
  };
  const rm = panel.content.rendermime;
  rm.addFactory(plotlyRendererFactory(kernel), RANK);
  rm.addFactory(annotateRendererFactory(kernel), RANK);
  rm.addFactory(sensitivityRendererFactory, RANK);
  // plotly.js is 4.6 MB: parse it while the browser is idle once an efflab notebook is open, not when the
  // first figure arrives (on a busy machine that parse stalls the page for seconds).
  void panel.sessionContext.ready.then(() => {
    if (panel.sessionContext.session?.kernel?.name !== 'efflab') return;
    void recoverPendingAnnotations(kernel, (widget) =>
      app.shell.add(widget, 'main', { mode: 'split-bottom', ref: panel.id }),
    );
    const idle = (window as { requestIdleCallback?: (cb: () => void) => number }).requestIdleCallback;
    if (idle) idle(() => void loadPlotly());
    else window.setTimeout(() => void loadPlotly(), 2000);
  });
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'efflab-extension:plugin',
  description: 'Live plotly figures, rule annotation and layer-sensitivity views for the efflab kernel.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry],
  optional: [IThemeManager],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    themes: IThemeManager | null,
  ) => {
    // Outside notebooks (consoles, output views) figures render but cannot stream.
    rendermime.addFactory(
      plotlyRendererFactory(async () => null),
      RANK,
    );
    rendermime.addFactory(sensitivityRendererFactory, RANK);
    tracker.forEach((panel) => attach(app, panel));
    tracker.widgetAdded.connect((_, panel) => attach(app, panel));
    themes?.themeChanged.connect(() => {
      // Let the new theme's CSS variables apply before figures read them.
      window.setTimeout(() => themeListeners.forEach((redraw) => redraw()), 50);
    });
    document.body.dataset.efflabExtension = 'active';
  },
};

export default plugin;
