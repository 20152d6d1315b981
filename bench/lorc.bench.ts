/**
 * LoRC on SmolLM2-135M-Instruct (real weights), thesis §5.6 analogues:
 *  - lorc-quality: perplexity at overall KV compression 0/20/40/50/60/70 %, progressive (Eq. 5.13) vs
 *    uniform at the same budget, the skip-threshold effect, shallow vs deep (Table 5.1), single-layer
 *    profiling (Fig. 5.3), per-layer reconstruction error (Fig. G.1), bytes held;
 *  - lorc-decode: greedy decode tokens/s with the full cache vs the LoRC cache at contexts 512 and 1,024,
 *    and the bytes each cache holds for batch b and length N.
 * Text: held-out AG News test descriptions (the last rows of the split; used for nothing else).
 * Settings by environment: LORC_TOKENS (main table, default 128), LORC_PROFILE_TOKENS (single-layer
 * profiling, 48; LORC_SECTIONS all|keys; LORC_PROFILE_EVERY profiles every n-th layer, 1), LORC_CONTEXTS ("512,1024"), LORC_DECODE_STEPS (6), LORC_DECODE_ROUNDS (5), the ops backend from EFFLAB_BACKEND (default auto).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadAgNews } from '../src/data';
import { loadCausalLM } from '../src/models';
import type { KVAppend, KVCache } from '../src/models/kv-cache';
import { getBackend } from '../src/ops';
import {
  DEFAULT_SKIP,
  analyse,
  buildCache,
  cacheBytesByLayer,
  customSchedule,
  describeSkipRule,
  modelAttention,
  perplexityWith,
  progressiveSchedule,
  relativeReconstructionError,
  residualTrace,
  timeDecode,
  uniformSchedule,
  type RankSchedule,
  type SkipRule,
} from '../src/methods/lorc';
import { RESULTS, loadCheck, writeRecord } from './lib';

const num = (k: string, d: number): number => (process.env[k] ? Number(process.env[k]) : d);
const TOKENS = num('LORC_TOKENS', 128);
const PROFILE_TOKENS = num('LORC_PROFILE_TOKENS', 48);
const CONTEXTS = (process.env.LORC_CONTEXTS ?? '512,1024').split(',').map(Number);
const STEPS = num('LORC_DECODE_STEPS', 6);
const ROUNDS = num('LORC_DECODE_ROUNDS', 5);
const PROFILE_EVERY = num('LORC_PROFILE_EVERY', 1);
const RATIOS = [0.2, 0.4, 0.5, 0.6, 0.7];
/** 'all', or 'keys' for only the keys-only section (writes lorc-keys-only.json). */
const SECTIONS = process.env.LORC_SECTIONS ?? 'all';
const log = (...a: unknown[]): void =>
  console.error(`[lorc ${new Date().toISOString().slice(11, 19)}]`, ...a);

const lm = loadCausalLM('smollm2-135m-instruct');
const model = lm.model;
const L = model.config.numLayers;
const { shape, weights } = modelAttention(model);
log('analysing', L, 'layers');
const an = analyse(shape, weights, { cacheDir: path.join(__dirname, 'tmp') });
log(`SVD of ${2 * L} matrices: ${(an.svdMs / 1000).toFixed(1)} s`);

const rows = loadAgNews();
const text = rows
  .slice(-400)
  .map((r) => r.description)
  .join('\n');
const allIds = lm.tokenizer.encode(text);
const maxCtx = Math.max(...CONTEXTS);
if (allIds.length < maxCtx + 1)
  throw new Error(`held-out text has ${allIds.length} tokens, need ${maxCtx + 1}`);
const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

const out: Record<string, unknown> = {
  model: 'smollm2-135m-instruct (GGUF Q4_1, dequantised to float32)',
  backend: getBackend(),
  text: 'AG News test split, last 400 descriptions joined by newlines (held out: used for nothing else)',
  dMax: an.dMax,
  svdSeconds: r4(an.svdMs / 1000),
  kappas: an.kappas.map((k) => ({ kappaK: r4(k.kappaK), kappaV: r4(k.kappaV) })),
  log10CumulativeKappa: an.logCumulative.map((v) => r4(v / Math.LN10)),
  skipRule: describeSkipRule(DEFAULT_SKIP),
};
const save = (): void => {
  fs.mkdirSync(path.join(RESULTS), { recursive: true });
  fs.writeFileSync(path.join(RESULTS, 'lorc-details.tmp.json'), JSON.stringify(out, null, 1));
};

