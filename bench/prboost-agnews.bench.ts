/**
 * prboost-agnews: the quality record of PRBoost on AG News (issue 12) — PRBoost with the simulated
 * annotator pool, its ablations and the baselines, over seeds, mean ± sd, and the issue's claims checked.
 * Writes bench/experiments/prboost-agnews-<preset>.json (every seed's per-iteration table) and
 * bench/results/prboost-agnews.json (ours = ensemble test accuracy, baseline = the best of the three
 * baselines, in %).
 * Env: EFFLAB_PRESET (default 'default': the whole file, 10 iterations; the LM/MiniLM caches take about
 * 75 min cold), PRBOOST_SEEDS (default 0,1,2), PRBOOST_SPLIT_SEED (fix the split across seeds),
 * PRBOOST_UNLABELLED / PRBOOST_TEST (row limits), PRBOOST_ITERATIONS, PRBOOST_TOPN, PRBOOST_LABELLED (share),
 * PRBOOST_TAG (experiment file name instead of the preset), PRBOOST_EVIDENCE (simulated annotators' evidence:
 * lm, text, text+lm), PRBOOST_SIGMA_ROWS (σ calibrated on all of D_v or only its uncovered rows),
 * PRBOOST_RULE_VETTING (none | calibration: set aside rules confidently less precise than σ's target before σ
 * is chosen, the mitigation of a careless accept that blocks σ; see config.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadCausalLM, loadSentenceEncoder } from '../src/models';
import { prboostConfig, runExperiment, type PrboostConfig } from '../src/methods/prboost';
import { ROOT, writeRecord, loadCheck } from './lib';

const env = (k: string): number | undefined =>
  process.env[k] !== undefined ? Number(process.env[k]) : undefined;
const log = (m: string): void => console.error(`[prboost ${new Date().toISOString().slice(11, 19)}] ${m}`);

async function main(): Promise<void> {
  const overrides: Partial<PrboostConfig> = {};
  if (env('PRBOOST_SPLIT_SEED') !== undefined) overrides.splitSeed = env('PRBOOST_SPLIT_SEED');
  if (env('PRBOOST_UNLABELLED') !== undefined) overrides.unlabelledLimit = env('PRBOOST_UNLABELLED');
  if (env('PRBOOST_TEST') !== undefined) overrides.testLimit = env('PRBOOST_TEST');
  if (env('PRBOOST_ITERATIONS') !== undefined) overrides.iterations = env('PRBOOST_ITERATIONS');
  if (env('PRBOOST_TOPN') !== undefined) overrides.topN = env('PRBOOST_TOPN');
  if (env('PRBOOST_LABELLED') !== undefined) overrides.labelledShare = env('PRBOOST_LABELLED');
  if (process.env.PRBOOST_SIGMA_ROWS !== undefined)
    overrides.sigmaRows = process.env.PRBOOST_SIGMA_ROWS as PrboostConfig['sigmaRows'];
  if (process.env.PRBOOST_RULE_VETTING !== undefined)
    overrides.ruleVetting = process.env.PRBOOST_RULE_VETTING as PrboostConfig['ruleVetting'];
  const preset = prboostConfig(undefined, overrides);
  if (process.env.PRBOOST_EVIDENCE !== undefined)
    overrides.annotator = {
      ...preset.annotator,
      evidence: process.env.PRBOOST_EVIDENCE as PrboostConfig['annotator']['evidence'],
    };
  const config = prboostConfig(undefined, overrides);
  const seeds = (process.env.PRBOOST_SEEDS ?? '0,1,2').split(',').map(Number);
  const load = loadCheck();
  const t0 = Date.now();
  const models = { lm: loadCausalLM(config.lmModel), encoder: loadSentenceEncoder(config.encoder) };
  const result = await runExperiment(config, seeds, models, log);
  const seconds = (Date.now() - t0) / 1000;
  const out = path.join(
    ROOT,
    'bench',
    'experiments',
    `prboost-agnews-${process.env.PRBOOST_TAG ?? config.preset}.json`,
  );
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, `${JSON.stringify({ config, seconds, ...result }, null, 1)}\n`);
  const row = (n: string) => result.summary.find((r) => r.name === n)!;
  const ens = row('PRBoost ensemble (test)');
  const base = ['rule majority vote', 'weak model, initial rules only', 'weak model, D_l only']
    .map(row)
    .reduce((a, b) => (b.mean > a.mean ? b : a));
  for (const r of result.summary)
    log(
      `${r.name}: ${(r.name === 'accepted rules' ? r.mean : 100 * r.mean).toFixed(2)} ± ${(r.name === 'accepted rules' ? r.sd : 100 * r.sd).toFixed(2)}`,
    );
  for (const c of result.claims) log(`${c.holds ? 'HOLDS' : 'FAILS'}: ${c.claim} — ${c.detail}`);
  writeRecord({
    name: 'prboost-agnews',
    unit: '% test accuracy',
    ours: 100 * ens.mean,
    baseline: 100 * base.mean,
    baseline_impl: base.name,
    ratio: ens.mean / base.mean,
    config: { preset: config.preset, seeds, overrides, seconds, load1: load.load1 },
    notes: `PRBoost ensemble ${(100 * ens.mean).toFixed(2)} ± ${(100 * ens.sd).toFixed(2)} over ${seeds.length} seeds; claims: ${result.claims.map((c) => `${c.holds ? 'holds' : 'fails'}: ${c.claim} (${c.detail})`).join('; ')}`,
    ...load.mark,
  });
}

void main();
