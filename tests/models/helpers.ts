/** Test helpers: paths of the shipped models and a tiny GGUF writer for malformed-file cases. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveModelPath } from '../../src/models/registry';

export const SMOLLM_PATH = (): string => resolveModelPath('smollm2-135m-instruct');
export const MINILM_DIR = (): string => resolveModelPath('all-minilm-l6-v2');
export const FIXTURES = join(__dirname, '..', 'fixtures', 'models');

export function tmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'efflab-models-'));
}

export interface FakeTensor {
  name: string;
  dims: number[];
  type: number;
  data: Uint8Array;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b]);
}

/** Write a GGUF v3 file with string/u32 metadata and the given tensors (32-byte alignment). */
export function writeGguf(
  path: string,
  meta: Record<string, string | number>,
  tensors: FakeTensor[],
  opts: { magic?: string; truncateTo?: number; offsetShift?: number } = {},
): string {
  const parts: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.write(opts.magic ?? 'GGUF', 0, 'ascii');
  head.writeUInt32LE(3, 4);
  head.writeBigUInt64LE(BigInt(tensors.length), 8);
  head.writeBigUInt64LE(BigInt(Object.keys(meta).length), 16);
  parts.push(head);
  for (const [k, v] of Object.entries(meta)) {
    parts.push(str(k));
    const t = Buffer.alloc(4);
    if (typeof v === 'string') {
      t.writeUInt32LE(8);
      parts.push(t, str(v));
    } else {
      t.writeUInt32LE(4);
      const b = Buffer.alloc(4);
      b.writeUInt32LE(v);
      parts.push(t, b);
    }
  }
  let off = 0;
  const offsets: number[] = [];
  for (const t of tensors) {
    offsets.push(off);
    off += Math.ceil(t.data.length / 32) * 32;
  }
  tensors.forEach((t, i) => {
    parts.push(str(t.name));
    const b = Buffer.alloc(4 + 8 * t.dims.length + 4 + 8);
    b.writeUInt32LE(t.dims.length, 0);
    t.dims.forEach((d, j) => b.writeBigUInt64LE(BigInt(d), 4 + 8 * j));
    b.writeUInt32LE(t.type, 4 + 8 * t.dims.length);
    b.writeBigUInt64LE(BigInt(offsets[i] + (opts.offsetShift ?? 0)), 8 + 8 * t.dims.length);
    parts.push(b);
  });
  let header = Buffer.concat(parts);
  const pad = Math.ceil(header.length / 32) * 32 - header.length;
  header = Buffer.concat([header, Buffer.alloc(pad)]);
  const data = tensors.map((t) => {
    const p = Buffer.alloc(Math.ceil(t.data.length / 32) * 32);
    p.set(t.data);
    return p;
  });
  let file = Buffer.concat([header, ...data]);
  if (opts.truncateTo !== undefined) file = file.subarray(0, opts.truncateTo);
  writeFileSync(path, file);
  return path;
}

/** Float32 little-endian bytes of values. */
export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}
