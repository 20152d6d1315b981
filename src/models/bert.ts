/**
 * A BERT encoder (all-MiniLM-L6-v2: 6 layers, hidden 384, 12 heads) for sentence embeddings:
 * word + position + token-type embeddings, post-LayerNorm transformer blocks with padding masks,
 * mean pooling over real tokens, then L2 normalisation (the sentence-transformers pipeline).
 * Batched without padding: the texts of a batch are packed one after another (projections see every
 * real token once, attention runs per text); texts longer than `maxSeqLength` tokens are truncated to
 * it (keeping [CLS] … [SEP]), as sentence-transformers does. Every op runs through the
 * ops index, on the backend the one switch selects (`setBackend` / `EFFLAB_BACKEND` / `withBackend`);
 * on wasm and native the layers run as one `packedEncoderLayers` call (activations resident in the
 * wasm arena, attention batched over the heads per text, row kernels on the pool's threads).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  Tensor,
  add,
  attention,
  gelu,
  layerNorm,
  linear,
  packedEncoderLayers,
  residentEncoderAvailable,
  type EncoderLayerWeights,
} from '../ops';
import { configInt, configNumber, readHfConfig } from './hf-config';
import { readSafetensor, readSafetensorsHeader } from './safetensors';
import { loadTokenizerJson, type TextTokenizer } from './tokenizer';
import { allocWeights } from './wasm/linear-wasm';
import { ConfigError, ShapeError, ValueError } from '../errors';

/** Set to '0' to run the layers op by op through the ops index even on wasm/native (an A/B switch). */
export const RESIDENT_ENV = 'EFFLAB_BERT_RESIDENT';

export interface BertConfig {
  numLayers: number;
  hidden: number;
  numHeads: number;
  intermediate: number;
  vocabSize: number;
  maxPositions: number;
  typeVocab: number;
  eps: number;
  /** Longest input in tokens (incl. [CLS]/[SEP]); longer texts are truncated. */
  maxSeqLength: number;
}

interface BertLayer {
  /** [3H, H]: wq, wk, wv stacked (they are views of it), for the resident path's one QKV GEMM. */
  wqkv: Float32Array;
  bqkv: Float32Array;
  wq: Tensor;
  bq: Tensor;
  wk: Tensor;
  bk: Tensor;
  wv: Tensor;
  bv: Tensor;
  wo: Tensor;
  bo: Tensor;
  ln1g: Tensor;
  ln1b: Tensor;
  wi: Tensor;
  bi: Tensor;
  wo2: Tensor;
  bo2: Tensor;
  ln2g: Tensor;
  ln2b: Tensor;
}

export interface BertWeights {
  word: Tensor;
  pos: Tensor;
  type: Tensor;
  embLnG: Tensor;
  embLnB: Tensor;
  layers: BertLayer[];
}

/** A BERT sentence encoder with its WordPiece tokenizer. */
export class BertEncoder {
  readonly config: BertConfig;
  readonly tokenizer: TextTokenizer;
  readonly source: string;
  private readonly w: BertWeights;
  private readonly resident: EncoderLayerWeights[];

  constructor(config: BertConfig, weights: BertWeights, tokenizer: TextTokenizer, source: string) {
    this.config = config;
    this.w = weights;
    this.tokenizer = tokenizer;
    this.source = source;
    this.resident = weights.layers.map((l) => ({
      wqkv: l.wqkv,
      bqkv: l.bqkv,
      wo: l.wo.data,
      bo: l.bo.data,
      ln1g: l.ln1g.data,
      ln1b: l.ln1b.data,
      wi: l.wi.data,
      bi: l.bi.data,
      wo2: l.wo2.data,
      bo2: l.bo2.data,
      ln2g: l.ln2g.data,
      ln2b: l.ln2b.data,
    }));
  }

