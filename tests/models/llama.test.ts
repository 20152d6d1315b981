/**
 * The LLaMA-family decoder: SmolLM2-135M against transformers on the same dequantised GGUF weights
 * (fixture from scripts/make-model-fixtures.py), greedy decoding, perplexity, the KV-cache contract,
 * and engine equivalence on a tiny random model.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  FullKVCache,
  ModelConfigError,
  ModelFormatError,
  ModelInputError,
  linearJs,
  readGgufHeader,
  llamaConfigFromHf,
  loadCausalLM,
  scaledInvFreq,
  unpermuteQK,
  type KVAppend,
  type KVAttendResult,
  type KVCache,
  type KVRead,
  type CausalLM,
} from '../../src/models';
import { attentionReference } from '../../src/ops/attention';
import { Tensor } from '../../src/ops/tensor';
import { clearOutputPool, outputBuffer, pooledOutputBytes, recycle, wasmArena } from '../../src/ops';
import {
  ConfigError,
  EfflabError,
  FileFormatError,
  NotFoundError,
  ShapeError,
  ValueError,
} from '../../src/errors';
import { linearReference } from '../../src/models/linear';
import { FIXTURES } from './helpers';
import { tinyLlama } from './tiny-model';

interface SmolFixture {
  ids: number[];
  top5: number[][];
  top5_logits: number[][];
  slice_ids: number[];
  slice_logits: number[][];
  greedy16: number[];
  ppl: { ids: number[]; window: number; stride: number; perplexity: number; tokens: number };
}
const FX = JSON.parse(readFileSync(join(FIXTURES, 'smollm2.json'), 'utf8')) as SmolFixture;

let lmCache: CausalLM | undefined;
function lm(): CausalLM {
  lmCache ??= loadCausalLM('smollm2-135m-instruct');
  return lmCache;
}

/**
 * Tolerance: both sides run float32 on identical dequantised weights; they differ only in summation
 * order over 30 layers (observed max |Δ| ≈ 2e-5 on logits of magnitude 10–30; the fixture is rounded
 * to 1e-5). We allow 1e-3 absolute: 50× the observed gap, far below the gaps that decide rankings.
 */
const LOGIT_TOL = 1e-3;

test('SmolLM2 logits match transformers: same top-5 at every position, |Δ| ≤ 1e-3', () => {
  const logits = lm().logits(FX.ids);
  const V = logits.shape[1];
  let maxDiff = 0;
  for (let t = 0; t < FX.ids.length; t++) {
    const row = logits.data.subarray(t * V, (t + 1) * V);
    const ours = Array.from({ length: V }, (_, i) => i)
      .sort((a, b) => row[b] - row[a])
      .slice(0, 5);
    assert.deepEqual(
      [...ours].sort((a, b) => a - b),
      [...FX.top5[t]].sort((a, b) => a - b),
      `top-5 set at position ${t}`,
    );
    FX.top5[t].forEach((id, j) => (maxDiff = Math.max(maxDiff, Math.abs(row[id] - FX.top5_logits[t][j]))));
    FX.slice_ids.forEach((id, j) => (maxDiff = Math.max(maxDiff, Math.abs(row[id] - FX.slice_logits[t][j]))));
    // Where the reference's ranks are separated by more than twice the tolerance, the order must agree.
    for (let j = 0; j < 4; j++) {
      if (FX.top5_logits[t][j] - FX.top5_logits[t][j + 1] > 2 * LOGIT_TOL) {
        assert.equal(ours[j], FX.top5[t][j], `rank ${j} at position ${t}`);
      }
    }
  }
  console.log(`SmolLM2 logits vs transformers: max |Δ| = ${maxDiff.toExponential(2)}`);
  assert.ok(maxDiff <= LOGIT_TOL, `max |Δ| ${maxDiff}`);
});