function run(
  sched: RankSchedule,
  trace: ReturnType<typeof residualTrace>,
  from = 0,
  compress: 'both' | 'keys' = 'both',
): { ppl: number; bytes: number; ms: number } {
  // Values reconstructed at read for perplexity runs: identical outputs to the folded W_o (tests), no
  // per-schedule fold to build; the decode benchmark below uses the fold (Eq. 5.9).
  const cache = buildCache(an, sched, { valueMode: 'reconstruct', compress });
  const t = performance.now();
  const r = perplexityWith(model, trace, cache, from);
  return { ppl: r4(r.perplexity), bytes: cache.bytes(), ms: Math.round(performance.now() - t) };
}

// 1. Main table: perplexity vs overall compression, progressive vs uniform.
const trace = residualTrace(model, allIds.slice(0, TOKENS));
const basePpl = r4(Math.exp(trace.nll));

// 0. Keys only (our addition): values kept full, so the overall ratio is half the key ratio.
{
  const keyRows = [0.1, 0.2, 0.25, 0.3, 0.4].map((overall) => {
    const p = progressiveSchedule(an.kappas, an.dMax, 2 * overall, DEFAULT_SKIP);
    const u = uniformSchedule(an.kappas, an.dMax, 2 * overall, DEFAULT_SKIP);
    const rp = run(p, trace, 0, 'keys');
    const ru = run(u, trace, 0, 'keys');
    log(`keys only, overall ${overall}: progressive ${rp.ppl}, uniform ${ru.ppl}`);
    return {
      overall,
      keyRatio: 2 * overall,
      progressive: rp.ppl,
      uniform: ru.ppl,
      bytesProgressive: rp.bytes,
      bytesUniform: ru.bytes,
      ranksProgressive: p.ranks,
      ranksUniform: u.ranks,
    };
  });
  out.keysOnly = keyRows;
  const best = keyRows.filter((r) => Math.min(r.progressive, r.uniform) <= basePpl * 1.01);
  const at20 = keyRows.find((r) => r.overall === 0.2) as (typeof keyRows)[number];
  writeRecord({
    name: 'lorc-keys-only',
    unit: 'perplexity (lower is better)',
    ours: at20.progressive,
    baseline: at20.uniform,
    baseline_impl: `uniform keys-only schedule at the same budget, same run; the uncompressed model scores ${basePpl}`,
    ratio: r4(at20.uniform / at20.progressive),
    config: {
      tokens: TOKENS,
      backend: getBackend(),
      basePpl,
      rows: keyRows,
      within1pct: best.map((r) => r.overall),
    },
    notes:
      'Our variant, not the thesis method: only W_k is compressed (values held in full), because compressing W_v by its weight SVD destroys SmolLM2 (see lorc-quality). ours = progressive at 20 % overall (40 % of the key cache).',
  });
  save();
}
if (SECTIONS === 'keys') {
  fs.rmSync(path.join(RESULTS, 'lorc-details.tmp.json'), { force: true });
  process.exit(0);
}

const fullBytes = cacheBytesByLayer(1, TOKENS, new Array<number>(L).fill(an.dMax)).reduce((a, b) => a + b, 0);
log(`uncompressed perplexity on ${TOKENS} tokens: ${basePpl}`);
const table: Record<string, unknown>[] = [
  { target: 0, progressive: basePpl, uniform: basePpl, bytesFull: fullBytes },
];
out.table = table;
for (const target of RATIOS) {
  const p = progressiveSchedule(an.kappas, an.dMax, target, DEFAULT_SKIP);
  const u = uniformSchedule(an.kappas, an.dMax, target, DEFAULT_SKIP);
  const rp = run(p, trace);
  const ru = run(u, trace);
  table.push({
    target,
    progressive: rp.ppl,
    uniform: ru.ppl,
    achievedProgressive: r4(p.achieved),
    achievedUniform: r4(u.achieved),
    bytesProgressive: rp.bytes,
    bytesUniform: ru.bytes,
    ranksProgressive: p.ranks,
    ranksUniform: u.ranks,
    msPerRun: rp.ms,
  });
  log(
    `target ${target}: progressive ${rp.ppl} (${p.achieved.toFixed(3)}), uniform ${ru.ppl} (${u.achieved.toFixed(3)}), ${rp.ms} ms`,
  );
  save();
}