  /** Token ids of a text, truncated to maxSeqLength (keeping the final [SEP]). */
  encodeText(text: string): number[] {
    const ids = this.tokenizer.encode(text, { addSpecialTokens: true });
    const max = this.config.maxSeqLength;
    if (ids.length <= max) return ids;
    return [...ids.slice(0, max - 1), ids[ids.length - 1]];
  }

  /**
   * Last hidden states [B, S, hidden] and the padding mask [B, S] for a batch of token-id lists.
   * The batch is computed without padding (`packedHiddenStates`); rows past a text's end are 0.
   */
  hiddenStates(batch: readonly (readonly number[])[]): { hidden: Tensor; mask: Tensor } {
    const { hidden, offsets } = this.packedHiddenStates(batch);
    const B = batch.length;
    const S = Math.max(...batch.map((b) => b.length));
    const H = this.config.hidden;
    const out = new Float32Array(B * S * H);
    const mask = new Float32Array(B * S);
    for (let b = 0; b < B; b++) {
      const n = offsets[b + 1] - offsets[b];
      out.set(hidden.data.subarray(offsets[b] * H, offsets[b + 1] * H), b * S * H);
      mask.fill(1, b * S, b * S + n);
    }
    return { hidden: new Tensor(out, [B, S, H]), mask: new Tensor(mask, [B, S]) };
  }

  /**
   * Last hidden states of a batch of token-id lists packed without padding: rows offsets[b] ..
   * offsets[b + 1] − 1 of `hidden` [Σ lengths, hidden] are text b's tokens. Every projection runs once
   * on all real tokens (M = Σ lengths, no padded rows), attention per text on its own tokens, so the
   * result equals a padded batch with a key mask at the real positions.
   */
  packedHiddenStates(batch: readonly (readonly number[])[]): { hidden: Tensor; offsets: number[] } {
    const c = this.config;
    if (batch.length === 0) throw new ValueError('BertEncoder: empty batch');
    const H = c.hidden;
    const offsets = [0];
    batch.forEach((ids, b) => {
      if (ids.length === 0) throw new ValueError(`BertEncoder: input ${b} is empty`);
      if (ids.length > c.maxPositions) {
        throw new ShapeError(
          `BertEncoder: ${ids.length} tokens (input ${b}) exceed ${c.maxPositions} positions`,
        );
      }
      offsets.push(offsets[b] + ids.length);
    });
    const N = offsets[batch.length];
    const x0 = new Float32Array(N * H);
    const { word, pos, type } = this.w;
    batch.forEach((ids, b) => {
      for (let s = 0; s < ids.length; s++) {
        const id = ids[s];
        if (!Number.isInteger(id) || id < 0 || id >= c.vocabSize) {
          throw new ValueError(`BertEncoder: token id ${id} (input ${b}, position ${s}) outside vocabulary`);
        }
        const o = (offsets[b] + s) * H;
        for (let j = 0; j < H; j++) x0[o + j] = word.data[id * H + j] + pos.data[s * H + j] + type.data[j];
      }
    });
    let x = layerNorm(new Tensor(x0, [N, H]), this.w.embLnG, this.w.embLnB, c.eps);
    if (residentEncoderAvailable() && process.env[RESIDENT_ENV] !== '0') {
      const dims = { hidden: H, heads: c.numHeads, intermediate: c.intermediate, eps: c.eps };
      return {
        hidden: new Tensor(packedEncoderLayers(x.data, offsets, this.resident, dims), [N, H]),
        offsets,
      };
    }
    const nh = c.numHeads;
    const D = H / nh;
    for (const l of this.w.layers) {
      const q = linear(x, l.wq, l.bq).data;
      const k = linear(x, l.wk, l.bk).data;
      const v = linear(x, l.wv, l.bv).data;
      const a = new Float32Array(N * H);
      for (let b = 0; b < batch.length; b++) {
        const [o0, o1] = [offsets[b] * H, offsets[b + 1] * H];
        const shape = [1, o1 / H - o0 / H, nh, D];
        const view = (d: Float32Array): Tensor => new Tensor(d.subarray(o0, o1), shape);
        a.set(attention(view(q), view(k), view(v)).data, o0);
      }
      x = layerNorm(add(x, linear(new Tensor(a, [N, H]), l.wo, l.bo)), l.ln1g, l.ln1b, c.eps);
      const m = gelu(linear(x, l.wi, l.bi));
      x = layerNorm(add(x, linear(m, l.wo2, l.bo2)), l.ln2g, l.ln2b, c.eps);
    }
    return { hidden: x, offsets };
  }

