/**
 * Where a LoRC decode step's time goes against the full cache (SmolLM2, f32 weights, progressive 60 %
 * schedule, context N): per op ms/token, wall and process CPU, both caches filled from one real prefill.
 * An A/B tool for the lorc-decode record, not a record. Run:
 * `nice -n 15 node --import tsx bench/profile/lorc-decode.ts [N] [steps] [reps]`; `KINDS=full,lorc,ahead`
 * adds the LoRC cache with the keys rebuilt ahead on a background thread (`keysAhead: true`).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAgNews } from '../../src/data';
import { loadCausalLM } from '../../src/models';
import type { KVCache } from '../../src/models/kv-cache';
import { profileOps, getBackend, Tensor } from '../../src/ops';
import {
  DEFAULT_SKIP,
  analyse,
  buildCache,
  modelAttention,
  progressiveSchedule,
  timeDecode,
} from '../../src/methods/lorc';

const N = Number(process.argv[2] ?? 1024);
const STEPS = Number(process.argv[3] ?? 6);
const REPS = Number(process.argv[4] ?? 3);
const lm = loadCausalLM('smollm2-135m-instruct');
const model = lm.model;
const { shape, weights } = modelAttention(model);
const an = analyse(shape, weights, { cacheDir: path.join(__dirname, '..', 'tmp') });
const text = loadAgNews()
  .slice(-400)
  .map((r) => r.description)
  .join('\n');
const ids = lm.tokenizer.encode(text).slice(0, N + 1);
const sched = progressiveSchedule(an.kappas, an.dMax, 0.6, DEFAULT_SKIP);

/** Fill a cache by replaying the full cache's prefill entries (keys before RoPE, values). */
const rec: { k: Tensor; v: Tensor; h: Tensor }[] = [];
const recorder: KVCache = (() => {
  const inner = model.createCache();
  return {
    numLayers: inner.numLayers,
    length: (l: number) => inner.length(l),
    append: (l, e) => {
      rec[l] = { k: e.keysPreRope, v: e.values, h: e.hidden };
      inner.append(l, e);
    },
    read: (l: number) => inner.read(l),
    bytes: () => inner.bytes(),
    bytesByLayer: () => inner.bytesByLayer(),
    clear: () => inner.clear(),
  };
})();
model.forward(ids.slice(0, N), recorder, { logits: 'none' });
const positions = Array.from({ length: N }, (_, i) => i);
function filled(kind: 'full' | 'lorc', ahead = false): KVCache {
  const c = kind === 'full' ? model.createCache() : buildCache(an, sched, { keysAhead: ahead });
  c.reserve?.(1, N + STEPS + 1);
  rec.forEach((e, l) => c.append(l, { keysPreRope: e.k, values: e.v, positions, hidden: e.h }));
  return c;
}

const walls: Record<string, number[]> = { full: [], lorc: [], ahead: [] };
for (let rep = 0; rep < REPS; rep++) {
  for (const kind0 of (process.env.KINDS ?? 'full,lorc').split(',')) {
    const kind = kind0 === 'ahead' ? 'lorc' : (kind0 as 'full' | 'lorc');
    const cache = filled(kind, kind0 === 'ahead');
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const { value, ops } = profileOps(() => timeDecode(model, cache, ids[N], STEPS));
    const c = process.cpuUsage(c0);
    const wall = (performance.now() - t0) / STEPS;
    walls[kind0].push(wall);
    console.log(
      `${kind0} N=${N}: ${wall.toFixed(1)} ms/token, CPU ${((c.user + c.system) / 1000 / STEPS).toFixed(1)} ms/token, backend ${getBackend()}, load ${os.loadavg()[0].toFixed(2)}, ids ${value.ids.join(',')}`,
    );
    for (const [op, t] of [...ops.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 8)) {
      console.log(
        `  ${op.padEnd(16)} ${(t.ms / STEPS).toFixed(2).padStart(8)} ms/token ${t.calls / STEPS} calls`,
      );
    }
  }
}

// Summary over the repeats (min: least disturbed by other load on the machine; median).
const stat = (xs: number[]): { min: number; median: number } => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor((s.length - 1) / 2)] };
};
const f = stat(walls.full);
const l = stat(walls.lorc);
if (walls.ahead.length) {
  const y = stat(walls.ahead);
  console.log(
    `  lorc with keysAhead: true: min ${y.min.toFixed(1)} / median ${y.median.toFixed(1)} ms/token`,
  );
}
if (walls.full.length && walls.lorc.length) {
  console.log(
    `summary N=${N}, ${REPS} repeats × ${STEPS} steps: full min ${f.min.toFixed(1)} / median ${f.median.toFixed(1)} ms/token, lorc min ${l.min.toFixed(1)} / median ${l.median.toFixed(1)} ms/token; tokens/s ratio lorc/full: min ${(f.min / l.min).toFixed(3)}, median ${(f.median / l.median).toFixed(3)}`,
  );
}