test("SmolLM2 greedy continuation (16 tokens, KV-cache decode) equals transformers'", () => {
  const r = lm().generate(FX.ids, { maxNewTokens: 16, stopAtEos: false });
  assert.deepEqual(r.ids, FX.greedy16);
  const c = lm().model.config;
  // Full cache: K and V of 48 positions × 30 layers × 3 KV heads × 64 dims, float32.
  assert.equal(r.cacheBytes, 2 * 4 * (32 + 15) * c.numLayers * c.numKvHeads * c.headDim);
  // generate sizes its own cache in the shared memory and hands it back when done, so a loop of calls
  // (no turn for the collector) does not hold on to it.
  const arena = wasmArena();
  const used = arena.usedBytes;
  assert.deepEqual(lm().generate(FX.ids, { maxNewTokens: 16, stopAtEos: false }).ids, FX.greedy16);
  assert.equal(arena.usedBytes, used, 'shared memory in use after a second generate');
});

test('SmolLM2 sliding-window perplexity within 1e-4 (relative) of transformers', () => {
  const r = lm().perplexity(FX.ppl.ids, { window: FX.ppl.window, stride: FX.ppl.stride });
  assert.equal(r.tokens, FX.ppl.tokens);
  const rel = Math.abs(r.perplexity - FX.ppl.perplexity) / FX.ppl.perplexity;
  console.log(
    `perplexity ours ${r.perplexity.toFixed(4)} vs transformers ${FX.ppl.perplexity.toFixed(4)} (rel ${rel.toExponential(2)})`,
  );
  // Logits agree to ~2e-5 (test above), so the mean NLL agrees to ~2e-5 and the perplexity to
  // ~2e-5 relative; 1e-4 is 5× that. A wrong window/stride bookkeeping moves it by ≥ 1e-2.
  assert.ok(rel <= 1e-4, `relative difference ${rel}`);
});

test('SmolLM2: top-k, embeddings, empty and over-long prompts', () => {
  const top = lm().nextTokenTopK('The capital of France is', 10);
  assert.equal(top.length, 10);
  assert.ok(top[0].prob >= top[9].prob && top[0].prob <= 1);
  assert.equal(top[0].text.trim(), 'Paris');
  const e = lm().embed('A sentence to embed.');
  assert.equal(e.length, 576);
  assert.ok(e.every((v) => Number.isFinite(v)));
  assert.throws(
    () => lm().generate(''),
    (err: Error) => err instanceof ValueError && /prompt is empty/.test(err.message),
  );
  const tooLong = new Array<number>(8193).fill(28);
  assert.throws(() => lm().logits(tooLong), /8193 tokens, more than the context length 8192/);
  assert.throws(() => lm().logits([49152]), /token id 49152 at position 0 is outside the vocabulary/);
});

test('SmolLM2: nextTokenTopKBatch (packed prompts) equals nextTokenTopK one by one', () => {
  const prompts = [
    'The capital of France is',
    'Hi',
    "Wall St. Bears Claw Back Into the Black. Short-sellers, Wall Street's dwindling band of ultra-cynics, are seeing green again.\nTopic:",
    "Oil and Economy Cloud Stocks' Outlook. Soaring crude prices plus worries about the economy.\nTopic:",
  ];
  const one = prompts.map((p) => lm().nextTokenTopK(p, 5));
  // maxTokens 40: the two long prompts go into separate passes, the two short ones share the first.
  for (const maxTokens of [40, 2048]) {
    const batch = lm().nextTokenTopKBatch(prompts, 5, { maxTokens });
    assert.equal(batch.length, prompts.length);
    batch.forEach((row, i) => {
      assert.deepEqual(
        row.map((t) => t.id),
        one[i].map((t) => t.id),
        `prompt ${i} (maxTokens ${maxTokens}): same top-5 ids`,
      );
      // float32 GEMMs with other row blockings: logits agree to ~1e-5, probabilities within 1e-4.
      row.forEach((t, j) => assert.ok(Math.abs(t.prob - one[i][j].prob) <= 1e-4, `prompt ${i} id ${t.id}`));
    });
  }
  assert.throws(() => lm().nextTokenTopKBatch(['x', ''], 5), /prompt is empty/);
});