// 2. Skip-threshold effect at 60 %.
const skipRules: SkipRule[] = [
  { kind: 'none' },
  { kind: 'normalised', above: 0.95 },
  DEFAULT_SKIP,
  { kind: 'normalised', above: 0.8 },
];
out.skipEffect = skipRules.map((rule) => {
  const p = progressiveSchedule(an.kappas, an.dMax, 0.6, rule);
  const u = uniformSchedule(an.kappas, an.dMax, 0.6, rule);
  const rp = run(p, trace);
  const ru = run(u, trace);
  log(`skip ${describeSkipRule(rule)}: progressive ${rp.ppl}, uniform ${ru.ppl}`);
  return {
    rule: describeSkipRule(rule),
    skipped: p.skipped.filter(Boolean).length,
    progressive: rp.ppl,
    uniform: ru.ppl,
  };
});
save();

// 3. Shallow vs deep (Table 5.1 analogue): 50 % layer ratio (d_c = 96) on layer 0, on the first 1/8.
const half = Math.round(an.dMax / 2);
const firstEighth = Math.ceil(L / 8);
const shallow = {
  baseline: basePpl,
  layer0: run(customSchedule(L, an.dMax, new Map([[0, half]])), trace),
  firstEighth: run(
    customSchedule(
      L,
      an.dMax,
      new Map(Array.from({ length: firstEighth }, (_, l) => [l, half] as [number, number])),
    ),
    trace,
  ),
  progressive60: (table.find((r) => r.target === 0.6) as { progressive: number }).progressive,
  firstEighthLayers: firstEighth,
};
out.shallowVsDeep = shallow;
log('shallow vs deep', JSON.stringify(shallow));
save();

// 4. Reconstruction error per layer (Fig. G.1 analogue) at layer ratios 75/50/25 % kept.
out.reconstructionError = [144, 96, 48].map((k) => ({
  rank: k,
  key: an.layers.map((l) => r4(relativeReconstructionError(l.key, k))),
  value: an.layers.map((l) => r4(relativeReconstructionError(l.value, k))),
}));

