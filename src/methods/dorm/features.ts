/**
 * Frozen text features for DORM's reward head, cached on disk, of "last human turn ⊕ reply":
 * - default: MiniLM (all-MiniLM-L6-v2) mean-pooled sentence embeddings (384 wide);
 * - option: SmolLM2-135M-Instruct's final (output-normed) hidden states, mean-pooled over the positions
 *   (`CausalLM.embed`) or the last position's (`pooling: 'last'`, what a reward model's value head reads),
 *   576 wide — closer to the thesis, whose reward models are decoder LMs.
 * The cache is one file per (model, pooling), an append-only list of (SHA-256 of template + text, float32
 * vector) records after a header naming the model and width. It is written after every batch, so an
 * interrupted run resumes where it stopped; a partial last record (a crash mid-write) is cut off on open.
 * A cache written by another model (or pooling) is refused with a ConfigError.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadHhRlhfTurns, type DroppedPair, type HhTurnPair } from '../../data';
import { progress } from '../../display';
import { ConfigError, FileFormatError, NonFiniteError, ValueError } from '../../errors';
import {
  loadCausalLM,
  loadSentenceEncoder,
  registryEntry,
  type BertEncoder,
  type CausalLM,
} from '../../models';
import { permutation } from './rng';
import type { PreferenceTask } from './task';

const MAGIC = 'EFFLAB-FEATURES-1\n';
/** How a pair becomes the encoder's input text (the last human turn, then the reply, as dialogue turns). */
export const DEFAULT_TEMPLATE = 'Human: {prompt}\n\nAssistant: {reply}';

/** The default feature model (a sentence encoder). */
export const DEFAULT_FEATURE_MODEL = 'all-minilm-l6-v2';
/** The causal LM of the SmolLM2 option. */
export const SMOLLM2_FEATURE_MODEL = 'smollm2-135m-instruct';

/** Environment variable of the project's cache folder; DORM's caches go to its `dorm` subfolder. */
export const CACHE_DIR_ENV = 'EFFLAB_CACHE_DIR';

/** DORM's cache folder: `$EFFLAB_CACHE_DIR/dorm` when the variable is set, else `~/.cache/efflab/dorm`. */
export function defaultCacheDir(): string {
  const env = process.env[CACHE_DIR_ENV];
  return env ? path.join(env, 'dorm') : path.join(os.homedir(), '.cache', 'efflab', 'dorm');
}

/** What kind of model gives the features. */
export type FeatureModelKind = 'sentence-encoder' | 'causal-lm';
/** How a causal LM's final hidden states [T, hidden] become one vector. */
export type Pooling = 'mean' | 'last';

export interface FeatureOptions {
  /**
   * Model id: a registry id (`all-minilm-l6-v2`, the default; `smollm2-135m-instruct`, the SmolLM2 option), or
   * any reference `loadSentenceEncoder` / `loadCausalLM` takes (then say `modelKind`).
   */
  model?: string;
  /** Needed only for a model outside the registry (registry ids know their kind). */
  modelKind?: FeatureModelKind;
  /** Causal LM only: mean over positions (default, `CausalLM.embed`) or the last position. */
  pooling?: Pooling;
  /** Cache file (default `<cacheDir>/<model>.features`, `<model>.<pooling>.features` for a causal LM). */
  cachePath?: string;
  /** Default `defaultCacheDir()`. */
  cacheDir?: string;
  /** Texts per cache append (default 16 for an encoder, 4 for a causal LM). */
  batchSize?: number;
  /** Show a progress bar (default true). */
  progress?: boolean;
  /** An already loaded encoder for `model`. */
  encoder?: BertEncoder;
  /** An already loaded causal LM for `model`. */
  lm?: CausalLM;
  template?: string;
}

export interface FeatureResult {
  /** What the cache is keyed by: the model id, with `:<pooling>-pool` for a causal LM. */
  model: string;
  dim: number;
  /** n × dim, in the order of the texts. */
  features: Float32Array;
  computed: number;
  reused: number;
  cachePath: string;
}

interface Header {
  model: string;
  dim: number;
}

function key(template: string, text: string): Buffer {
  return createHash('sha256').update(template).update('\0').update(text).digest();
}

