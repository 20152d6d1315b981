/**
 * LoRC on the real SmolLM2-135M-Instruct weights (small settings: a few layers, 12 tokens):
 * the layer loop reproduces the decoder, a full-rank LoRC cache reproduces the full cache, a rank-r
 * cache equals the model with W_k, W_v replaced by their rank-r SVD, κ matches numpy, and Theorem 2
 * holds on real hidden states.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadAgNews } from '../../src/data';
import { loadCausalLM, LlamaModel } from '../../src/models';
import { Tensor, matmulReference, rmsNorm, ropeInvFreq } from '../../src/ops';
import {
  LowRankKVCache,
  decomposeProjection,
  foldOutputProjection,
  headLogits,
  kappaOf,
  meanNll,
  modelAttention,
  perplexityWith,
  reconstruct,
  residualTrace,
  rightBasis,
  theorem2Factor,
  type LowRankLayer,
} from '../../src/methods/lorc';
import { numpy, relMaxError } from './helpers';

const lm = loadCausalLM('smollm2-135m-instruct');
const model = lm.model;
const cfg = model.config;
const { weights } = modelAttention(model);
const ids = lm.tokenizer.encode(loadAgNews()[7000].description).slice(0, 12);
const LAYERS = [0, cfg.numLayers - 1];
const decs = new Map(
  LAYERS.map((l) => [
    l,
    { key: decomposeProjection(weights[l].wk), value: decomposeProjection(weights[l].wv) },
  ]),
);

function lorcCache(ranks: Map<number, number>): LowRankKVCache {
  const layers: LowRankLayer[] = Array.from({ length: cfg.numLayers }, (_, l) => {
    const r = ranks.get(l);
    const d = decs.get(l);
    if (r === undefined || !d) return { keyBasis: null, valueBasis: null };
    const valueBasis = rightBasis(d.value, r);
    return {
      keyBasis: rightBasis(d.key, r),
      valueBasis,
      foldedOutput: foldOutputProjection(valueBasis, weights[l].wo, cfg.numHeads, cfg.numKvHeads),
    };
  });
  return new LowRankKVCache({
    numHeads: cfg.numHeads,
    numKvHeads: cfg.numKvHeads,
    headDim: cfg.headDim,
    invFreq: ropeInvFreq(cfg.headDim, cfg.ropeBase),
    ropeStyle: cfg.ropeStyle,
    layers,
  });
}

function argmaxRows(t: Tensor): number[] {
  const [T, V] = t.shape;
  return Array.from({ length: T }, (_, i) => {
    let b = 0;
    for (let j = 1; j < V; j++) if (t.data[i * V + j] > t.data[i * V + b]) b = j;
    return b;
  });
}

const fullLogits = model.forward(ids, model.createCache(), { logits: 'all' }).logits as Tensor;

test("the model's layer loop, run layer by layer from a residual, reproduces LlamaModel.forward", () => {
  const cache = model.createCache();
  let x = model.embedTokens(ids);
  for (let l = 0; l < cfg.numLayers; l++) x = model.runLayers(x, l, l + 1, cache);
  // Same engine ops in the same order: identical up to nothing (checked at 1e-6 relative).
  assert.ok(relMaxError(headLogits(model, x).data, fullLogits.data) <= 1e-6);
  const trace = residualTrace(model, ids);
  assert.equal(trace.residuals.length, cfg.numLayers + 1);
});

test('full-rank LoRC cache (folded W_o) on real layers gives the uncompressed logits', () => {
  const cache = lorcCache(new Map(LAYERS.map((l) => [l, 192])));
  const logits = model.forward(ids, cache, { logits: 'all' }).logits as Tensor;
  // float32 round-off of the projection/fold through 30 layers: 1e-3 of the largest logit is far
  // below the gap that would change a prediction; the argmax must match everywhere.
  const e = relMaxError(logits.data, fullLogits.data);
  assert.ok(e <= 1e-3, `relative max logit error ${e}`);
  assert.deepEqual(argmaxRows(logits), argmaxRows(fullLogits));
});

test('rank-48 LoRC cache on the last layer equals the model with W̃_k, W̃_v of rank 48 (Eq. 5.5-5.9)', () => {
  const l = cfg.numLayers - 1;
  const d = decs.get(l)!;
  const layers = model.weights.layers.map((w, i) =>
    i === l ? { ...w, wk: reconstruct(d.key, 48).transpose(), wv: reconstruct(d.value, 48).transpose() } : w,
  );
  const lowModel = new LlamaModel(cfg, { ...model.weights, layers }, 'rank-48 layer');
  const want = lowModel.forward(ids, lowModel.createCache(), { logits: 'all' }).logits as Tensor;
  const got = model.forward(ids, lorcCache(new Map([[l, 48]])), { logits: 'all' }).logits as Tensor;
  // Same maths in a different order (compressed rows, folded W_o' vs the rank-48 weights): float32
  // round-off only, observed 1.2e-6 of the largest logit; 1e-5 is 8× that. A wrong rank, head or
  // position moves the logits by ≥ 1e-2.
  const e = relMaxError(got.data, want.data);
  assert.ok(e <= 1e-5, `vs low-rank model: ${e}`);
});

test('rank-48 LoRC cache on the last layer is a real change from the full model', () => {
  const l = cfg.numLayers - 1;
  const got = model.forward(ids, lorcCache(new Map([[l, 48]])), { logits: 'all' }).logits as Tensor;
  // Observed 7.8e-2 of the largest logit: 1e-2 separates it from round-off (≤ 1e-5) by three decades.
  const e = relMaxError(got.data, fullLogits.data);
  assert.ok(e > 1e-2, `vs full model: ${e}`);
});

test('meanNll equals a float64 log-softmax computed by numpy', () => {
  const T = 5;
  const V = 7;
  const logits = new Tensor(
    Float32Array.from({ length: T * V }, (_, i) => Math.sin(1.7 * i) * 3 + (i % 5)),
    [T, V],
  );
  const toks = [3, 0, 6, 2, 5];
  const ref = numpy<number>(
    `a = np.array(inp[0], dtype=np.float64).reshape(${T}, ${V}); t = inp[1]\n` +
      `lse = np.log(np.exp(a - a.max(1, keepdims=True)).sum(1)) + a.max(1)\n` +
      `print(json.dumps(float(np.mean([lse[i] - a[i, t[i + 1]] for i in range(${T} - 1)]))))`,
    [Array.from(logits.data), toks],
  );
  const got = meanNll(logits, toks);
  assert.ok(Math.abs(got - ref) <= 1e-12 * Math.abs(ref), `meanNll ${got} vs numpy ${ref}`);
});

test("an uncompressed LoRC cache gives exp(trace.nll) and the model's own perplexity (1e-6)", () => {
  const trace = residualTrace(model, ids);
  const own = lm.perplexity(ids, { window: ids.length });
  assert.equal(own.tokens, ids.length - 1);
  // residualTrace's nll is the full model's: the same numbers as CausalLM.perplexity's own pass.
  assert.ok(Math.abs(trace.nll - own.nll) <= 1e-6, `trace nll ${trace.nll} vs model ${own.nll}`);
  const r = perplexityWith(model, trace, lorcCache(new Map()));
  assert.ok(
    Math.abs(r.perplexity - Math.exp(trace.nll)) <= 1e-6 * r.perplexity,
    `LoRC perplexity ${r.perplexity} vs exp(trace.nll) ${Math.exp(trace.nll)}`,
  );
  assert.ok(
    Math.abs(r.perplexity - own.perplexity) <= 1e-6 * own.perplexity,
    `LoRC perplexity ${r.perplexity} vs the model's ${own.perplexity}`,
  );
  assert.equal(r.nll, Math.log(r.perplexity));
});

test('perplexityWith from layer l of the residual trace equals starting at layer 0', () => {
  const trace = residualTrace(model, ids);
  const l = cfg.numLayers - 1;
  const from0 = perplexityWith(model, trace, lorcCache(new Map([[l, 48]]))).nll;
  // The compressed layer changes the score (so a trace that ignored the cache would be caught)...
  assert.ok(Math.abs(from0 - trace.nll) > 1e-3, `compressed ${from0} vs full ${trace.nll}`);
  for (const from of [1, 12, l]) {
    // ...and every start at or before the compressed layer gives the same number (1e-6 relative).
    const r = perplexityWith(model, trace, lorcCache(new Map([[l, 48]])), from).nll;
    assert.ok(Math.abs(r - from0) <= 1e-6 * from0, `from layer ${from}: ${r} vs from 0: ${from0}`);
  }
});

test('κ(W_k), κ(W_v) of real layers match numpy on the same dequantised matrices', () => {
  for (const l of LAYERS) {
    const d = decs.get(l)!;
    const ref = numpy<number[]>(
      `print(json.dumps([float(np.linalg.cond(np.array(m, dtype=np.float64).reshape(576, 192))) for m in inp]))`,
      [Array.from(weights[l].wk.data), Array.from(weights[l].wv.data)],
    );
    assert.ok(
      Math.abs(kappaOf(d.key) - ref[0]) <= 1e-8 * ref[0],
      `layer ${l} κ_k ${kappaOf(d.key)} vs ${ref[0]}`,
    );
    assert.ok(Math.abs(kappaOf(d.value) - ref[1]) <= 1e-8 * ref[1], `layer ${l} κ_v`);
  }
});

test('Theorem 2 on real hidden states: ‖xW_k − xW̃_k‖ ≤ σ_{k+1}‖x‖', () => {
  const trace = residualTrace(model, ids);
  for (const l of LAYERS) {
    const x = rmsNorm(trace.residuals[l], model.weights.layers[l].attnNorm, cfg.rmsEps);
    for (const which of ['key', 'value'] as const) {
      const d = decs.get(l)![which];
      const w = which === 'key' ? weights[l].wk : weights[l].wv;
      const full = matmulReference(x, w);
      for (const k of [24, 48, 96, 144]) {
        const low = matmulReference(x, reconstruct(d, k));
        const bound = theorem2Factor(d, k);
        for (let t = 0; t < ids.length; t++) {
          let e = 0;
          let n = 0;
          for (let j = 0; j < 192; j++) e += (full.data[t * 192 + j] - low.data[t * 192 + j]) ** 2;
          for (let j = 0; j < cfg.hidden; j++) n += x.data[t * cfg.hidden + j] ** 2;
          assert.ok(
            Math.sqrt(e) <= bound * Math.sqrt(n) * (1 + 1e-4),
            `layer ${l} ${which} k=${k} token ${t}`,
          );
        }
      }
    }
  }
});
