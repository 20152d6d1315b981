/**
 * Command line for the synthetic experiment (section 4.6.1):
 *   npx tsx src/methods/ptloss/run-synthetic.ts --preset quick|default|thesis|reduced [--seeds 1,2,3] --out FILE
 *   npx tsx src/methods/ptloss/run-synthetic.ts --merge A.json B.json … --out FILE
 * Writes {settings, seeds: SeedResult[], summary, correlation} as JSON.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import {
  choosePreset,
  presetSettings,
  runSeed,
  summarize,
  type ExperimentSettings,
  type SeedResult,
} from './experiment';

export interface ExperimentFile {
  settings: ExperimentSettings;
  seeds: SeedResult[];
  summary: ReturnType<typeof summarize>;
  /** Mean and std over seeds of the proxy-distance / student-accuracy correlation. */
  correlation: { mean: number; std: number; values: number[] };
}

/** Build the JSON record from per-seed results. */
export function experimentFile(settings: ExperimentSettings, seeds: SeedResult[]): ExperimentFile {
  const values = seeds.map((s) => s.proxyCorrelation);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std =
    values.length > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { settings, seeds, summary: summarize(seeds), correlation: { mean, std, values } };
}

function main(argv: string[]): void {
  const arg = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = arg('--out');
  if (!out) throw new Error('run-synthetic: --out FILE is required');
  const mergeAt = argv.indexOf('--merge');
  if (mergeAt >= 0) {
    const files = argv
      .slice(mergeAt + 1)
      .filter((a, i, all) => !a.startsWith('--') && all[i - 1] !== '--out');
    const parts = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as ExperimentFile);
    const seeds = parts.flatMap((p) => p.seeds).sort((a, b) => a.seed - b.seed);
    writeFileSync(out, JSON.stringify(experimentFile(parts[0].settings, seeds), null, 1) + '\n');
    return;
  }
  const base = presetSettings(choosePreset(arg('--preset') ?? 'default'));
  const seedsArg = arg('--seeds');
  const settings: ExperimentSettings = {
    ...base,
    seeds: seedsArg ? seedsArg.split(',').map(Number) : base.seeds,
  };
  const results: SeedResult[] = [];
  for (const seed of settings.seeds) {
    results.push(
      runSeed(seed, settings, (m) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${m}`)),
    );
    writeFileSync(out, JSON.stringify(experimentFile(settings, results), null, 1) + '\n');
  }
}

if (require.main === module) main(process.argv.slice(2));
