/**
 * Sizes for the DORM walkthrough (notebooks/03-dorm.ipynb): `quick` for CI, `default` the full real task,
 * `thesis` a larger head and longer training. Chosen in the notebook's first cell from EFFLAB_PRESET.
 */
import { ConfigError } from '../../errors';

export interface DormPreset {
  name: 'quick' | 'default' | 'thesis';
  /** HH-RLHF pairs to use (undefined: all 2,308 with non-empty replies). */
  realPairs?: number;
  syntheticPairs: number;
  seeds: number[];
  hidden: number;
  epochs: number;
  /** MC-dropout passes N. */
  passes: number;
  dropout: number;
  betas: number[];
  /** Wall time measured for the whole notebook on the 2-core development machine (while others worked). */
  measured: string;
}

export const DORM_PRESETS: Record<DormPreset['name'], DormPreset> = {
  quick: {
    name: 'quick',
    realPairs: 160,
    syntheticPairs: 800,
    seeds: [0, 1, 2],
    hidden: 16,
    epochs: 10,
    passes: 10,
    dropout: 0.1,
    betas: [Infinity, 10, 1, 0.1, 0],
    measured:
      'about 1 min with the 320 texts cached (68 s in the CI test on a loaded 2-core machine); 1-3 min more on a cold cache',
  },
  default: {
    name: 'default',
    syntheticPairs: 2000,
    seeds: [0, 1, 2],
    hidden: 32,
    epochs: 20,
    passes: 20,
    dropout: 0.1,
    betas: [Infinity, 10, 1, 0.1, 0],
    measured:
      '37 s with the features cached (30 Nov 2026 22:17 UTC, OpenBLAS native backend and the fused Algorithm 1 step, load 2-4 on 2 cores), plus embedding whatever texts are not cached yet; 6.4 min earlier that day on the wasm GEMM and the unfused step (load 11-15)',
  },
  thesis: {
    name: 'thesis',
    syntheticPairs: 5000,
    seeds: [0, 1, 2],
    hidden: 64,
    epochs: 30,
    passes: 20,
    dropout: 0.1,
    betas: [Infinity, 30, 10, 3, 1, 0.3, 0.1, 0],
    measured:
      '86 s for the whole headless notebook, kernel start included, with the features cached (1 Dec 2026 05:49 UTC, OpenBLAS native backend, load 1.5-2 on 2 cores)',
  },
};

/** The preset named `name` (e.g. `process.env.EFFLAB_PRESET`), `default` when undefined. */
export function dormPreset(name: string | undefined): DormPreset {
  const key = (name ?? 'default') as DormPreset['name'];
  const p = DORM_PRESETS[key];
  if (!p) throw new ConfigError(`unknown DORM preset "${name}" (quick, default, thesis)`);
  return p;
}
