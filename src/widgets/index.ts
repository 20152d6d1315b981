/**
 * Kernel-side counterparts of the efflab JupyterLab extension: the rule-annotation widget with Fleiss'
 * kappa, live plotly figures, the DORM weight tracker and the LoRC layer-sensitivity view.
 */
export { annotateRules, storeAgreement, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_LIVENESS_MS } from './annotate';
export type {
  AnnotateOptions,
  AnnotationResult,
  AnnotatorFunction,
  Decision,
  MatchExample,
  MatchPreview,
  RuleCandidate,
  Verdict,
} from './annotate';
export { fleissKappa, annotationAgreement, type FleissKappa, type AnnotationAgreement } from './kappa';
export { AnnotationStore, storePath } from './store';
export { livePlot, LivePlot, type LivePlotOptions } from './live-plot';
export { weightTracker, WeightTracker, histogram, type WeightTrackerOptions } from './weights';
export {
  sensitivityView,
  sensitivityBundle,
  logCumulativeFrom,
  type SensitivityInput,
  type SensitivityColumns,
  type LorcSensitivityRecord,
  type SensitivityOptions,
} from './sensitivity';
export { AnnotationState, validateCandidates, type AnnotationEvent, type Progress } from '../protocol';
export type { PlotFigure, PlotTrace, LayerSensitivity, LayerSensitivityRow } from '../protocol';