test('SmolLM2: the layer loop reuses its dead intermediates without changing a logit (pool poisoned with NaN)', () => {
  const model = lm().model;
  const ids = FX.ids.slice(0, 20);
  const T = ids.length;
  clearOutputPool();
  const first = model.forward(ids, undefined, { logits: 'all' }).logits as Tensor;
  assert.ok(pooledOutputBytes() > 0, 'the layer loop handed its intermediates back');
  // Every activation length of the loop (hidden, q, k/v, fused qkv, intermediate, fused gate/up), NaN.
  const c = model.config;
  const widths = [c.hidden, c.numHeads * c.headDim, c.numKvHeads * c.headDim, c.intermediate];
  widths.push(widths[1] + 2 * widths[2], 2 * c.intermediate);
  for (const wd of widths) {
    recycle(...Array.from({ length: 6 }, () => new Tensor(outputBuffer(T * wd).fill(NaN), [T, wd])));
  }
  const again = model.forward(ids, undefined, { logits: 'all' }).logits as Tensor;
  assert.deepEqual(Array.from(again.data), Array.from(first.data), 'bitwise the same logits');
  clearOutputPool();
});

test("unpermuteQK inverts llama.cpp's Q/K row permutation", () => {
  // llama.cpp: w.reshape(heads, 2, D/2, in).swapaxes(1, 2): HF row (h, j, r) → GGUF row (h, r, j).
  const heads = 2;
  const D = 4;
  const cols = 3;
  const hf = Float32Array.from({ length: heads * D * cols }, (_, i) => i);
  const gg = new Float32Array(hf.length);
  for (let h = 0; h < heads; h++)
    for (let j = 0; j < 2; j++)
      for (let r = 0; r < D / 2; r++)
        gg.set(
          hf.subarray((h * D + j * (D / 2) + r) * cols, (h * D + j * (D / 2) + r + 1) * cols),
          (h * D + 2 * r + j) * cols,
        );
  assert.deepEqual([...unpermuteQK(gg, heads * D, cols, heads)], [...hf]);
});