// 5. Decode speed and memory: record one real prefill of maxCtx tokens, replay it into each cache.
class RecordingCache implements KVCache {
  readonly entries: KVAppend[][];
  constructor(readonly inner: KVCache) {
    this.entries = Array.from({ length: inner.numLayers }, () => []);
  }
  get numLayers(): number {
    return this.inner.numLayers;
  }
  length(l: number): number {
    return this.inner.length(l);
  }
  append(l: number, e: KVAppend): void {
    this.entries[l].push(e);
    this.inner.append(l, e);
  }
  read(l: number): ReturnType<KVCache['read']> {
    return this.inner.read(l);
  }
  bytes(): number {
    return this.inner.bytes();
  }
  bytesByLayer(): number[] {
    return this.inner.bytesByLayer();
  }
  clear(): void {
    this.inner.clear();
  }
}
function replay(rec: RecordingCache, into: KVCache, N: number, batch = 1): void {
  for (let l = 0; l < L; l++) {
    const e = rec.entries[l][0];
    const slice = (t: typeof e.values): typeof e.values => {
      const w = t.shape[2] * t.shape[3];
      const src = t.data.subarray(0, N * w);
      const data = new Float32Array(batch * N * w);
      for (let b = 0; b < batch; b++) data.set(src, b * N * w);
      return new (t.constructor as typeof import('../src/ops').Tensor)(data, [
        batch,
        N,
        t.shape[2],
        t.shape[3],
      ]);
    };
    into.append(l, {
      keysPreRope: slice(e.keysPreRope),
      values: slice(e.values),
      positions: Array.from({ length: N }, (_, i) => i),
      hidden: e.hidden,
    });
  }
}
// The decode timings are the speed record: the load average before them goes into it (see loadCheck).
const decodeLoad = loadCheck();
log(`recording a ${maxCtx}-token prefill for the decode benchmark`);
const rec = new RecordingCache(model.createCache());
model.forward(allIds.slice(0, maxCtx), rec, { logits: 'none' });
const decodeSched = progressiveSchedule(an.kappas, an.dMax, 0.6, DEFAULT_SKIP);
const decode: Record<string, unknown>[] = [];
out.decode = decode;
/** Median of a non-empty list. */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
for (const N of CONTEXTS) {
  // Three caches filled from the same prefill, pre-sized for every round (none regrows while timed). The
  // rounds interleave them in time (full, LoRC, LoRC ahead, then again), each continuing its own greedy
  // decode, so a change of machine load hits all three alike; round r runs at context N + r·steps on
  // every side.
  const full = model.createCache();
  full.reserve(1, N + ROUNDS * STEPS);
  replay(rec, full, N);
  const lc = buildCache(an, decodeSched);
  lc.reserve(1, N + ROUNDS * STEPS);
  replay(rec, lc, N);
  // The same cache with the held key rows rebuilt ahead on the background thread (keysAhead).
  const li = buildCache(an, decodeSched, { keysAhead: true });
  li.reserve(1, N + ROUNDS * STEPS);
  replay(rec, li, N);
  const fullMs: number[] = [];
  const lorcMs: number[] = [];
  const aheadMs: number[] = [];
  const fullIds: number[] = [];
  const lorcIds: number[] = [];
  const aheadIds: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const fr = timeDecode(model, full, fullIds.at(-1) ?? allIds[N], STEPS);
    const lr = timeDecode(model, lc, lorcIds.at(-1) ?? allIds[N], STEPS);
    const lir = timeDecode(model, li, aheadIds.at(-1) ?? allIds[N], STEPS);
    fullMs.push(fr.msPerToken);
    lorcMs.push(lr.msPerToken);
    aheadMs.push(lir.msPerToken);
    fullIds.push(...fr.ids);
    lorcIds.push(...lr.ids);
    aheadIds.push(...lir.ids);
  }
  const roundRatios = fullMs.map((f, i) => r4(f / lorcMs[i]));
  const row = {
    context: N,
    backend: getBackend(),
    steps: STEPS,
    rounds: ROUNDS,
    fullTokensPerS: r4(1000 / median(fullMs)),
    lorcTokensPerS: r4(1000 / median(lorcMs)),
    speedup: r4(median(roundRatios)),
    speedupByRound: roundRatios,
    fullBytesHeld: full.bytes(),
    lorcBytesHeld: lc.bytes(),
    lorcAheadTokensPerS: r4(1000 / median(aheadMs)),
    lorcAheadSameTokens: lorcIds.filter((id, i) => id === aheadIds[i]).length,
    lorcAheadKeyRowsRebuiltAhead: li.rowsRebuiltAhead(),
    lorcAheadAuxiliaryBytes: li.auxiliaryBytes(),
    sameGreedyTokens: fullIds.filter((id, i) => id === lorcIds[i]).length,
    greedyTokens: fullIds.length,
  };
  decode.push(row);
  log('decode', JSON.stringify(row));
  save();
}
// Memory for batch b and length N, from caches actually filled (replayed real K/V, tiled over b).
const memory: Record<string, unknown>[] = [];
out.memory = memory;
for (const b of [1, 4]) {
  for (const N of CONTEXTS) {
    const full = model.createCache();
    replay(rec, full, N, b);
    const lc = buildCache(an, decodeSched);
    lc.reserve(b, N);
    replay(rec, lc, N, b);
    memory.push({
      batch: b,
      length: N,
      fullBytes: full.bytes(),
      lorcBytes: lc.bytes(),
      reduction: r4(1 - lc.bytes() / full.bytes()),
      eq54FullBytes: cacheBytesByLayer(b, N, new Array<number>(L).fill(an.dMax)).reduce((x, y) => x + y, 0),
      eq54LorcBytes: cacheBytesByLayer(b, N, decodeSched.ranks).reduce((x, y) => x + y, 0),
    });
  }
}
log('memory', JSON.stringify(memory));
save();

// 6. Single-layer profiling (Fig. 5.3 analogue), from the full model's residual at the layer.
const ptrace = residualTrace(model, allIds.slice(0, PROFILE_TOKENS));
const pBase = r4(Math.exp(ptrace.nll));
const profile: Record<string, unknown> = {
  tokens: PROFILE_TOKENS,
  baseline: pBase,
  ranks: [48, 72, 96],
  delta: {},
};
out.singleLayer = profile;
for (const dc of [48, 72, 96]) {
  const deltas: number[] = [];
  for (let l = 0; l < L; l += PROFILE_EVERY) {
    const r = run(customSchedule(L, an.dMax, new Map([[l, dc]])), ptrace, l);
    deltas.push(r4(r.ppl - pBase));
  }
  (profile.delta as Record<string, number[]>)[String(dc)] = deltas;
  log(`single-layer d_c=${dc}: Δppl`, deltas.join(' '));
  save();
}

