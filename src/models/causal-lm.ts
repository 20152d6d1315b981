/**
 * Text-level use of a LLaMA-family decoder: greedy generation, next-token top-k, sliding-window
 * perplexity and mean-pooled hidden-state embeddings, all through a KV cache.
 */
import { Tensor } from '../ops';
import type { KVCache } from './kv-cache';
import type { LlamaModel } from './llama';
import type { TextTokenizer } from './tokenizer';
import { ShapeError, ValueError } from '../errors';

export interface TokenProb {
  id: number;
  token: string;
  /** Decoded text of the token alone. */
  text: string;
  logit: number;
  prob: number;
}

export interface GenerateOptions {
  maxNewTokens?: number;
  /** Stop at the tokenizer's EOS (default true). */
  stopAtEos?: boolean;
  /** Cache to use (a fresh full-precision one by default); it must be empty. */
  cache?: KVCache;
}

export interface GenerateResult {
  promptIds: number[];
  ids: number[];
  text: string;
  /** Bytes the KV cache held at the end. */
  cacheBytes: number;
}

export interface PerplexityResult {
  perplexity: number;
  /** Mean negative log-likelihood per predicted token (nats). */
  nll: number;
  tokens: number;
}

/** log-softmax of one logit row (float64 accumulation). */
export function logSoftmaxRow(row: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]);
  let z = 0;
  for (let i = 0; i < row.length; i++) z += Math.exp(row[i] - max);
  const lz = max + Math.log(z);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i] - lz;
  return out;
}

/**
 * Ids of the k largest entries of a row, largest first, ties by ascending id (the order of a full sort
 * by (value desc, id asc), found in one pass with an insertion list of k instead of sorting the vocabulary).
 */
