/**
 * Where the models' time goes, per op (wall ms and share of the total), for the three workloads of
 * issue 10's speed part: SmolLM2 prefill of 128 tokens (logits: last), one `nextTokenTopK` row on an
 * AG News prompt (~80 tokens), and MiniLM `embed` of 16 AG News texts. Not a benchmark record (nothing
 * is written): an A/B tool. Run: `nice -n 15 node --import tsx bench/profile/stages.ts [reps]`.
 * Env PROFILE_ONLY=prefill|topk|embed picks one workload; PROFILE_ONLY=batch compares 8 prompts one by
 * one with one `nextTokenTopKBatch` call; PROFILE_ONLY=packed profiles one packed 24-prompt LM pass (PRBoost's cache).
 */
import * as os from 'node:os';
import { loadAgNews } from '../../src/data';
import { loadCausalLM, loadSentenceEncoder } from '../../src/models';
import { getBackend, profileOps, type OpTime } from '../../src/ops';

const REPS = Number(process.argv[2] ?? 5);
const ONLY = process.env.PROFILE_ONLY;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Run `fn` REPS times after a warm-up; print the median total and the per-op split of the median run. */
function profile(name: string, fn: () => void): void {
  fn();
  const runs: { total: number; cpu: number; ops: Map<string, OpTime> }[] = [];
  for (let i = 0; i < REPS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { ops } = profileOps(fn);
    const c = process.cpuUsage(c0);
    runs.push({ total: performance.now() - t0, cpu: (c.user + c.system) / 1000, ops });
  }
  const totals = runs.map((r) => r.total);
  const med = runs[totals.indexOf(median(totals))];
  console.log(
    `\n${name}: median ${med.total.toFixed(1)} ms over ${REPS} runs (min ${Math.min(...totals).toFixed(1)}; process CPU ${med.cpu.toFixed(0)} ms, median CPU ${median(runs.map((r) => r.cpu)).toFixed(0)} ms), backend ${getBackend()}, load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}`,
  );
  let inOps = 0;
  const rows = [...med.ops.entries()].sort((a, b) => b[1].ms - a[1].ms);
  for (const [op, t] of rows) {
    inOps += t.ms;
    console.log(
      `  ${op.padEnd(16)} ${t.ms.toFixed(1).padStart(8)} ms ${((100 * t.ms) / med.total).toFixed(1).padStart(5)} %  ${t.calls} calls`,
    );
  }
  const rest = med.total - inOps;
  console.log(
    `  ${'(outside ops)'.padEnd(16)} ${rest.toFixed(1).padStart(8)} ms ${((100 * rest) / med.total).toFixed(1).padStart(5)} %`,
  );
}

const rows = loadAgNews();
if (ONLY === undefined || ONLY !== 'embed') {
  const lm = loadCausalLM('smollm2-135m-instruct');
  if (ONLY === undefined || ONLY === 'prefill') {
    const held = rows
      .slice(-200)
      .map((r) => r.description)
      .join('\n');
    const ids = lm.tokenizer.encode(held).slice(0, 128);
    profile('prefill 128 (logits last)', () => {
      lm.model.forward(ids, lm.model.createCache(), { logits: 'last' });
    });
  }
  if (ONLY === 'batch') {
    // 8 AG News prompts one by one vs one nextTokenTopKBatch call (process CPU and wall, alternated).
    const prompts = rows.slice(100, 108).map((r) => `Topic of: ${r.title}. ${r.description}\nTopic:`);
    const lens = prompts.map((p) => lm.tokenizer.encode(p).length);
    console.log(`\nbatch of ${prompts.length} prompts, ${lens.join(' ')} tokens`);
    const one = (): void => {
      for (const p of prompts) lm.nextTokenTopK(p, 10);
    };
    const all = (): void => {
      lm.nextTokenTopKBatch(prompts, 10);
    };
    one();
    all();
    for (let r = 0; r < REPS; r++) {
      for (const [name, fn] of [
        ['one by one', one],
        ['batch', all],
      ] as const) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        fn();
        const c = process.cpuUsage(c0);
        console.log(
          `  ${name.padEnd(10)} ${(performance.now() - t0).toFixed(0)} ms wall, ${((c.user + c.system) / 1000).toFixed(0)} ms CPU`,
        );
      }
    }
  }
  if (ONLY === 'packed') {
    // One PRBoost LM pass: 24 AG News prompts packed into one lastLogitsBatch (~2,000 tokens).
    const prompts = rows.slice(200, 224).map((r) => `${r.title}. ${r.description}\nCategory of this news:`);
    const ids = prompts.map((p) => lm.tokenizer.encode(p));
    console.log(`\npacked pass: ${ids.length} prompts, ${ids.reduce((a, b) => a + b.length, 0)} tokens`);
    profile('packed prompts (lastLogitsBatch)', () => {
      lm.model.lastLogitsBatch(ids);
    });
  }
  if (ONLY === undefined || ONLY === 'topk') {
    const r = rows[7];
    const prompt = `Topic of: ${r.title}. ${r.description}\nTopic:`;
    console.log(`\ntopk prompt: ${lm.tokenizer.encode(prompt).length} tokens`);
    profile('nextTokenTopK (k 10)', () => {
      lm.nextTokenTopK(prompt, 10);
    });
  }
}
if (ONLY === undefined || ONLY === 'embed') {
  const enc = loadSentenceEncoder('all-minilm-l6-v2');
  const texts = rows.slice(0, 16).map((r) => `${r.title}. ${r.description}`);
  profile('MiniLM embed 16 texts (batch 16)', () => {
    enc.embed(texts, 16);
  });
}