// Records.
const at60 = table.find((r) => r.target === 0.6) as {
  progressive: number;
  uniform: number;
  bytesProgressive: number;
};
writeRecord({
  name: 'lorc-quality',
  unit: 'perplexity (lower is better)',
  ours: at60.progressive,
  baseline: at60.uniform,
  baseline_impl: `uniform LoRC schedule at the same overall budget (same skipped layers), same run; the uncompressed model (full-precision cache) scores ${basePpl}`,
  ratio: r4(at60.uniform / at60.progressive),
  config: { tokens: TOKENS, ...out },
  notes:
    'ours = progressive schedule (Eq. 5.13, skip rule: ' +
    describeSkipRule(DEFAULT_SKIP) +
    ') at 60 % overall KV compression; config.table has both schedules at every ratio with the bytes held; ratio > 1 means progressive beats uniform.',
});
const d1024 = decode[decode.length - 1] as {
  lorcTokensPerS: number;
  fullTokensPerS: number;
  speedup: number;
  context: number;
};
writeRecord({
  ...decodeLoad.mark,
  name: 'lorc-decode',
  unit: 'tokens/s (greedy decode, batch 1)',
  ours: d1024.lorcTokensPerS,
  baseline: d1024.fullTokensPerS,
  baseline_impl: `the model's full-precision KV cache (FullKVCache), same run, same context (${d1024.context})`,
  ratio: d1024.speedup,
  config: {
    backend: getBackend(),
    schedule: 'progressive 60 %',
    load1: Number(decodeLoad.load1.toFixed(2)),
    decode,
    memory,
    limit: decodeLimit(d1024.context),
  },
  notes:
    "Context filled by replaying one real prefill of the held-out text into each cache; every cache is pre-sized with reserve(1, context + rounds·steps), so none regrows while timed; the caches are timed in interleaved rounds (full, LoRC, LoRC ahead, repeated), each round continuing its own greedy decode by `steps` tokens, and the record's ratio is the median of the per-round ratios (decode[].speedupByRound), the tokens/s the medians over rounds; the LoRC cache reconstructs and rotates every held key per step (appendix H.1: one GEMM C_k·V_cᵀ into the kernels' shared memory, RoPE by the SIMD row kernel; decode.lorcAheadTokensPerS is the same cache with keysAhead: true, the rows of past positions of the next folded layer rebuilt on a background thread while the current layer runs so an attention call rebuilds only its newest row, and lorcAheadAuxiliaryBytes its two key buffers, key bases in shared memory and RoPE tables, not K/V state), then attends with the values folded into W_o' (Eq. 5.9; on native: the scores of each K/V group's query heads as one batched GEMM, softmax, P·C_v and ·W_o' on OpenBLAS, src/ops/native/lowrank.ts; on wasm the attnRows kernel over C_v, then one GEMM with W_o'); the full cache's rotated keys are read in place by the same attnRows kernel. config.limit: what each side must do per token beyond the shared projections — the key reconstruction is compute the full cache does not have (RoPE after the up-projection keeps it from being folded into the query), which is why fewer bytes read does not make the LoRC step faster.",
});

/**
 * Per-token work at context N that differs between the caches: the LoRC key reconstruction's
 * multiply-adds (Σ over compressed layers of N·d_c^k·Hkv·D), the attention multiply-adds of each side,
 * and the K/V bytes each reads (LoRC: C_k, C_v; full: rotated keys and values).
 */
function decodeLimit(N: number): Record<string, number> {
  const { numHeads: Hq, numKvHeads: Hkv, headDim: D } = shape;
  const width = Hkv * D;
  let reconstructMacs = 0;
  let lorcAttentionMacs = 0;
  let lorcBytes = 0;
  decodeSched.ranks.forEach((r, l) => {
    const compressed = !decodeSched.skipped[l] && r < an.dMax;
    const dc = compressed ? r : width;
    if (compressed) reconstructMacs += N * dc * width;
    lorcAttentionMacs += N * Hq * (D + (compressed ? dc : D));
    lorcBytes += 4 * N * 2 * dc;
  });
  return {
    context: N,
    lorc_reconstruct_macs_per_token: reconstructMacs,
    lorc_attention_macs_per_token: lorcAttentionMacs,
    full_attention_macs_per_token: L * N * Hq * 2 * D,
    lorc_kv_bytes_read_per_token: lorcBytes,
    full_kv_bytes_read_per_token: L * 4 * N * 2 * width,
  };
}
fs.rmSync(path.join(RESULTS, 'lorc-details.tmp.json'), { force: true });