export function topIds(row: ArrayLike<number>, k: number): number[] {
  const n = Math.max(0, Math.min(k, row.length));
  const ids: number[] = [];
  if (n === 0) return ids;
  for (let i = 0; i < row.length; i++) {
    const v = row[i];
    if (ids.length === n) {
      if (!(v > row[ids[n - 1]])) continue;
      ids.pop();
    }
    let j = ids.length;
    ids.push(i);
    while (j > 0 && v > row[ids[j - 1]]) {
      ids[j] = ids[j - 1];
      j--;
    }
    ids[j] = i;
  }
  return ids;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** A causal LM with its tokenizer. */
export class CausalLM {
  constructor(
    readonly model: LlamaModel,
    readonly tokenizer: TextTokenizer,
  ) {}

  /** Token ids of a prompt (string → tokenizer; ids are checked), with a clear error when empty. */
  promptIds(prompt: string | readonly number[]): number[] {
    const ids = typeof prompt === 'string' ? this.tokenizer.encode(prompt) : [...prompt];
    if (ids.length === 0) throw new ValueError('prompt is empty: it has no tokens');
    const ctx = this.model.config.contextLength;
    if (ids.length > ctx) {
      throw new ShapeError(`prompt has ${ids.length} tokens, more than the context length ${ctx}`);
    }
    return ids;
  }

  /** Logits [T, vocab] of every position of a prompt. */
  logits(prompt: string | readonly number[]): Tensor {
    const r = this.model.forward(this.promptIds(prompt), this.model.createCache(), { logits: 'all' });
    return r.logits as Tensor;
  }

  /** The k most likely next tokens after a prompt, with probabilities. */
  nextTokenTopK(prompt: string | readonly number[], k = 10): TokenProb[] {
    const r = this.model.forward(this.promptIds(prompt), this.model.createCache(), { logits: 'last' });
    return this.topTokens((r.logits as Tensor).data, k);
  }

  /**
   * `nextTokenTopK` for several prompts, computed in packed passes: the prompts of a pass are run as one
   * forward (`LlamaModel.lastLogitsBatch`: projections over all their tokens at once, each prompt
   * attending causally to itself only), with at most `maxTokens` tokens per pass (a longer prompt runs
   * alone). Results in the order of `prompts`; each equals `nextTokenTopK(prompt, k)` up to float32
   * summation order (same ids, probabilities within ~1e-5).
   */
  nextTokenTopKBatch(
    prompts: readonly (string | readonly number[])[],
    k = 10,
    opts: { maxTokens?: number } = {},
  ): TokenProb[][] {
    const maxTokens = opts.maxTokens ?? 2048;
    if (!(Number.isInteger(maxTokens) && maxTokens >= 1)) {
      throw new ValueError(`nextTokenTopKBatch: maxTokens must be a positive integer, got ${maxTokens}`);
    }
    const ids = prompts.map((p) => this.promptIds(p));
    const out: TokenProb[][] = new Array<TokenProb[]>(ids.length);
    for (let i = 0; i < ids.length;) {
      let n = ids[i].length;
      let j = i + 1;
      while (j < ids.length && n + ids[j].length <= maxTokens) n += ids[j++].length;
      const logits = this.model.lastLogitsBatch(ids.slice(i, j));
      const V = logits.shape[1];
      for (let r = i; r < j; r++) {
        out[r] = this.topTokens(logits.data.subarray((r - i) * V, (r - i + 1) * V), k);
      }
      i = j;
    }
    return out;
  }

  /** The k largest logits of one row as tokens with their softmax probabilities. */
  private topTokens(row: Float32Array, k: number): TokenProb[] {
    const lp = logSoftmaxRow(row);
    return topIds(row, k).map((id) => ({
      id,
      token: this.tokenizer.idToToken(id) ?? '',
      text: this.tokenizer.decode([id]),
      logit: row[id],
      prob: Math.exp(lp[id]),
    }));
  }

  /** Greedy decoding: prefill the prompt, then one token at a time through the KV cache. */
  generate(prompt: string | readonly number[], opts: GenerateOptions = {}): GenerateResult {
    const promptIds = this.promptIds(prompt);
    const max = opts.maxNewTokens ?? 32;
    const ctx = this.model.config.contextLength;
    if (opts.cache && opts.cache.length(0) !== 0)
      throw new ValueError('generate: the cache must start empty');
    // A cache of its own is sized for the whole decode up front (it never regrows, and its rows sit in
    // the kernels' shared memory, read in place each step) and handed back when done. A caller's cache
    // is used as given: `reserve` it first for the same effect.
    const own = opts.cache ? undefined : this.model.createCache();
    const cache: KVCache = opts.cache ?? (own as KVCache);
    own?.reserve(1, Math.min(ctx, promptIds.length + max));
    try {
      const out: number[] = [];
      let r = this.model.forward(promptIds, cache, { logits: 'last' });
      for (let i = 0; i < max; i++) {
        const next = argmax((r.logits as Tensor).data);
        out.push(next);
        if ((opts.stopAtEos ?? true) && next === this.tokenizer.eosId) break;
        if (i === max - 1 || promptIds.length + out.length >= ctx) break;
        r = this.model.forward([next], cache, { logits: 'last' });
      }
      return {
        promptIds,
        ids: out,
        text: this.tokenizer.decode(out, { skipSpecialTokens: true }),
        cacheBytes: cache.bytes(),
      };
    } finally {
      own?.dispose();
    }
  }

  /**
   * Perplexity of a text with a sliding window (window ≤ context, stride ≤ window): each window is
   * run from scratch and scores only the tokens not scored by an earlier window, every token after
   * the first being predicted from up to `window − 1` tokens before it (the Hugging Face recipe).
   */
  perplexity(
    text: string | readonly number[],
    opts: { window?: number; stride?: number } = {},
  ): PerplexityResult {
    const ids = typeof text === 'string' ? this.tokenizer.encode(text) : [...text];
    if (ids.length < 2) throw new ValueError('perplexity needs at least two tokens');
    const window = Math.min(opts.window ?? 512, this.model.config.contextLength);
    const stride = opts.stride ?? window;
    if (!(stride >= 1 && stride <= window))
      throw new ValueError(`perplexity: stride ${stride} must be in 1..${window}`);
    let nll = 0;
    let count = 0;
    let scoredUpTo = 1; // token 0 is never predicted
    for (let begin = 0; scoredUpTo < ids.length; begin += stride) {
      const end = Math.min(begin + window, ids.length);
      const r = this.model.forward(ids.slice(begin, end), this.model.createCache(), { logits: 'all' });
      const logits = r.logits as Tensor;
      const V = logits.shape[1];
      for (let i = Math.max(scoredUpTo, begin + 1); i < end; i++) {
        const lp = logSoftmaxRow(logits.data.subarray((i - 1 - begin) * V, (i - begin) * V));
        nll -= lp[ids[i]];
        count++;
      }
      scoredUpTo = end;
      if (end === ids.length) break;
    }
    return { perplexity: Math.exp(nll / count), nll: nll / count, tokens: count };
  }

  /** Embedding of a text: the mean over positions of the final (output-normed) hidden states. */
  embed(text: string | readonly number[]): Float32Array {
    const r = this.model.forward(this.promptIds(text), this.model.createCache(), { logits: 'none' });
    const [T, H] = r.hidden.shape;
    const out = new Float32Array(H);
    for (let t = 0; t < T; t++) for (let j = 0; j < H; j++) out[j] += r.hidden.data[t * H + j] / T;
    return out;
  }
}
