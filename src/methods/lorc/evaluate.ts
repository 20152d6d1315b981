/**
 * Evaluating LoRC on a real LLaMA-family model (thesis §5.6): perplexity with a given KV cache,
 * decode speed, and the model view LoRC needs (shape and attention weights in thesis layout).
 *
 * Every evaluation runs the model's own decoder loop (`LlamaModel.runLayers`) with a LoRC cache in
 * place of the full one, so there is one layer loop in the library. Single-layer profiling starts
 * each run from the full model's residual stream at the compressed layer (`residualTrace`): layers
 * before it are untouched by the compression, so recomputing them would only repeat identical work.
 */
import { ropeInvFreq, Tensor } from '../../ops';
import type { KVCache } from '../../models/kv-cache';
import type { LlamaModel } from '../../models/llama';
import { scaledInvFreq } from '../../models/llama';
import { thesisLayout } from './decompose';
import type { AttentionShape, AttentionWeights } from './model';
import { ShapeError, ValueError } from '../../errors';

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

/** Logits [T, vocab] from a final residual stream x [T, hidden] (the model's own output head). */
export function headLogits(model: LlamaModel, x: Tensor): Tensor {
  return model.head(x, 'all').logits as Tensor;
}

/** Mean negative log-likelihood (nats) of ids[1..] given logits [T, vocab] of ids[0..T-1]. */
export function meanNll(logits: Tensor, ids: readonly number[]): number {
  const [T, V] = logits.shape;
  if (T !== ids.length || T < 2)
    throw new ShapeError(`meanNll: ${T} logit rows for ${ids.length} tokens (need ≥ 2)`);
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
    residuals.push(model.runLayers(residuals[l], l, l + 1, cache));
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
    throw new ValueError('perplexityWith: the cache must start empty');
  const x = model.runLayers(trace.residuals[from], from, model.config.numLayers, cache);
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
