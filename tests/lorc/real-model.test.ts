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
import { Tensor, matmulReference, ropeInvFreq } from '../../src/ops';
import {
  LowRankKVCache,
  decomposeProjection,
  foldOutputProjection,
  headLogits,
  kappaOf,
  layerForward,
  modelAttention,
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
    engine: 'js',
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

test('the layer loop (used for profiling from a residual) reproduces LlamaModel.forward', () => {
  const x = layerForward(model, model.embedTokens(ids), 0, cfg.numLayers, model.createCache());
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
  const lowModel = new LlamaModel(cfg, { ...model.weights, layers }, 'rank-48 layer', 'js');
  const want = lowModel.forward(ids, lowModel.createCache(), { logits: 'all' }).logits as Tensor;
  const got = model.forward(ids, lorcCache(new Map([[l, 48]])), { logits: 'all' }).logits as Tensor;
  assert.ok(
    relMaxError(got.data, want.data) <= 1e-3,
    `vs low-rank model: ${relMaxError(got.data, want.data)}`,
  );
  // ...and it is a real change from the full model.
  assert.ok(relMaxError(got.data, fullLogits.data) > 1e-3);
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
    const x = model.engine.rmsNorm(trace.residuals[l], model.weights.layers[l].attnNorm, cfg.rmsEps);
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