  /**
   * Sentence embeddings [N, hidden]: mean of the last hidden states over real tokens, L2-normalised,
   * in the order of `texts`. The texts are sorted by token length and cut into batches of `batchSize`,
   * each computed without padding (`packedHiddenStates`); a batch is cut shorter when it would pack more
   * than `maxTokens` tokens (the resident layers hold every activation of a pass at once).
   */
  embed(texts: readonly string[], batchSize = 32, maxTokens = MAX_PACKED_TOKENS): Tensor {
    if (texts.length === 0) throw new ValueError('BertEncoder.embed: no texts');
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new ValueError(`BertEncoder.embed: batchSize must be a positive integer, got ${batchSize}`);
    }
    if (!Number.isInteger(maxTokens) || maxTokens < 1) {
      throw new ValueError(`BertEncoder.embed: maxTokens must be a positive integer, got ${maxTokens}`);
    }
    const H = this.config.hidden;
    const out = new Float32Array(texts.length * H);
    const encoded = texts.map((t, i) => ({ i, ids: this.encodeText(t) }));
    encoded.sort((a, b) => a.ids.length - b.ids.length);
    const acc = new Float64Array(H);
    for (let s = 0; s < encoded.length;) {
      // At most `batchSize` texts and `maxTokens` tokens per pass (at least one text): the resident
      // layers hold every activation of the pass at once (about 15 KiB per token).
      let e = s + 1;
      let tokens = encoded[s].ids.length;
      while (e < encoded.length && e - s < batchSize && tokens + encoded[e].ids.length <= maxTokens) {
        tokens += encoded[e].ids.length;
        e++;
      }
      const chunk = encoded.slice(s, e);
      s = e;
      const { hidden, offsets } = this.packedHiddenStates(chunk.map((c) => c.ids));
      chunk.forEach((c, b) => {
        acc.fill(0);
        for (let t = offsets[b]; t < offsets[b + 1]; t++) {
          for (let j = 0; j < H; j++) acc[j] += hidden.data[t * H + j];
        }
        const n = offsets[b + 1] - offsets[b];
        let norm = 0;
        for (let j = 0; j < H; j++) {
          acc[j] /= n;
          norm += acc[j] * acc[j];
        }
        norm = Math.max(Math.sqrt(norm), 1e-12);
        for (let j = 0; j < H; j++) out[c.i * H + j] = acc[j] / norm;
      });
    }
    return new Tensor(out, [texts.length, H]);
  }
}

/** Most tokens one `embed` pass packs (16,384 tokens ≈ 240 MiB of MiniLM activations in the arena). */
export const MAX_PACKED_TOKENS = 16384;