/** Reads a cache file into a map key → vector; cuts off a partial last record. */
function readCache(file: string, model: string): { header: Header | null; map: Map<string, Float32Array> } {
  const map = new Map<string, Float32Array>();
  if (!fs.existsSync(file)) return { header: null, map };
  const buf = fs.readFileSync(file);
  if (buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC)
    throw new FileFormatError(`${file}: not an efflab feature cache (bad magic)`);
  const nl = buf.indexOf(0x0a, MAGIC.length);
  if (nl < 0) throw new FileFormatError(`${file}: feature cache header is truncated`);
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(MAGIC.length, nl).toString('utf8')) as Header;
  } catch (e) {
    throw new FileFormatError(`${file}: feature cache header is not JSON (${(e as Error).message})`);
  }
  if (header.model !== model) {
    throw new ConfigError(
      `${file}: this feature cache was written by model "${header.model}", not "${model}"; use another cachePath or delete it`,
    );
  }
  const rec = 32 + 4 * header.dim;
  const start = nl + 1;
  const whole = Math.floor((buf.length - start) / rec);
  for (let r = 0; r < whole; r++) {
    const o = start + r * rec;
    const v = new Float32Array(header.dim);
    for (let j = 0; j < header.dim; j++) v[j] = buf.readFloatLE(o + 32 + 4 * j);
    map.set(buf.subarray(o, o + 32).toString('hex'), v);
  }
  if (start + whole * rec !== buf.length) fs.truncateSync(file, start + whole * rec);
  return { header, map };
}

/** Turns texts into feature rows (n × dim). */
interface Embedder {
  dim: number;
  embed(texts: string[]): Float32Array;
}

function featureKind(model: string, opts: FeatureOptions): FeatureModelKind {
  if (opts.encoder) return 'sentence-encoder';
  if (opts.lm) return 'causal-lm';
  if (opts.modelKind) return opts.modelKind;
  return registryEntry(model).kind === 'bert' ? 'sentence-encoder' : 'causal-lm';
}

/** Pooled final hidden states of a causal LM; a text longer than the context keeps its last tokens. */
function lmEmbedder(lm: CausalLM, pooling: Pooling): Embedder {
  const ctx = lm.model.config.contextLength;
  const dim = lm.model.config.hidden;
  return {
    dim,
    embed(texts) {
      const out = new Float32Array(texts.length * dim);
      texts.forEach((t, i) => {
        const ids = lm.tokenizer.encode(t).slice(-ctx);
        if (pooling === 'mean') out.set(lm.embed(ids), i * dim);
        else {
          const h = lm.model.forward(ids, lm.model.createCache(), { logits: 'none' }).hidden;
          out.set(h.data.subarray((h.shape[0] - 1) * dim, h.shape[0] * dim), i * dim);
        }
      });
      return out;
    },
  };
}

function embedder(model: string, kind: FeatureModelKind, pooling: Pooling, opts: FeatureOptions): Embedder {
  if (kind === 'causal-lm') return lmEmbedder(opts.lm ?? loadCausalLM(model), pooling);
  const enc = opts.encoder ?? loadSentenceEncoder(model);
  return { dim: enc.config.hidden, embed: (texts) => enc.embed(texts, texts.length).data };
}

/**
 * Features of `texts` (rendered already) from the cache, computing and appending the missing ones with a
 * progress bar. Empty texts and non-finite features are refused, naming the text's index.
 */
