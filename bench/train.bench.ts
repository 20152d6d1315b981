/**
 * train-step: one training step of the shared trainer (src/train: forward, loss, backward, Adam update) on the
 * two heads the chapters train, against PyTorch CPU doing the same step on the same inputs in the same run:
 *  - PRBoost weak model: MiniLM features 384 → 128 → 4, dropout 0.1, cross-entropy, batch 64;
 *  - DORM reward head: 384 → 64 → 1, dropout 0.1, Bradley–Terry on 64 pairs (128 forward rows).
 * ours = median ms/step over reps of `steps` consecutive steps on the current ops backend (EFFLAB_BACKEND;
 * float32 products through the ops `matmul`); the baseline is PyTorch's nn.Sequential + torch.optim.Adam
 * (its default thread count), timed the same way right after ours. Headline ratio: the DORM head.
 * Run: npx tsx bench/train.bench.ts   (EFFLAB_BENCH_QUICK=1: a few steps on both sides, prints, writes nothing)
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { getBackend } from '../src/ops';
import { lossAndGrad, makeOptimizer, Mlp, Rng, type Dataset, type Loss } from '../src/train';
import { loadCheck, medianMs, pythonBaseline, ROOT, writeRecord } from './lib';

const QUICK = process.env.EFFLAB_BENCH_QUICK === '1';
const STEPS = QUICK ? 3 : 50;
const REPS = QUICK ? 1 : 5;

interface Case {
  name: string;
  sizes: number[];
  dropout: number;
  loss: 'cross-entropy' | 'bradley-terry';
  batch: number;
}

const CASES: Case[] = [
  { name: 'prboost-weak-model', sizes: [384, 128, 4], dropout: 0.1, loss: 'cross-entropy', batch: 64 },
  { name: 'dorm-reward-head', sizes: [384, 64, 1], dropout: 0.1, loss: 'bradley-terry', batch: 64 },
];

function inputs(c: Case): { data: Dataset; x: number[]; xRejected?: number[]; labels?: number[] } {
  const rng = new Rng(1);
  const d = c.sizes[0];
  const x = Array.from({ length: c.batch * d }, () => rng.normal());
  const shape = [c.batch, d];
  if (c.loss === 'bradley-terry') {
    const xRejected = Array.from({ length: c.batch * d }, () => rng.normal());
    return { data: { x: { data: x, shape }, xRejected: { data: xRejected, shape } }, x, xRejected };
  }
  const labels = Array.from({ length: c.batch }, () => rng.int(c.sizes[c.sizes.length - 1]));
  return { data: { x: { data: x, shape }, labels }, x, labels };
}

async function ours(c: Case, data: Dataset): Promise<number> {
  const model = new Mlp({ sizes: c.sizes, seed: 1, dropout: c.dropout });
  const opt = makeOptimizer({ kind: 'adam', lr: 1e-3 }, model.size);
  const loss: Loss = { kind: c.loss };
  let step = 0;
  const one = (): void => {
    const r = lossAndGrad(model, data, loss, { dropout: { seed: 1, stream: step++ } });
    opt.step(model.params, r.grad);
  };
  for (let i = 0; i < 5; i++) one();
  const ms = await medianMs(
    () => {
      for (let i = 0; i < STEPS; i++) one();
    },
    REPS,
    0,
  );
  return ms / STEPS;
}

async function main(): Promise<void> {
  const load = loadCheck();
  const prepared = CASES.map((c) => ({ c, ...inputs(c) }));
  const oursMs: number[] = [];
  for (const p of prepared) {
    oursMs.push(await ours(p.c, p.data));
    console.log(
      `[train-step] ${p.c.name}: ours ${oursMs[oursMs.length - 1].toFixed(3)} ms/step on ${getBackend()}`,
    );
  }
  execFileSync('bash', [path.join(ROOT, 'scripts', 'ensure-torch.sh')], { stdio: 'inherit' });
  // The inputs (≈ 1.5 MB of JSON) go through a file: one command-line argument is limited to 128 KiB.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'train-bench-'));
  const file = path.join(dir, 'cases.json');
  fs.writeFileSync(
    file,
    JSON.stringify({
      steps: STEPS,
      reps: REPS,
      cases: prepared.map((p) => ({
        sizes: p.c.sizes,
        dropout: p.c.dropout,
        loss: p.c.loss,
        batch: p.c.batch,
        x: p.x,
        x_rejected: p.xRejected,
        labels: p.labels,
      })),
    }),
  );
  const base = pythonBaseline<{ torch: string; threads: number; ms_per_step: number[] }>(
    'train_baseline.py',
    { file },
  );
  fs.rmSync(dir, { recursive: true, force: true });
  const h = CASES.length - 1;
  const record = QUICK
    ? (r: object): void => console.log(`[smoke, not recorded] ${JSON.stringify(r)}`)
    : writeRecord;
  record({
    name: 'train-step',
    unit: 'ms',
    ours: oursMs[h],
    baseline: base.ms_per_step[h],
    baseline_impl: `PyTorch ${base.torch} CPU (${base.threads} threads), nn.Sequential + torch.optim.Adam`,
    ratio: base.ms_per_step[h] / oursMs[h],
    config: {
      backend: getBackend(),
      steps_per_rep: STEPS,
      reps: REPS,
      load1: load.load1,
      cases: CASES.map((c, i) => ({
        ...c,
        ours_ms: oursMs[i],
        baseline_ms: base.ms_per_step[i],
        ratio: base.ms_per_step[i] / oursMs[i],
      })),
    },
    notes:
      'One training step = forward with dropout, loss, backward, Adam update, on the same inputs on both sides; ' +
      'ours first, then PyTorch in a separate process. Headline: the DORM reward head (384 → 64 → 1, BT on 64 pairs). ' +
      'A head this small is overhead-bound on both sides.',
    ...load.mark,
  });
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