/** Load a BERT sentence encoder from a sentence-transformers / HF folder (config.json, model.safetensors, tokenizer.json). */
export function loadBertEncoder(dir: string): BertEncoder {
  const cfgPath = join(dir, 'config.json');
  const cfg = readHfConfig(cfgPath);
  if (cfg.model_type !== 'bert') {
    throw new ConfigError(`${cfgPath}: model_type '${String(cfg.model_type)}' is not 'bert'`);
  }
  const stPath = join(dir, 'sentence_bert_config.json');
  const maxSeq = existsSync(stPath) ? configInt(readHfConfig(stPath), 'max_seq_length', stPath, 512) : 512;
  const config: BertConfig = {
    numLayers: configInt(cfg, 'num_hidden_layers', cfgPath),
    hidden: configInt(cfg, 'hidden_size', cfgPath),
    numHeads: configInt(cfg, 'num_attention_heads', cfgPath),
    intermediate: configInt(cfg, 'intermediate_size', cfgPath),
    vocabSize: configInt(cfg, 'vocab_size', cfgPath),
    maxPositions: configInt(cfg, 'max_position_embeddings', cfgPath),
    typeVocab: configInt(cfg, 'type_vocab_size', cfgPath, 2),
    eps: configNumber(cfg, 'layer_norm_eps', cfgPath, 1e-12),
    maxSeqLength: maxSeq,
  };
  if (cfg.hidden_act !== undefined && cfg.hidden_act !== 'gelu') {
    throw new ConfigError(`${cfgPath}: hidden_act '${String(cfg.hidden_act)}' is not supported (gelu)`);
  }
  const wPath = join(dir, 'model.safetensors');
  const f = readSafetensorsHeader(wPath);
  const prefix = f.tensors.has('bert.embeddings.word_embeddings.weight') ? 'bert.' : '';
  const H = config.hidden;
  const t = (name: string, shape: number[], into?: Float32Array): Tensor => {
    const info = f.tensors.get(prefix + name);
    const n = info ? info.shape.reduce((a, b) => a * b, 1) : 0;
    const dest = into && n === into.length ? into : info && shape.length === 2 ? allocWeights(n) : undefined;
    const r = readSafetensor(f, prefix + name, dest);
    if (r.shape.join() !== shape.join()) {
      throw new ShapeError(
        `${wPath}: tensor '${prefix + name}' has shape [${r.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    }
    return new Tensor(r.data, shape);
  };
  const layers: BertLayer[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const p = `encoder.layer.${i}.`;
    const wqkv = allocWeights(3 * H * H);
    const bqkv = new Float32Array(3 * H);
    const part = (a: Float32Array, j: number): Float32Array =>
      a.subarray((j * a.length) / 3, ((j + 1) * a.length) / 3);
    layers.push({
      wqkv,
      bqkv,
      wq: t(p + 'attention.self.query.weight', [H, H], part(wqkv, 0)),
      bq: t(p + 'attention.self.query.bias', [H], part(bqkv, 0)),
      wk: t(p + 'attention.self.key.weight', [H, H], part(wqkv, 1)),
      bk: t(p + 'attention.self.key.bias', [H], part(bqkv, 1)),
      wv: t(p + 'attention.self.value.weight', [H, H], part(wqkv, 2)),
      bv: t(p + 'attention.self.value.bias', [H], part(bqkv, 2)),
      wo: t(p + 'attention.output.dense.weight', [H, H]),
      bo: t(p + 'attention.output.dense.bias', [H]),
      ln1g: t(p + 'attention.output.LayerNorm.weight', [H]),
      ln1b: t(p + 'attention.output.LayerNorm.bias', [H]),
      wi: t(p + 'intermediate.dense.weight', [config.intermediate, H]),
      bi: t(p + 'intermediate.dense.bias', [config.intermediate]),
      wo2: t(p + 'output.dense.weight', [H, config.intermediate]),
      bo2: t(p + 'output.dense.bias', [H]),
      ln2g: t(p + 'output.LayerNorm.weight', [H]),
      ln2b: t(p + 'output.LayerNorm.bias', [H]),
    });
  }
  const weights: BertWeights = {
    word: t('embeddings.word_embeddings.weight', [config.vocabSize, H]),
    pos: t('embeddings.position_embeddings.weight', [config.maxPositions, H]),
    type: t('embeddings.token_type_embeddings.weight', [config.typeVocab, H]),
    embLnG: t('embeddings.LayerNorm.weight', [H]),
    embLnB: t('embeddings.LayerNorm.bias', [H]),
    layers,
  };
  const tokenizer = loadTokenizerJson(join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json'));
  return new BertEncoder(config, weights, tokenizer, dir);
}
