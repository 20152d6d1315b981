/**
 * After a page reload, a cell that is still waiting on the annotation widget has lost its output (outputs
 * of a running cell are not in the saved notebook), and the kernel stays busy with nothing on screen. When
 * an efflab notebook's kernel is ready, we ask the kernel (a probe on the annotate comm target) which cells
 * wait for an annotator, and show each such widget again beside the notebook, with its saved decisions,
 * so the annotator can finish and Submit.
 */
import { Widget } from '@lumino/widgets';
import { AnnotateRenderer, shownSessions } from './annotate-widget';
import { openComm, type KernelGetter } from './comm';
import { ANNOTATE_TARGET, parseAnnotateServerMessage, type AnnotateBundle } from '../../src/protocol';

/** Where a recovered widget goes (the JupyterLab shell, injected so this module stays testable). */
export type ShowWidget = (widget: Widget) => void;

/** How long after the kernel is ready the probe waits, so outputs restored from the file render first. */
const SETTLE_MS = 1500;

/** Asks the notebook's kernel for waiting annotation cells and shows those not already on the page. */
export async function recoverPendingAnnotations(kernel: KernelGetter, place: ShowWidget): Promise<number> {
  await new Promise((r) => window.setTimeout(r, SETTLE_MS));
  const bundles = await new Promise<AnnotateBundle[]>((resolve) => {
    let link: { close(): void } | null = null;
    let done = false;
    const finish = (b: AnnotateBundle[]): void => {
      if (!done) resolve(b);
      done = true;
    };
    window.setTimeout(() => finish([]), 10_000);
    void openComm(
      kernel,
      ANNOTATE_TARGET,
      { probe: true },
      (data) => {
        try {
          const msg = parseAnnotateServerMessage(data);
          finish(msg.type === 'pending' ? msg.bundles : []);
        } catch {
          finish([]);
        }
        link?.close();
      },
      // No annotate target in the kernel: no cell ever showed the widget, so nothing waits.
      () => finish([]),
    ).then((l) => {
      link = l;
      if (!l) finish([]);
    });
  });
  let shown = 0;
  for (const bundle of bundles) {
    if (shownSessions.has(bundle.session)) continue;
    const widget = new AnnotateRenderer(kernel);
    widget.id = `efflab-annotate-${bundle.session}`;
    widget.title.label = `Waiting: ${bundle.title}`;
    widget.title.closable = true;
    place(widget);
    await widget.showBundle(
      bundle,
      'the page was reloaded while a cell waited on this widget; annotate here and press Submit',
    );
    shown++;
  }
  return shown;
}
