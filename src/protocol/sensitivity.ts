/**
 * LoRC's layer sensitivity (thesis §5.4.2) as it travels: the per-layer record `lorc.layerSensitivity`
 * returns (declared here once, used by the LoRC code, the kernel-side view and the extension) and the
 * normalised bundle the extension's layer-sensitivity view renders, with its parser.
 */
import { FileFormatError } from '../errors';
import { describe, requireNumbers, requireObject, requireString } from './check';

/** How a LoRC rank schedule was made: Eq. 5.13 (progressive), one rank for all (uniform), or by hand. */
export type ScheduleKind = 'progressive' | 'uniform' | 'custom';

/** One layer of a LoRC sensitivity record. */
export interface LayerSensitivityRow {
  layer: number;
  /** κ(W_k), κ(W_v), Eq. 5.10. */
  kappaK: number;
  kappaV: number;
  /** ln κ̃_l, Eq. 5.12. */
  logCumulativeKappa: number;
  /** Normalised ln κ̃_l in [0, 1]. */
  sensitivity: number;
  /** d_c^l (Eq. 5.13) and whether Algorithm 3 skipped the layer. */
  rank: number;
  skipped: boolean;
  /** ‖W − W̃‖_F/‖W‖_F of W_k and W_v at that rank (appendix G.1). */
  keyError: number;
  valueError: number;
  /** Singular values of W_k and W_v, descending (present when the record was made from an analysis). */
  spectrumK?: number[];
  spectrumV?: number[];
}

/** The JSON-serialisable per-layer LoRC record (`lorc.layerSensitivity`, `lorc.compress(...).report`). */
export interface LayerSensitivity {
  kind: 'lorc-layer-sensitivity';
  version: 1;
  schedule: ScheduleKind;
  /** Requested and achieved overall compression ratios in [0, 1). */
  target: number;
  achieved: number;
  /** Eq. 5.13's d_max (= Hkv·D) and solved d_min. */
  dMax: number;
  dMin: number | null;
  /** The skip rule in words (Algorithm 3 line 7). */
  skipRule: string;
  layers: LayerSensitivityRow[];
}

/** Data of a `SENSITIVITY_MIME` bundle (normalised by the kernel side; see src/widgets/sensitivity.ts). */
export interface SensitivityBundle {
  title: string;
  layers: string[];
  condK: number[];
  condV: number[];
  /** ln κ̃_l, Eq. 5.12 (a log, because the product over layers can overflow a double). */
  logCumulative: number[];
  rank: number[];
  /** d_max of Eq. 5.13, when known. */
  fullDim: number | null;
  /** Relative reconstruction error of W_k at rank d_c (or of the layer, when only one is known). */
  error: number[];
  /** Relative reconstruction error of W_v at rank d_c, when reported separately. */
  errorV: number[] | null;
  /** Layers left uncompressed by the skip rule, when known. */
  skipped: boolean[] | null;
  /** Free-text notes (schedule, skip rule). */
  notes: string[];
  spectraK: number[][] | null;
  spectraV: number[][] | null;
}

function perLayer(b: Record<string, unknown>, key: string, n: number): number[] {
  const v = requireNumbers(b[key], `sensitivity bundle.${key}`, FileFormatError);
  if (v.length !== n)
    throw new FileFormatError(`sensitivity bundle.${key} has ${v.length} entries for ${n} layers`);
  return v;
}

function spectra(b: Record<string, unknown>, key: string, n: number): number[][] | null {
  const v = b[key];
  if (v === null || v === undefined) return null;
  if (!Array.isArray(v) || v.length !== n)
    throw new FileFormatError(
      `sensitivity bundle.${key} must hold one spectrum per layer (${n}), got ${describe(v)}`,
    );
  return v.map((s: unknown, i: number) =>
    requireNumbers(s, `sensitivity bundle.${key}[${i}]`, FileFormatError),
  );
}

/** Checks a `SENSITIVITY_MIME` bundle (from a notebook file or the kernel); throws `FileFormatError`. */
export function parseSensitivityBundle(raw: unknown): SensitivityBundle {
  const b = requireObject(raw, 'sensitivity bundle', FileFormatError);
  if (!Array.isArray(b.layers)) throw new FileFormatError(`sensitivity bundle has no "layers" array`);
  const layers = b.layers.map((l: unknown, i: number) =>
    requireString(l, `sensitivity bundle.layers[${i}]`, FileFormatError),
  );
  const n = layers.length;
  const skipped = b.skipped;
  if (
    skipped !== null &&
    skipped !== undefined &&
    (!Array.isArray(skipped) || skipped.length !== n || !skipped.every((s) => typeof s === 'boolean'))
  )
    throw new FileFormatError(`sensitivity bundle.skipped must hold one boolean per layer (${n})`);
  return {
    title: typeof b.title === 'string' ? b.title : 'Layer sensitivity',
    layers,
    condK: perLayer(b, 'condK', n),
    condV: perLayer(b, 'condV', n),
    logCumulative: perLayer(b, 'logCumulative', n),
    rank: perLayer(b, 'rank', n),
    fullDim: typeof b.fullDim === 'number' ? b.fullDim : null,
    error: perLayer(b, 'error', n),
    errorV: b.errorV === null || b.errorV === undefined ? null : perLayer(b, 'errorV', n),
    skipped: (skipped as boolean[] | null | undefined) ?? null,
    notes: Array.isArray(b.notes) ? b.notes.filter((s): s is string => typeof s === 'string') : [],
    spectraK: spectra(b, 'spectraK', n),
    spectraV: spectra(b, 'spectraV', n),
  };
}
