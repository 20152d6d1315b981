/**
 * `layerSensitivity(...)`: a plain, JSON-serialisable record of the per-layer LoRC quantities, for
 * the notebook's plots and the JupyterLab extension's layer-sensitivity view.
 *
 * Shape (all arrays indexed by layer, 0-based):
 * {
 *   kind: 'lorc-layer-sensitivity', version: 1,
 *   schedule: 'progressive' | 'uniform' | 'custom',
 *   target: number, achieved: number,       // overall compression ratios in [0, 1)
 *   dMax: number, dMin: number | null,       // Eq. 5.13's d_max (= Hkv·D) and solved d_min
 *   skipRule: string,                        // human-readable skip rule (Algorithm 3 line 7)
 *   layers: Array<{
 *     layer: number,
 *     kappaK: number, kappaV: number,        // Eq. 5.10
 *     logCumulativeKappa: number,            // ln κ̃_l, Eq. 5.12
 *     sensitivity: number,                   // normalised ln κ̃_l in [0, 1]
 *     rank: number, skipped: boolean,        // d_c^l (Eq. 5.13) and whether Algorithm 3 skipped it
 *     keyError: number, valueError: number,  // ‖W − W̃‖_F/‖W‖_F at that rank (appendix G.1)
 *     spectrumK: number[], spectrumV: number[], // singular values of W_k, W_v (descending)
 *   }>
 * }
 */
import type { LayerSensitivity, LayerSensitivityRow } from '../../protocol/sensitivity';
import { ValueError } from '../../errors';
import type { LorcAnalysis } from './model';
import { reconstructionErrors } from './model';
import type { RankSchedule, SkipRule } from './schedule';
import { normalisedSensitivity } from './sensitivity';

export type { LayerSensitivity, LayerSensitivityRow };

/** Describe a skip rule in words (for tables and the extension view). */
export function describeSkipRule(rule: SkipRule): string {
  switch (rule.kind) {
    case 'none':
      return 'no layer skipped';
    case 'normalised':
      return `skip layers with normalised ln κ̃ > ${rule.above}`;
    case 'layerKappa':
      return `skip layers with κ(W_k)·κ(W_v) > ${rule.above}`;
    case 'firstLayers':
      return `skip the first ${rule.count} layers`;
  }
}

/**
 * The per-layer sensitivity record of a schedule (Eqs. 5.10, 5.12, 5.13; appendix G.1), with each layer's
 * singular values so the sensitivity view can show the spectra. The skip rule is the schedule's own.
 */
export function layerSensitivity(analysis: LorcAnalysis, schedule: RankSchedule): LayerSensitivity {
  if (!schedule || !Array.isArray(schedule.ranks) || schedule.ranks.length !== analysis.layers.length)
    throw new ValueError(
      `layerSensitivity: the schedule has ${schedule?.ranks?.length ?? 'no'} layers, the analysis ${analysis.layers.length}`,
    );
  const errs = reconstructionErrors(analysis, schedule.ranks);
  const sens = normalisedSensitivity(analysis.logCumulative);
  return {
    kind: 'lorc-layer-sensitivity',
    version: 1,
    schedule: schedule.kind,
    target: schedule.target,
    achieved: schedule.achieved,
    dMax: schedule.dMax,
    dMin: schedule.dMin ?? null,
    skipRule: describeSkipRule(schedule.skipRule),
    layers: analysis.kappas.map((k, l) => ({
      layer: l,
      kappaK: k.kappaK,
      kappaV: k.kappaV,
      logCumulativeKappa: analysis.logCumulative[l],
      sensitivity: sens[l],
      rank: schedule.ranks[l],
      skipped: schedule.skipped[l],
      keyError: errs[l].key,
      valueError: errs[l].value,
      spectrumK: Array.from(analysis.layers[l].key.S),
      spectrumV: Array.from(analysis.layers[l].value.S),
    })),
  };
}
