/**
 * lorc-front: KV bytes against perplexity increase on SmolLM2-135M-Instruct, with paired standard errors,
 * for the thesis's weight SVD (progressive Eq. 5.13 and uniform) and our data-aware variants (whitened
 * keys + W_o-aware values, uniform and progressive; whitened keys-only; asymmetric key/value budgets).
 *
 * Evaluation: `lorc.EVAL_TEXT` = AG News test descriptions rows 7200-7599 joined by newlines, the first
 * 4,096 tokens in 32 non-overlapping windows of 128, every configuration on the same windows (paired).
 * Calibration (whitened bases, and the choice of the asymmetric split): `lorc.CALIBRATION_TEXT` = rows
 * 0-599, 4,096 tokens in 32 windows of 128; the split is chosen on the first 4 calibration windows.
 * Skip rule: the default (normalised ln κ̃ > 0.9, layers 0-2) for every configuration.
 * Also: one greedy continuation per configuration; the measured causes (spectrum flatness, Q4_1 noise
 * estimate, channel energy); and the PyTorch check of the export (scripts/lorc_load.py applied to the
 * transformers model, perplexity within 1 % of ours), which installs PyTorch on demand (LORC_TORCH=0 skips).
 *
 * Speed (same numbers): every configuration starts at the uncompressed model's residual entering its
 * first compressed layer (layer 3 under the skip rule; kept by the reference scoring), and compressed
 * values are read back before the model's attention ('reconstruct') instead of through the folded
 * kernel of Eq. 5.9 — equal perplexities and bytes held (tests/lorc/windows.test.ts), ≈ 8× faster per
 * window on the CPU here.
 *
 * Run: `nice node --import tsx bench/lorc-front.bench.ts` on the quiet machine (writes
 * bench/results/lorc-front.json).
 * Smoke: `LORC_FRONT_SMOKE=1 LORC_TORCH=0 …` (2 windows; writes bench/tmp/lorc-front-smoke.json only).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chatMlPrompt, loadCausalLM } from '../src/models';
import {
  CALIBRATION_TEXT,
  EVAL_TEXT,
  agNewsWindows,
  analyse,
  bestWithin,
  calibrate,
  channelEnergy,
  configCache,
  energyKept,
  evaluateCache,
  exportLorc,
  formatRatio,
  frontFamilies,
  frontStartLayer,
  runFront,
  modelAttention,
  pairedRatio,
  paretoFront,
  planConfig,
  q41NoiseEnergy,
  scoreWindows,
  whiten,
  type FrontConfig,
} from '../src/methods/lorc';
import { ROOT, loadCheck, writeRecord } from './lib';

const SMOKE = process.env.LORC_FRONT_SMOKE === '1';
const num = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);
const EVAL_WINDOWS = num('LORC_FRONT_WINDOWS', SMOKE ? 2 : EVAL_TEXT.windows);
const CAL_WINDOWS = num('LORC_FRONT_CAL_WINDOWS', SMOKE ? 2 : CALIBRATION_TEXT.windows);
const SELECT_WINDOWS = Math.min(CAL_WINDOWS, num('LORC_FRONT_SELECT_WINDOWS', SMOKE ? 1 : 4));
const GEN_TOKENS = num('LORC_FRONT_GEN', SMOKE ? 4 : 20);
const TORCH = process.env.LORC_TORCH !== '0';
const t0 = performance.now();
const secs = (): number => Math.round((performance.now() - t0) / 100) / 10;
const log = (...a: unknown[]): void => console.error(`[lorc-front ${secs()}s]`, ...a);
const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
const load = loadCheck();

const lm = loadCausalLM('smollm2-135m-instruct');
const model = lm.model;
const { shape, weights } = modelAttention(model);
const an = analyse(shape, weights, { cacheDir: path.join(__dirname, 'tmp') });
log(`SVDs ${(an.svdMs / 1000).toFixed(1)} s`);

const evalW = agNewsWindows(lm.tokenizer, { ...EVAL_TEXT, windows: EVAL_WINDOWS });
const calW = agNewsWindows(lm.tokenizer, { ...CALIBRATION_TEXT, windows: CAL_WINDOWS });
const stats = calibrate(model, calW);
log(`calibrated on ${stats.tokens} tokens`);
const wh = whiten(an, stats);
log(`whitened bases ${(wh.ms / 1000).toFixed(1)} s`);
// Every configuration (and asymmetric candidate) uses the default skip rule: they all start here.
const START = frontStartLayer(an, frontFamilies([0.1]));
const ref = scoreWindows(model, evalW, undefined, { keepResidualAt: START });
log(
  `uncompressed ppl ${ref.ppl.toFixed(3)} on ${ref.tokens} scored tokens; configurations start at layer ${START}`,
);

// Asymmetric budgets: for each overall ratio ρ, the value share is chosen on calibration windows.
const selectW = {
  ...calW,
  windows: calW.windows.slice(0, SELECT_WINDOWS),
  text: `${calW.text} (first ${SELECT_WINDOWS})`,
};
const selectRef = scoreWindows(model, selectW, undefined, { keepResidualAt: START });
const asymmetric: FrontConfig[] = [];
const selection: Record<string, unknown>[] = [];
for (const rho of SMOKE ? [0.3] : [0.2, 0.3, 0.4]) {
  const candidates = [0.05, 0.1, 0.2, 0.3].map((v) => ({ keyRatio: r4(2 * rho - v), valueRatio: v }));
  let best: { cfg: FrontConfig; ratio: number } | undefined;
  for (const c of candidates) {
    const cfg: FrontConfig = {
      name: `whitened asymmetric ${Math.round(rho * 100)}% (keys ${Math.round(c.keyRatio * 100)}%, values ${Math.round(c.valueRatio * 100)}%)`,
      bases: 'whitened',
      schedule: 'uniform',
      ...c,
    };
    const plan = planConfig(an, cfg);
    const ratio = evaluateCache(
      model,
      selectW,
      () => configCache(an, plan, wh, { valueMode: 'reconstruct' }),
      selectRef,
    ).ratio;
    selection.push({
      overall: rho,
      keyRatio: c.keyRatio,
      valueRatio: c.valueRatio,
      calibrationRatio: r4(ratio),
    });
    if (!best || ratio < best.ratio) best = { cfg, ratio };
  }
  asymmetric.push(best!.cfg);
}
log('asymmetric splits chosen on calibration windows:', asymmetric.map((c) => c.name).join('; '));

const families: (FrontConfig & { family: string })[] = [
  ...(SMOKE
    ? frontFamilies([0.2]).filter((c) => c.family !== 'thesis SVD uniform')
    : frontFamilies([0.1, 0.2, 0.3, 0.4], [0.1, 0.2])),
  ...asymmetric.map((c) => ({ ...c, family: 'whitened asymmetric' })),
];
const prompt = chatMlPrompt([{ role: 'user', content: 'Write one sentence about why the sky is blue.' }]);
const fullText = lm.generate(prompt, { maxNewTokens: GEN_TOKENS, stopAtEos: false }).text;
const raw = runFront(lm, an, wh, evalW, ref, families, {
  prompt,
  genTokens: GEN_TOKENS,
  onProgress: (i, n, name) => log(`${i}/${n} ${name}`),
});
for (const r of raw)
  log(
    `${r.name}: removed ${(r.removed * 100).toFixed(1)} %, ppl ${r.ppl.toFixed(2)}, ratio ${r.ratio.toFixed(4)} ± ${r.se.toFixed(4)}`,
  );
const rows = raw.map((r) => ({
  ...r,
  removed: r4(r.removed),
  ppl: r4(r.ppl),
  ratio: r4(r.ratio),
  se: r4(r.se),
  ci95: [r4(r.ci95[0]), r4(r.ci95[1])] as [number, number],
  nll: r.nll.map(r4),
}));
const nllOf = new Map(raw.map((r) => [r.name, r.nll]));

const front = paretoFront(rows).map((r) => r.name);
const best = Object.fromEntries(
  [0.01, 0.05, 0.1].map((tol) => {
    const b = bestWithin(rows, tol);
    return [
      `within${tol * 100}pct`,
      b
        ? {
            name: b.point.name,
            removed: b.point.removed,
            ratio: b.point.ratio,
            se: b.point.se,
            confident: b.confident,
          }
        : null,
    ];
  }),
);
// Progressive against uniform at the same budget, paired on the same windows (ratio < 1: progressive better).
const progVsUniform = rows
  .filter((r) => r.family.endsWith('progressive'))
  .flatMap((p) => {
    const u = rows.find(
      (r) =>
        r.family === p.family.replace('progressive', 'uniform') &&
        r.keyRatio === p.keyRatio &&
        r.valueRatio === p.valueRatio,
    );
    if (!u) return [];
    const pr = pairedRatio(nllOf.get(p.name)!, nllOf.get(u.name)!);
    return [
      {
        progressive: p.name,
        uniform: u.name,
        bytesPerToken: { progressive: p.bytesPerToken, uniform: u.bytesPerToken },
        pplRatio: r4(pr.ratio),
        se: r4(pr.se),
        ci95: pr.ci95.map(r4),
        verdict:
          pr.ci95[1] < 1
            ? 'progressive better'
            : pr.ci95[0] > 1
              ? 'uniform better'
              : 'no significant difference',
        text: formatRatio(pr),
      },
    ];
  });

// Measured causes.
const valueEnergy96 = an.layers.map((l) => energyKept(l.value.S, Math.round(an.dMax / 2)));
const keyEnergy96 = an.layers.map((l) => energyKept(l.key.S, Math.round(an.dMax / 2)));
const q4v = model.weights.layers.map((l) => q41NoiseEnergy(l.wv));
const q4k = model.weights.layers.map((l) => q41NoiseEnergy(l.wk));
const ce = channelEnergy(stats);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const causes = {
  valueEnergyKeptAtHalfRank: {
    mean: r4(mean(valueEnergy96)),
    min: r4(Math.min(...valueEnergy96)),
    max: r4(Math.max(...valueEnergy96)),
  },
  keyEnergyKeptAtHalfRank: {
    mean: r4(mean(keyEnergy96)),
    min: r4(Math.min(...keyEnergy96)),
    max: r4(Math.max(...keyEnergy96)),
  },
  q41NoiseEnergy: { wv: r4(mean(q4v)), wk: r4(mean(q4k)) },
  channelEnergyMaxOverMean: {
    mean: r4(mean(ce.maxOverMean)),
    min: r4(Math.min(...ce.maxOverMean)),
    max: r4(Math.max(...ce.maxOverMean)),
    topChannel: ce.topChannel,
  },
  kappaV: {
    min: r4(Math.min(...an.kappas.map((k) => k.kappaV))),
    max: r4(Math.max(...an.kappas.map((k) => k.kappaV))),
  },
};

// Export one configuration and check it in PyTorch (transformers), same windows.
const exported =
  rows.find((r) => r.name === 'whitened uniform 20%') ?? rows.find((r) => r.family === 'whitened uniform')!;
const exportDir = path.join(__dirname, 'tmp', 'lorc-export');
const exportedCfg = families.find((c) => c.name === exported.name)!;
exportLorc(model, an, planConfig(an, exportedCfg), exportDir, wh, {
  baseModel: 'HuggingFaceTB/SmolLM2-135M-Instruct (GGUF Q4_1, dequantised)',
  evaluation: { text: evalW.text, ppl: exported.ppl, ratio: exported.ratio, se: exported.se },
});
let torchCheck: Record<string, unknown> = { skipped: 'LORC_TORCH=0' };
if (TORCH) {
  execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-torch.sh')], { stdio: 'inherit' });
  const wfile = path.join(os.tmpdir(), `lorc-windows-${process.pid}.json`);
  fs.writeFileSync(wfile, JSON.stringify(evalW.windows));
  const out = execFileSync(
    path.join(ROOT, '.venv', 'bin', 'python'),
    [path.join(ROOT, 'scripts', 'lorc_load.py'), exportDir, '--windows', wfile],
    {
      env: { ...process.env, OMP_NUM_THREADS: '2' },
      maxBuffer: 1 << 26,
    },
  );
  const py = JSON.parse(out.toString().trim().split('\n').pop()!) as {
    ppl: number;
    base_ppl: number;
    layers_replaced: number;
  };
  torchCheck = {
    config: exported.name,
    oursPpl: exported.ppl,
    torchPpl: r4(py.ppl),
    oursBasePpl: r4(ref.ppl),
    torchBasePpl: r4(py.base_ppl),
    relativeDifference: r4(py.ppl / exported.ppl - 1),
    within1pct: Math.abs(py.ppl / exported.ppl - 1) <= 0.01,
    projectionsReplaced: py.layers_replaced,
  };
  log('PyTorch check', torchCheck);
}

const config = {
  model: 'smollm2-135m-instruct (GGUF Q4_1, dequantised to float32)',
  evaluation: {
    text: evalW.text,
    windowSize: evalW.size,
    windows: evalW.windows.length,
    tokens: evalW.windows.length * evalW.size,
    scoredTokens: ref.tokens,
  },
  calibration: { text: calW.text, tokens: stats.tokens, splitChosenOn: selectW.text },
  skipRule: 'default: skip layers with normalised ln κ̃ > 0.9 (layers 0-2), every configuration',
  bytesPerTokenFull: 2 * an.dMax * an.layers.length * 4,
  refPpl: r4(ref.ppl),
  refNll: ref.nll.map(r4),
  points: rows,
  paretoFront: front,
  best,
  progressiveVsUniform: progVsUniform,
  asymmetricSelection: selection,
  prompt,
  fullContinuation: fullText,
  causes,
  torchCheck,
  seconds: secs(),
  load1: load.load1,
};
const pctOf = (x: number): string => `${(100 * x).toFixed(2)} %`;
const bestNotes = [0.01, 0.05, 0.1]
  .map((tol) => {
    const b = bestWithin(rows, tol);
    return b
      ? `Fewest KV bytes within ${tol * 100} % perplexity increase: ${b.point.name} (${pctOf(b.point.removed)} of the KV cache removed, +${pctOf(b.point.ratio - 1)} ± ${pctOf(b.point.se)}${b.confident ? '' : '; the upper 95 % bound exceeds the limit'}).`
      : `No configuration within ${tol * 100} % perplexity increase.`;
  })
  .join(' ');
const progNotes =
  progVsUniform.length === 0
    ? 'No progressive/uniform pair at the same budget.'
    : 'Progressive vs uniform at the same target ratio (ppl ratio progressive/uniform, paired; KV bytes/token of each): ' +
      progVsUniform
        .map(
          (p) =>
            `${p.progressive}: ${p.text} (${p.verdict}; ${p.bytesPerToken.progressive} vs ${p.bytesPerToken.uniform} bytes/token)`,
        )
        .join('; ') +
      '.';
const headline = rows.find((r) => r.name === 'whitened uniform 20%') ?? rows[1];
const thesis = rows.find((r) => r.name === 'thesis SVD progressive 20%') ?? rows[0];
const record = {
  name: 'lorc-front',
  unit: 'perplexity ratio to the uncompressed model (lower is better)',
  ours: headline.ratio,
  baseline: thesis.ratio,
  baseline_impl: `thesis LoRC (weight SVD, progressive Eq. 5.13) at the same 20 % overall KV compression, same windows; uncompressed ppl ${r4(ref.ppl)}`,
  ratio: r4(thesis.ratio / headline.ratio),
  config,
  notes:
    `ours = ${headline.name} (whitened keys, W_o-aware values, our addition beyond the thesis). ` +
    `Evaluation: ${config.evaluation.tokens} tokens (${config.evaluation.windows} windows of ${config.evaluation.windowSize}), ` +
    `SEs paired across windows. ${bestNotes} ${progNotes} config.points holds every configuration; ` +
    `config.best and config.progressiveVsUniform the same answers as data.`,
  ...load.mark,
};
if (SMOKE) {
  fs.mkdirSync(path.join(__dirname, 'tmp'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, 'tmp', 'lorc-front-smoke.json'), JSON.stringify(record, null, 2));
  log('smoke record written to bench/tmp/lorc-front-smoke.json');
} else {
  writeRecord(record);
}
log(`done in ${secs()} s`);