export function cachedFeatures(texts: readonly string[], opts: FeatureOptions = {}): FeatureResult {
  const model = opts.model ?? DEFAULT_FEATURE_MODEL;
  const template = opts.template ?? DEFAULT_TEMPLATE;
  const kind = featureKind(model, opts);
  const pooling = opts.pooling ?? 'mean';
  if (pooling !== 'mean' && pooling !== 'last')
    throw new ConfigError(`features: unknown pooling "${String(pooling)}" (mean, last)`);
  if (kind === 'sentence-encoder' && opts.pooling !== undefined)
    throw new ConfigError(`features: pooling applies to a causal LM; "${model}" is a sentence encoder`);
  const id = kind === 'causal-lm' ? `${model}:${pooling}-pool` : model;
  const base = path.basename(model).replace(/[^A-Za-z0-9._-]/g, '_');
  const fileName = kind === 'causal-lm' ? `${base}.${pooling}.features` : `${base}.features`;
  const file = opts.cachePath ?? path.join(opts.cacheDir ?? defaultCacheDir(), fileName);
  texts.forEach((t, i) => {
    if (!t.trim()) throw new ValueError(`feature cache: text ${i} is empty`);
  });
  const { header, map } = readCache(file, id);
  const keys = texts.map((t) => key(template, t).toString('hex'));
  const missing: number[] = [];
  const seen = new Set<string>();
  keys.forEach((k, i) => {
    if (!map.has(k) && !seen.has(k)) {
      missing.push(i);
      seen.add(k);
    }
  });
  let dim = header?.dim ?? 0;
  if (missing.length) {
    const enc = embedder(model, kind, pooling, opts);
    if (header && header.dim !== enc.dim)
      throw new ConfigError(`${file}: cache has width ${header.dim}, model "${id}" gives ${enc.dim}`);
    dim = enc.dim;
    if (!header) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, MAGIC + JSON.stringify({ model: id, dim }) + '\n');
    }
    const bs = opts.batchSize ?? (kind === 'causal-lm' ? 4 : 16);
    const bar =
      opts.progress === false ? null : progress({ total: missing.length, label: `features (${id})` });
    // Similar lengths in one batch pad least: sort the missing texts by length.
    missing.sort((a, b) => texts[a].length - texts[b].length);
    for (let s = 0; s < missing.length; s += bs) {
      const chunk = missing.slice(s, s + bs);
      const emb = enc.embed(chunk.map((i) => texts[i]));
      const rec = 32 + 4 * dim;
      const out = Buffer.alloc(chunk.length * rec);
      chunk.forEach((i, c) => {
        const v = emb.subarray(c * dim, (c + 1) * dim);
        for (let j = 0; j < dim; j++) {
          if (!Number.isFinite(v[j]))
            throw new NonFiniteError(`feature cache: feature ${j} of text ${i} is ${v[j]} (model ${id})`);
        }
        Buffer.from(keys[i], 'hex').copy(out, c * rec);
        for (let j = 0; j < dim; j++) out.writeFloatLE(v[j], c * rec + 32 + 4 * j);
        map.set(keys[i], Float32Array.from(v));
      });
      fs.appendFileSync(file, out);
      bar?.tick(chunk.length);
    }
    bar?.done();
  }
  const features = new Float32Array(texts.length * dim);
  keys.forEach((k, i) => features.set(map.get(k)!, i * dim));
  return {
    model: id,
    dim,
    features,
    computed: missing.length,
    reused: texts.length - missing.length,
    cachePath: file,
  };
}

/** Renders a pair's prompt and reply into the encoder's input text. */
export function renderText(template: string, prompt: string, reply: string): string {
  return template.replace('{prompt}', prompt).replace('{reply}', reply);
}

export interface HhTaskOptions extends FeatureOptions {
  /** Use only this many pairs (a seeded subset; the quick preset), default all. */
  limit?: number;
  seed?: number;
}

export interface HhTask {
  task: PreferenceTask;
  pairs: HhTurnPair[];
  dropped: DroppedPair[];
  features: FeatureResult;
}

/**
 * The real task: HH-RLHF harmless-base test pairs with cached features of prompt ⊕ reply (MiniLM by default;
 * `model: SMOLLM2_FEATURE_MODEL` for SmolLM2 hidden states).
 */
export function hhRlhfTask(opts: HhTaskOptions = {}): HhTask {
  const data = loadHhRlhfTurns();
  let pairs = data.pairs;
  if (opts.limit !== undefined) {
    if (!(Number.isInteger(opts.limit) && opts.limit > 0))
      throw new ValueError(`hhRlhfTask: limit ${opts.limit} is not a positive integer`);
    const p = permutation(pairs.length, (opts.seed ?? 0) + 271);
    const keep = Array.from(p.subarray(0, Math.min(opts.limit, pairs.length))).sort((a, b) => a - b);
    pairs = keep.map((i) => pairs[i]);
  }
  const template = opts.template ?? DEFAULT_TEMPLATE;
  const texts: string[] = [];
  for (const p of pairs)
    texts.push(renderText(template, p.prompt, p.chosen), renderText(template, p.prompt, p.rejected));
  const f = cachedFeatures(texts, opts);
  const n = pairs.length;
  const d = f.dim;
  const chosen = new Float32Array(n * d);
  const rejected = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    chosen.set(f.features.subarray(2 * i * d, (2 * i + 1) * d), i * d);
    rejected.set(f.features.subarray((2 * i + 1) * d, (2 * i + 2) * d), i * d);
  }
  return {
    task: {
      name:
        f.model === DEFAULT_FEATURE_MODEL ? 'hh-rlhf-harmless-base' : `hh-rlhf-harmless-base (${f.model})`,
      dim: d,
      ids: Int32Array.from(pairs, (p) => p.id),
      chosen,
      rejected,
      chosenLength: Int32Array.from(pairs, (p) => p.chosenLength),
      rejectedLength: Int32Array.from(pairs, (p) => p.rejectedLength),
    },
    pairs,
    dropped: data.dropped,
    features: f,
  };
}
