/**
 * Evaluating LoRC on a real LLaMA-family model (thesis §5.6): perplexity with a given KV cache,
 * decode speed, and the model view LoRC needs (shape and attention weights in thesis layout).
 *
 * `layerForward` runs a range of decoder layers with a cache, mirroring `LlamaModel.forward` step by
 * step (same engine ops, same order), so that single-layer profiling can start every run from the
 * full model's residual stream at the compressed layer: layers before it are untouched by the
 * compression, so recomputing them would only repeat identical work. A test checks that the layer
 * loop reproduces `LlamaModel.forward`'s logits.
 */
import { ropeInvFreq, Tensor } from '../../ops';
import type { KVCache } from '../../models/kv-cache';
import type { LlamaModel } from '../../models/llama';
import { scaledInvFreq } from '../../models/llama';
import { LorcError } from './errors';
import { thesisLayout } from './decompose';
import type { AttentionShape, AttentionWeights } from './model';

/** LoRC's view of a model: attention shape and every layer's W_k, W_v, W_o in thesis layout. */
export function modelAttention(model: LlamaModel): { shape: AttentionShape; weights: AttentionWeights[] } {
  const c = model.config;
  const invFreq = scaledInvFreq(c, model.weights.ropeFreqFactors);
  const weights = Array.from({ length: c.numLayers }, (_, l) => {
    // With K/V biases (Qwen2) the cache compresses k = xW + b as the decoder hands it over.
    const w = model.attentionWeights(l);
    return { wk: thesisLayout(w.wk), wv: thesisLayout(w.wv), wo: thesisLayout(w.wo) };
  });
  return {
    shape: {
      numHeads: c.numHeads,
      numKvHeads: c.numKvHeads,
      headDim: c.headDim,
      hidden: c.hidden,
      ropeStyle: c.ropeStyle,
      invFreq: invFreq.length === c.headDim / 2 ? invFreq : ropeInvFreq(c.headDim, c.ropeBase),
    },
    weights,
  };
}

/**
 * Run layers [from, to) on the residual stream x [T, hidden] of tokens at positions start..start+T-1,
 * appending to `cache` (as `LlamaModel.forward` does). Returns the residual after layer to − 1.
 */
export function layerForward(
  model: LlamaModel,
  x: Tensor,
  from: number,
  to: number,
  cache: KVCache,
  start = 0,
): Tensor {
  const c = model.config;
  const e = model.engine;
  if (!(from >= 0 && from <= to && to <= c.numLayers))
    throw new LorcError(`layerForward: layers [${from}, ${to}) outside 0..${c.numLayers}`);
  const T = x.shape[0];
  const D = c.headDim;
  const positions = Array.from({ length: T }, (_, i) => start + i);
  for (let l = from; l < to; l++) {
    const w = model.weights.layers[l];
    const h = e.rmsNorm(x, w.attnNorm, c.rmsEps);
    const q = e.linear(h, w.wq, w.bq, `layer ${l} q`);
    const k = e.linear(h, w.wk, w.bk, `layer ${l} k`);
    const v = e.linear(h, w.wv, w.bv, `layer ${l} v`);
    cache.append(l, {
      keysPreRope: k.reshape([1, T, c.numKvHeads, D]),
      values: v.reshape([1, T, c.numKvHeads, D]),
      positions,
      hidden: h.reshape([1, T, c.hidden]),
    });
    const qr = model.rope(q.reshape([1, T, c.numHeads, D]), positions);
    let attnOut: Tensor;
    const r = cache.attend?.(l, qr, positions);
    if (r) {
      attnOut = r.projected
        ? r.out.reshape([T, c.hidden])
        : e.linear(r.out.reshape([T, c.numHeads * D]), w.wo, undefined, `layer ${l} o`);
    } else {
      const kv = cache.read(l);
      const a = e.attention(qr, kv.keys, kv.values, { causal: true, queryOffset: start });
      attnOut = e.linear(a.reshape([T, c.numHeads * D]), w.wo, undefined, `layer ${l} o`);
    }
    x = e.add(x, attnOut);
    const h2 = e.rmsNorm(x, w.ffnNorm, c.rmsEps);
    const g = e.linear(h2, w.wGate, undefined, `layer ${l} gate`);
    const u = e.linear(h2, w.wUp, undefined, `layer ${l} up`);
    const m = e.swiglu(g, u);
    x = e.add(x, e.linear(m, w.wDown, undefined, `layer ${l} down`));
  }
  return x;
}

/** Logits [T, vocab] from a final residual stream. */
export function headLogits(model: LlamaModel, x: Tensor): Tensor {
  const h = model.engine.rmsNorm(x, model.weights.outNorm, model.config.rmsEps);
  return model.engine.linear(h, model.weights.output, undefined, 'output');
}

/** Mean negative log-likelihood (nats) of ids[1..] given logits [T, vocab] of ids[0..T-1]. */
export function meanNll(logits: Tensor, ids: readonly number[]): number {
  const [T, V] = logits.shape;
  if (T !== ids.length || T < 2)
    throw new LorcError(`meanNll: ${T} logit rows for ${ids.length} tokens (need ≥ 2)`);
  let nll = 0;
  for (let t = 0; t + 1 < T; t++) {
    const row = logits.data.subarray(t * V, (t + 1) * V);
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (row[i] > max) max = row[i];
    let z = 0;
    for (let i = 0; i < V; i++) z += Math.exp(row[i] - max);
    nll -= row[ids[t + 1]] - max - Math.log(z);
  }
  return nll / (T - 1);
}

/** The full model's residual stream entering every layer (index L = after the last layer). */
export interface ResidualTrace {
  ids: number[];
  residuals: Tensor[];
  /** Mean NLL of the uncompressed model (full-precision cache). */
  nll: number;
}

/** Run the uncompressed model on ids once, keeping the residual before each layer. */
export function residualTrace(model: LlamaModel, ids: readonly number[]): ResidualTrace {
  const cache = model.createCache();
  const residuals: Tensor[] = [model.embedTokens(ids)];
  for (let l = 0; l < model.config.numLayers; l++)
    residuals.push(layerForward(model, residuals[l], l, l + 1, cache));
  return {
    ids: [...ids],
    residuals,
    nll: meanNll(headLogits(model, residuals[model.config.numLayers]), ids),
  };
}

/**
 * Perplexity of ids (one window, scored from the second token) with a fresh `cache`, starting from
 * layer `from` of a residual trace (layers before `from` must be uncompressed in the cache's schedule).
 */
export function perplexityWith(
  model: LlamaModel,
  trace: ResidualTrace,
  cache: KVCache,
  from = 0,
): { perplexity: number; nll: number } {
  if (cache.length(Math.min(from, cache.numLayers - 1)) !== 0)
    throw new LorcError('perplexityWith: the cache must start empty');
  const x = layerForward(model, trace.residuals[from], from, model.config.numLayers, cache);
  const nll = meanNll(headLogits(model, x), trace.ids);
  return { perplexity: Math.exp(nll), nll };
}

/** Greedy decode timing: ms per generated token after the cache already holds a context. */
export function timeDecode(
  model: LlamaModel,
  cache: KVCache,
  firstId: number,
  steps: number,
): { msPerToken: number; ids: number[] } {
  const ids: number[] = [];
  let next = firstId;
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) {
    const r = model.forward([next], cache, { logits: 'last' });
    const row = (r.logits as Tensor).data;
    let best = 0;
    for (let j = 1; j < row.length; j++) if (row[j] > row[best]) best = j;
    ids.push(best);
    next = best;
  }
  return { msPerToken: (performance.now() - t0) / steps, ids };
}
