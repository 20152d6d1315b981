/**
 * efflab's display API for notebook cells: rich outputs, updatable displays, progress bars and comms.
 *
 * ```ts
 * import { display, html, plotly, progress } from 'efflab';
 * display(html('<b>hello</b>'));
 * ```
 */
export { display, updateDisplay, clearOutput, input, type DisplayHandle, type DisplayOptions } from './show';
export {
  html,
  markdown,
  svg,
  json,
  image,
  plotly,
  table,
  escapeHtml,
  RichOutput,
  PLOTLY_CDN,
  type PlotlyFigure,
  type ImageOptions,
} from './objects';
export { progress, track, ProgressBar, type ProgressOptions } from './progress';
export { openComm, registerCommTarget } from './comm';
export {
  DISPLAY,
  QUIET,
  isQuiet,
  represent,
  plainText,
  isDisplayable,
  type Displayable,
  type Representation,
} from './mime';
export {
  getKernelBridge,
  setKernelBridge,
  type KernelBridge,
  type PublishOptions,
  type Comm,
  type CommMessage,
  type CommSendOptions,
  type CommTargetHandler,
  type MimeBundle,
  type Json,
  type JsonObject,
} from './bridge';
export { isFrameLike, frameToHtml, frameToText, type FrameLike } from './table';