function maxAbs(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

test('tiny model: incremental decode through the cache equals one prefill (tied and untied)', () => {
  for (const tied of [true, false]) {
    const m = tinyLlama({ tied });
    const ids = [3, 17, 5, 9, 22, 1, 30];
    const full = m.forward(ids, m.createCache()).logits as Tensor;
    const cache = m.createCache();
    const steps: number[] = [];
    m.forward(ids.slice(0, 3), cache).logits?.data.forEach((v) => steps.push(v));
    for (let i = 3; i < ids.length; i++)
      m.forward([ids[i]], cache).logits?.data.forEach((v) => steps.push(v));
    assert.ok(maxAbs(full, new Tensor(Float32Array.from(steps), full.shape)) < 1e-4, `tied=${tied}`);
    assert.equal(cache.length(0), ids.length);
    assert.equal(cache.bytes(), 2 * 4 * ids.length * 2 * 2 * 8);
    assert.deepEqual(cache.bytesByLayer(), [cache.bytes() / 2, cache.bytes() / 2]);
    cache.clear();
    assert.equal(cache.bytes(), 0);
  }
});

/** A cache that takes over attention (as LoRC's does), optionally applying W_o itself. */
class AttendingCache implements KVCache {
  readonly inner: FullKVCache;
  appended: KVAppend[] = [];
  constructor(
    private readonly m: ReturnType<typeof tinyLlama>,
    private readonly project: boolean,
  ) {
    this.inner = m.createCache();
  }
  get numLayers(): number {
    return this.inner.numLayers;
  }
  length(l: number): number {
    return this.inner.length(l);
  }
  append(l: number, e: KVAppend): void {
    this.appended.push(e);
    this.inner.append(l, e);
  }
  read(l: number): KVRead {
    return this.inner.read(l);
  }
  attend(l: number, q: Tensor, positions: readonly number[]): KVAttendResult {
    const kv = this.inner.read(l);
    const [, T, Hq, D] = q.shape;
    const a = attentionReference(q, kv.keys, kv.values, { causal: true, queryOffset: positions[0] }).reshape([
      T,
      Hq * D,
    ]);
    if (!this.project) return { out: a.reshape([1, T, Hq * D]), projected: false };
    return { out: linearReference(a, this.m.attentionWeights(l).wo).reshape([1, T, -1]), projected: true };
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

test('tiny model: a cache with attend() (projected or not) gives the same logits; append gets pre-RoPE keys', () => {
  const m = tinyLlama();
  const ids = [4, 8, 15, 16, 23, 42 % 40];
  const ref = m.forward(ids).logits as Tensor;
  for (const project of [false, true]) {
    const cache = new AttendingCache(m, project);
    const got = m.forward(ids.slice(0, 4), cache).logits as Tensor;
    const got2 = m.forward(ids.slice(4), cache).logits as Tensor;
    const all = new Tensor(Float32Array.from([...got.data, ...got2.data]), ref.shape);
    assert.ok(maxAbs(ref, all) < 1e-4, `projected=${project}`);
    // The keys handed to append are x·W_kᵀ of the normed hidden input, before RoPE.
    const e = cache.appended[0];
    const k = linearReference(e.hidden.reshape([4, 32]), m.attentionWeights(0).wk);
    assert.ok(maxAbs(k, e.keysPreRope.reshape([4, 16])) < 1e-5);
    assert.deepEqual(e.positions, [0, 1, 2, 3]);
    assert.deepEqual(cache.appended[m.config.numLayers].positions, [4, 5]);
  }
});

test('tiny model: a non-finite value made inside a layer is reported with the layer', () => {
  const m = tinyLlama();
  const ids = [1, 2, 3, 4];
  assert.ok((m.forward(ids).logits as Tensor).data.every(Number.isFinite));
  const l1 = m.weights.layers[1];
  l1.wDown = new Tensor(
    l1.wDown.data.map((x, i) => (i === 5 ? Infinity : x)),
    l1.wDown.shape,
  );
  l1.quant = undefined;
  for (const T of [4, 1]) {
    assert.throws(() => m.forward(ids.slice(0, T)), {
      name: 'NonFiniteError',
      message: /layer 1: residual stream \[\d+, \d+\] has a non-finite value/,
    });
  }
});

test('tiny model: fused QKV and gate/up views give the same logits; a replaced weight is honoured', () => {
  const m = tinyLlama();
  const ids = [1, 2, 3, 4];
  const ref = m.forward(ids).logits as Tensor;
  for (const l of m.weights.layers) {
    const qkv = Float32Array.from([...l.wq.data, ...l.wk.data, ...l.wv.data]);
    const qn = l.wq.size;
    const kn = l.wk.size;
    l.wq = new Tensor(qkv.subarray(0, qn), l.wq.shape);
    l.wk = new Tensor(qkv.subarray(qn, qn + kn), l.wk.shape);
    l.wv = new Tensor(qkv.subarray(qn + kn), l.wv.shape);
    l.wqkv = new Tensor(qkv, [qkv.length / 32, 32]);
    const gu = Float32Array.from([...l.wGate.data, ...l.wUp.data]);
    l.wGate = new Tensor(gu.subarray(0, l.wGate.size), l.wGate.shape);
    l.wUp = new Tensor(gu.subarray(l.wGate.size), l.wUp.shape);
    l.wGateUp = new Tensor(gu, [gu.length / 32, 32]);
  }
  assert.ok(maxAbs(m.forward(ids).logits as Tensor, ref) < 1e-5);
  // Replace W_k of layer 0 by a scaled copy: the decoder must use it, not the stale fused buffer.
  const l0 = m.weights.layers[0];
  const fusedBefore = (m.forward(ids).logits as Tensor).data.slice();
  l0.wk = new Tensor(
    l0.wk.data.map((x) => 2 * x),
    l0.wk.shape,
  );
  const changed = m.forward(ids).logits as Tensor;
  assert.ok(maxAbs(changed, new Tensor(fusedBefore, changed.shape)) > 1e-4);
  l0.wqkv = undefined;
  assert.ok(maxAbs(m.forward(ids).logits as Tensor, changed) < 1e-6);
});

test('RoPE frequencies with llama3 and linear scaling match transformers (rope.json)', () => {
  const cases = JSON.parse(readFileSync(join(FIXTURES, 'rope.json'), 'utf8')) as {
    config: Record<string, unknown>;
    inv_freq: number[];
  }[];
  for (const c of cases) {
    const cfg = llamaConfigFromHf(
      { ...c.config, num_hidden_layers: 1, intermediate_size: 8, vocab_size: 8 },
      'rope.json',
    );
    const inv = scaledInvFreq(cfg);
    assert.equal(inv.length, c.inv_freq.length);
    // transformers computes in float32: relative agreement to ~1e-6.
    inv.forEach((x, i) =>
      assert.ok(Math.abs(x - c.inv_freq[i]) <= 2e-6 * c.inv_freq[i], `${i}: ${x} vs ${c.inv_freq[i]}`),
    );
  }
  assert.throws(
    () =>
      llamaConfigFromHf(
        {
          ...cases[0].config,
          rope_scaling: { rope_type: 'yarn', factor: 4 },
          num_hidden_layers: 1,
          intermediate_size: 8,
          vocab_size: 8,
        },
        'cfg.json',
      ),
    /cfg\.json: rope_scaling type 'yarn' is not supported/,
  );
});

test('model faults raise the project error classes (src/errors.ts); the old names still match', () => {
  const is =
    (cls: new (...a: never[]) => Error, re: RegExp) =>
    (e: unknown): boolean =>
      e instanceof cls && e instanceof EfflabError && re.test((e as Error).message);
  // A path that does not exist says so (not "unknown model id").
  assert.throws(
    () => loadCausalLM('/no/such/dir/model.gguf'),
    is(NotFoundError, /model file not found: '\/no\/such\/dir\/model\.gguf'/),
  );
  assert.throws(
    () => loadCausalLM('./missing.gguf'),
    (e: Error) => !/unknown model id/.test(e.message),
  );
  assert.throws(() => loadCausalLM('gpt-9000'), is(NotFoundError, /unknown model id 'gpt-9000'/));
  assert.throws(() => readGgufHeader('/no/such.gguf'), is(NotFoundError, /cannot open GGUF file/));
  assert.throws(() => readGgufHeader(join(FIXTURES, 'rope.json')), is(FileFormatError, /rope\.json/));
  assert.throws(() => lm().logits([49152]), is(ValueError, /token id 49152/));
  assert.throws(() => lm().logits(new Array<number>(8193).fill(28)), is(ShapeError, /context length 8192/));
  const m = tinyLlama();
  assert.throws(() => m.runLayers(m.embedTokens([1]), 1, 3, m.createCache()), is(ValueError, /\[1, 3\)/));
  assert.throws(() => m.forward([1], new FullKVCache(3, m.rope)), is(ConfigError, /serves 3 layers/));
  const cache = m.createCache();
  const k = Tensor.zeros([1, 2, 2, 8]);
  const hidden = Tensor.zeros([1, 2, 32]);
  assert.throws(
    () => cache.append(0, { keysPreRope: k, values: Tensor.zeros([1, 2, 2, 4]), positions: [0, 1], hidden }),
    is(ShapeError, /must both be \[B, T, Hkv, D\]/),
  );
  assert.throws(() => cache.read(0), is(ValueError, /layer 0 is empty/));
  assert.throws(() => linearJs(Tensor.zeros([2, 3]), Tensor.zeros([4, 5])), is(ShapeError, /in = 5/));
  assert.throws(
    () => m.runLayers(Tensor.zeros([2, 31]), 0, 1, m.createCache()),
    is(ShapeError, /rmsNorm: weight has shape \[32\], expected \[31\]/),
  );
  // Deprecated aliases: instanceof still matches the classes that replaced them.
  assert.ok(new ValueError('x') instanceof ModelInputError && new ShapeError('x') instanceof ModelInputError);
  assert.ok(
    new NotFoundError('x') instanceof ModelConfigError && new ConfigError('x') instanceof ModelConfigError,
  );
  assert.ok(
    new FileFormatError('x') instanceof ModelFormatError &&
      !(new ValueError('x') instanceof ModelFormatError),
  );
});

let qlmCache: CausalLM | undefined;
function qlm(): CausalLM {
  qlmCache ??= loadCausalLM('smollm2-135m-instruct', { weights: 'quantized' });
  return qlmCache;
}

test('quantized weights (Q4_1/Q8_0 blocks): perplexity on the same tokens within 0.5% of the f32 path', () => {
  const q = qlm();
  assert.ok(q.model.weights.layers[0].quant?.wq, 'layer 0 W_q is held quantized');
  assert.ok(q.model.weights.outputQuant, 'the output projection is held quantized');
  const opts = { window: FX.ppl.window, stride: FX.ppl.stride };
  const rq = q.perplexity(FX.ppl.ids, opts);
  const rf = lm().perplexity(FX.ppl.ids, opts);
  const rel = Math.abs(rq.perplexity - rf.perplexity) / rf.perplexity;
  console.log(
    `perplexity on ${rq.tokens} tokens: quantized ${rq.perplexity.toFixed(5)} vs f32 ${rf.perplexity.toFixed(5)} (rel ${rel.toExponential(2)})`,
  );
  assert.equal(rq.tokens, rf.tokens);
  // Issue 10's bound is 0.5 %; the blocks decode exactly to the f32 path's weights, so the two differ
  // only by summation order (observed ≲ 1e-6).
  assert.ok(rel <= 5e-3, `relative difference ${rel}`);
  // Same greedy continuation as transformers on the dequantised weights.
  assert.deepEqual(q.generate(FX.ids, { maxNewTokens: 16, stopAtEos: false }).ids, FX.greedy16);
  // LoRC and other readers get exact float32 copies of held-quantized projections.
  const a = q.model.attentionWeights(3);
  const b = lm().model.attentionWeights(3);
  for (const k of ['wq', 'wk', 'wv', 'wo'] as const) assert.equal(maxAbs(a[k], b[k]), 0, k);
});

test('quantized weights: peak RSS of loading SmolLM2 and decoding 8 tokens ≤ 400 MB (f32 for comparison)', () => {
  const script = [
    "const { loadCausalLM } = require('./src/models');",
    'const lm = loadCausalLM("smollm2-135m-instruct", { weights: process.argv[1] });',
    "lm.generate('The capital of France is', { maxNewTokens: 8, stopAtEos: false });",
    'console.log(Math.round(process.resourceUsage().maxRSS / 1024));',
  ].join('\n');
  const rss = (mode: string): number =>
    Number(
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script, mode], {
        cwd: join(__dirname, '..', '..'),
        encoding: 'utf8',
      }).trim(),
    );
  const q = rss('quantized');
  const f = rss('f32');
  console.log(`peak RSS after load + 8 decode steps: quantized ${q} MB, f32 ${f} MB`);
  assert.ok(q <= 400, `quantized peak RSS ${q} MB`);
  assert.ok(q < f, `quantized ${q} MB vs f32 ${f} MB`);
});
