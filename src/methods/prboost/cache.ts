/**
 * On-disk caches of the expensive per-row work: the LM's top-k words for a template, and sentence
 * embeddings. One JSON Lines file per (model, template): a header line naming what wrote it, then one line
 * per row keyed by a hash of the row's text. Each row is appended the moment it is computed, so an
 * interrupt loses at most the row in flight; a half-written last line is dropped when the file is opened.
 * Opening a file written by another model or template is an error, never a silent mix.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { repoRoot } from '../../data/paths';
import { ConfigError, EfflabError, FileFormatError } from '../../errors';
import { progress } from '../../display';

/** Environment variable that moves the cache folder (default `<repo>/.cache/prboost`). */
export const CACHE_DIR_ENV = 'EFFLAB_PRBOOST_CACHE';

/** The cache folder. */
export function cacheDir(): string {
  return process.env[CACHE_DIR_ENV] ?? path.join(repoRoot(), '.cache', 'prboost');
}

/** What wrote a cache file; every field must match to reuse it. */
export type CacheHeader = Record<string, string | number>;

/** Short content hash of a row's text (the row key inside one file). */
export function textKey(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 24);
}

/** A file name from the header fields (so each model / template gets its own file). */
export function cacheFileName(header: CacheHeader): string {
  const tag = String(header.kind).replace(/[^a-z0-9-]/gi, '');
  return `${tag}-${textKey(JSON.stringify(header))}.jsonl`;
}

/** A row cache: key → JSON value, persisted as JSON Lines under a header. */
export class RowCache<T> {
  private readonly rows = new Map<string, T>();

  private constructor(
    readonly file: string,
    readonly header: CacheHeader,
  ) {}

  /**
   * Opens (or creates) the cache file for `header`; `file` overrides its location. Throws ConfigError
   * when the file was written under another header (another model, template or k).
   */
  static open<T>(header: CacheHeader, file?: string): RowCache<T> {
    const f = file ?? path.join(cacheDir(), cacheFileName(header));
    const cache = new RowCache<T>(f, header);
    fs.mkdirSync(path.dirname(f), { recursive: true });
    // Keep cache files out of git when they live inside the repository.
    const ignore = path.join(path.dirname(f), '.gitignore');
    if (f.startsWith(repoRoot() + path.sep) && !fs.existsSync(ignore)) fs.writeFileSync(ignore, '*\n');
    if (!fs.existsSync(f)) {
      fs.writeFileSync(f, `${JSON.stringify({ header })}\n`);
      return cache;
    }
    let text = fs.readFileSync(f, 'utf8');
    if (text.length > 0 && !text.endsWith('\n')) {
      // An interrupted write: drop the partial line so appends start on a fresh line.
      text = text.slice(0, text.lastIndexOf('\n') + 1);
      fs.writeFileSync(f, text);
    }
    const lines = text.split('\n').filter((l) => l.length > 0);
    if (lines.length === 0) {
      fs.writeFileSync(f, `${JSON.stringify({ header })}\n`);
      return cache;
    }
    let found: CacheHeader;
    try {
      found = (JSON.parse(lines[0]) as { header: CacheHeader }).header;
      if (typeof found !== 'object' || found === null) throw new Error('no header object');
    } catch (e) {
      throw new FileFormatError(`cache ${f}: the first line is not a cache header (${(e as Error).message})`);
    }
    const diff = Object.keys({ ...header, ...found }).filter((k) => header[k] !== found[k]);
    if (diff.length > 0) {
      throw new ConfigError(
        `cache ${f} was written for ${diff.map((k) => `${k} = ${JSON.stringify(found[k])}`).join(', ')}, ` +
          `not ${diff.map((k) => `${k} = ${JSON.stringify(header[k])}`).join(', ')}; use another file or delete it`,
      );
    }
    for (let i = 1; i < lines.length; i++) {
      try {
        const r = JSON.parse(lines[i]) as { key: string; value: T };
        cache.rows.set(r.key, r.value);
      } catch (e) {
        throw new FileFormatError(`cache ${f}: line ${i + 1} is not valid JSON (${(e as Error).message})`);
      }
    }
    return cache;
  }

  get size(): number {
    return this.rows.size;
  }

  has(text: string): boolean {
    return this.rows.has(textKey(text));
  }

  get(text: string): T | undefined {
    return this.rows.get(textKey(text));
  }

  /** Stores a row and appends it to the file at once. */
  put(text: string, value: T): void {
    const key = textKey(text);
    this.rows.set(key, value);
    fs.appendFileSync(this.file, `${JSON.stringify({ key, value })}\n`);
  }
}

/** Options of `fillCache`. */
export interface FillOptions {
  /** Label of the progress bar (it shows rows/s and the ETA). */
  label?: string;
  /** Rows computed per call of `compute` (default 1). */
  batch?: number;
  /** Stop between batches when aborted; everything computed so far stays on disk. */
  signal?: AbortSignal;
  /** Called after each stored batch with the number of rows computed in this call so far. */
  onBatch?: (computed: number) => void;
}

/** The values of `texts` (in order), computing and storing only those the cache lacks. */
export async function fillCache<T>(
  cache: RowCache<T>,
  texts: readonly string[],
  compute: (batch: string[]) => T[] | Promise<T[]>,
  options: FillOptions = {},
): Promise<T[]> {
  const missing = [...new Set(texts.filter((t) => !cache.has(t)))];
  if (missing.length > 0) {
    const batch = Math.max(1, options.batch ?? 1);
    const bar = progress({ total: missing.length, label: options.label ?? path.basename(cache.file) });
    let done = 0;
    try {
      for (let s = 0; s < missing.length; s += batch) {
        if (options.signal?.aborted) {
          throw new EfflabError(
            `caching interrupted after ${done} of ${missing.length} new rows; ${cache.size} rows are saved in ` +
              `${cache.file} and the next call resumes from there`,
          );
        }
        const chunk = missing.slice(s, s + batch);
        const values = await compute(chunk);
        if (values.length !== chunk.length)
          throw new EfflabError(
            `fillCache: compute returned ${values.length} values for ${chunk.length} rows`,
          );
        chunk.forEach((t, i) => cache.put(t, values[i]));
        done += chunk.length;
        bar.set(done);
        options.onBatch?.(done);
        // Let the event loop run (interrupts, comm messages, display updates) between batches.
        await new Promise<void>((r) => setImmediate(r));
      }
    } finally {
      bar.done();
    }
  }
  return texts.map((t) => cache.get(t) as T);
}

/** Float32 vector ⇄ base64 (compact rows for embedding caches). */
export function encodeVector(v: Float32Array): string {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
}

export function decodeVector(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
