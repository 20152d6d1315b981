/**
 * Frozen text features for DORM's reward head, cached on disk: MiniLM (all-MiniLM-L6-v2) mean-pooled
 * embeddings of "last human turn ⊕ reply". The cache is one file per model, an append-only list of
 * (SHA-256 of template + text, float32 vector) records after a header naming the model and width. It is
 * written after every batch, so an interrupted run resumes where it stopped; a partial last record (a crash
 * mid-write) is cut off on open. A cache written by another model is refused with a ConfigError.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadHhRlhfTurns, type DroppedPair, type HhTurnPair } from '../../data';
import { progress } from '../../display';
import { ConfigError, FileFormatError, NonFiniteError, ValueError } from '../../errors';
import { loadSentenceEncoder, type BertEncoder } from '../../models';
import { permutation } from './rng';
import type { PreferenceTask } from './task';

const MAGIC = 'EFFLAB-FEATURES-1\n';
/** How a pair becomes the encoder's input text (the last human turn, then the reply, as dialogue turns). */
export const DEFAULT_TEMPLATE = 'Human: {prompt}\n\nAssistant: {reply}';

/** Environment variable for the cache folder (default ~/.cache/efflab/dorm). */
export const CACHE_DIR_ENV = 'EFFLAB_CACHE_DIR';

export function defaultCacheDir(): string {
  return process.env[CACHE_DIR_ENV] ?? path.join(os.homedir(), '.cache', 'efflab', 'dorm');
}

export interface FeatureOptions {
  /** Registry id of the sentence encoder (default all-minilm-l6-v2). */
  model?: string;
  /** Cache file (default `<cacheDir>/<model>.features`). */
  cachePath?: string;
  cacheDir?: string;
  batchSize?: number;
  /** Show a progress bar (default true). */
  progress?: boolean;
  /** An already loaded encoder for `model`. */
  encoder?: BertEncoder;
  template?: string;
}

export interface FeatureResult {
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

/**
 * Features of `texts` (rendered already) from the cache, computing and appending the missing ones with a
 * progress bar. Empty texts and non-finite features are refused, naming the text's index.
 */
export function cachedFeatures(texts: readonly string[], opts: FeatureOptions = {}): FeatureResult {
  const model = opts.model ?? 'all-minilm-l6-v2';
  const template = opts.template ?? DEFAULT_TEMPLATE;
  const file = opts.cachePath ?? path.join(opts.cacheDir ?? defaultCacheDir(), `${model}.features`);
  texts.forEach((t, i) => {
    if (!t.trim()) throw new ValueError(`feature cache: text ${i} is empty`);
  });
  const { header, map } = readCache(file, model);
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
    const enc = opts.encoder ?? loadSentenceEncoder(model);
    const hdim = enc.config.hidden;
    if (header && header.dim !== hdim)
      throw new ConfigError(`${file}: cache has width ${header.dim}, model "${model}" gives ${hdim}`);
    dim = hdim;
    if (!header) {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, MAGIC + JSON.stringify({ model, dim }) + '\n');
    }
    const bs = opts.batchSize ?? 16;
    const bar =
      opts.progress === false ? null : progress({ total: missing.length, label: `features (${model})` });
    // Longest texts first would pad least per batch only within a batch; sort by length for that.
    missing.sort((a, b) => texts[a].length - texts[b].length);
    for (let s = 0; s < missing.length; s += bs) {
      const chunk = missing.slice(s, s + bs);
      const emb = enc.embed(
        chunk.map((i) => texts[i]),
        bs,
      );
      const rec = 32 + 4 * dim;
      const out = Buffer.alloc(chunk.length * rec);
      chunk.forEach((i, c) => {
        const v = emb.data.subarray(c * dim, (c + 1) * dim);
        for (let j = 0; j < dim; j++) {
          if (!Number.isFinite(v[j]))
            throw new NonFiniteError(`feature cache: feature ${j} of text ${i} is ${v[j]} (model ${model})`);
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
  return { dim, features, computed: missing.length, reused: texts.length - missing.length, cachePath: file };
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

/** The real task: HH-RLHF harmless-base test pairs with cached MiniLM features of prompt ⊕ reply. */
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
      name: 'hh-rlhf-harmless-base',
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
