/**
 * The per-row features PRBoost needs, computed once through the on-disk caches: the LM's top-k slot words
 * of τ(x) for a template (the instance vocabulary V_u of Eq. 2.6) and MiniLM sentence embeddings (e_u of
 * Eq. 2.5).
 */
import { Tensor } from '../../ops';
import { ValueError } from '../../errors';
import { RowCache, decodeVector, encodeVector, fillCache, type FillOptions } from './cache';
import {
  proposeWordsBatch,
  type NextTokenModel,
  type PromptTemplate,
  type ProposalOptions,
  type WordProposal,
} from './prompts';

/** The cache header of LM words: every setting that changes the words. */
export function lmWordsHeader(
  modelId: string,
  t: PromptTemplate,
  options: ProposalOptions = {},
): Record<string, string | number> {
  return {
    kind: 'prboost-lm-words',
    version: 1,
    model: modelId,
    template: t.text,
    k: options.k ?? 10,
    scan: options.scan ?? 200,
    maxWords: options.maxWords ?? 60,
  };
}

/** Options of `lmWords`. */
export interface LmWordsOptions extends ProposalOptions, FillOptions {
  /** Cache file (default: one per model and template under the cache folder). */
  file?: string;
  /** Prompts packed into one forward when the LM can pack (default `LM_BATCH_ROWS`); words do not depend on it. */
  batchRows?: number;
}

/**
 * Rows per packed LM forward. 24 AG News prompts (≈65 tokens each, ≈1,560 a pass) gave 10-16 % more rows
 * per CPU-second than 12 on 2 cores, on the wasm and the native backend alike (taller GEMMs, half the
 * passes and their per-op overheads), and the same words on every row checked (96 rows); 48 gained little
 * more. An interrupt loses at most one pass.
 */
export const LM_BATCH_ROWS = 24;

/** The top-k slot words of τ(x) for every text (Eq. 2.4), cached per (model, template, text). */
export async function lmWords(
  lm: NextTokenModel,
  modelId: string,
  t: PromptTemplate,
  texts: readonly string[],
  options: LmWordsOptions = {},
): Promise<WordProposal[]> {
  const cache = RowCache.open<WordProposal>(lmWordsHeader(modelId, t, options), options.file);
  // Rows are packed into one forward when the LM can (≈1.6× the rows per CPU-second of one by one on 2
  // cores); the cache still commits after every batch, so an interrupt loses at most one batch.
  const rows = options.batchRows ?? LM_BATCH_ROWS;
  if (!(Number.isInteger(rows) && rows >= 1))
    throw new ValueError(`lmWords: batchRows must be a positive integer, got ${rows}`);
  return fillCache(cache, texts, (batch) => proposeWordsBatch(lm, t, batch, options), {
    label: options.label ?? `LM words (${t.name})`,
    ...options,
    batch: lm.nextTokenTopKBatch ? rows : 1,
  });
}

/** What an embedding needs from a sentence encoder (the efflab `BertEncoder` has it). */
export interface SentenceEncoder {
  embed(texts: readonly string[], batchSize?: number): Tensor;
}

/** Options of `embeddings`. */
export interface EmbeddingOptions extends FillOptions {
  file?: string;
}

/** Sentence embeddings [n, d] of every text (e_u of Eq. 2.5), cached per (encoder, text). */
export async function embeddings(
  encoder: SentenceEncoder,
  modelId: string,
  texts: readonly string[],
  options: EmbeddingOptions = {},
): Promise<Tensor> {
  const cache = RowCache.open<string>(
    { kind: 'prboost-embeddings', version: 1, model: modelId },
    options.file,
  );
  const rows = await fillCache(
    cache,
    texts,
    (batch) => {
      const e = encoder.embed(batch, batch.length);
      const d = e.shape[1];
      return batch.map((_, i) => encodeVector(e.data.slice(i * d, (i + 1) * d)));
    },
    { label: options.label ?? `embeddings (${modelId})`, batch: 16, ...options },
  );
  const vecs = rows.map(decodeVector);
  const d = vecs.length ? vecs[0].length : 0;
  const out = new Float32Array(vecs.length * d);
  vecs.forEach((v, i) => out.set(v, i * d));
  return new Tensor(out, [vecs.length, d]);
}
