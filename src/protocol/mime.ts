/**
 * Names shared by the kernel-side library and the JupyterLab extension: MIME types of the outputs the
 * extension renders and the comm targets they talk over. Documented for users in extension/README.md.
 */

/** Plotly figures (the standard type, rendered live by the extension). */
export const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
/** The rule-annotation widget. */
export const ANNOTATE_MIME = 'application/vnd.efflab.annotate.v1+json';
/** The layer-sensitivity view. */
export const SENSITIVITY_MIME = 'application/vnd.efflab.sensitivity.v1+json';

/** Kernel-side comm target the annotation widget opens (frontend → kernel comm_open). */
export const ANNOTATE_TARGET = 'efflab.annotate.v1';
/** Kernel-side comm target a live figure opens to receive streamed points. */
export const STREAM_TARGET = 'efflab.stream.v1';
/** How often an open annotation widget pings the kernel (ms). */
export const PING_INTERVAL_MS = 15_000;
