/**
 * Where one SmolLM2 decode step's time goes (quantized weights, context 128), per op (wall ms, share):
 * an A/B tool for the llm-decode record, not a record. Run:
 * `nice -n 15 node --import tsx bench/profile/decode.ts [steps] [reps]`. Env PROFILE_WEIGHTS=f32 for f32.
 */
import * as os from 'node:os';
import { loadAgNews } from '../../src/data';
import { loadCausalLM } from '../../src/models';
import { profileOps, type OpTime } from '../../src/ops';

const STEPS = Number(process.argv[2] ?? 16);
const REPS = Number(process.argv[3] ?? 3);
const weights = process.env.PROFILE_WEIGHTS === 'f32' ? 'f32' : 'quantized';
const lm = loadCausalLM('smollm2-135m-instruct', { weights });
const held = loadAgNews()
  .slice(-200)
  .map((r) => r.description)
  .join('\n');
const ids = lm.tokenizer.encode(held).slice(0, 128);

function argmax(row: Float32Array): number {
  let best = 0;
  for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
  return best;
}

function run(): { ms: number; cpu: number; ops: Map<string, OpTime>; tokens: number[] } {
  const cache = lm.model.createCache();
  cache.reserve(1, ids.length + STEPS);
  const r = lm.model.forward(ids, cache, { logits: 'last' });
  let next = argmax((r.logits as { data: Float32Array }).data);
  const tokens = [next];
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const { ops } = profileOps(() => {
    for (let i = 0; i < STEPS; i++) {
      const s = lm.model.forward([next], cache, { logits: 'last' });
      next = argmax((s.logits as { data: Float32Array }).data);
      tokens.push(next);
    }
  });
  const c = process.cpuUsage(c0);
  return { ms: (performance.now() - t0) / STEPS, cpu: (c.user + c.system) / 1000 / STEPS, ops, tokens };
}

run();
for (let rep = 0; rep < REPS; rep++) {
  const { ms, cpu, ops, tokens } = run();
  console.log(
    `\n${weights} decode: ${ms.toFixed(2)} ms/token, CPU ${cpu.toFixed(2)} ms/token (load ${os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}) tokens ${tokens.slice(0, 8).join(',')}`,
  );
  let inOps = 0;
  for (const [op, t] of [...ops.entries()].sort((a, b) => b[1].ms - a[1].ms)) {
    inOps += t.ms / STEPS;
    console.log(
      `  ${op.padEnd(16)} ${(t.ms / STEPS).toFixed(2).padStart(7)} ms/token ${String(t.calls / STEPS).padStart(5)} calls/token`,
    );
  }
  console.log(`  ${'(outside ops)'.padEnd(16)} ${(ms - inOps).toFixed(2).padStart(7)} ms/token`);
}
