/**
 * GGUF v2/v3 reader: header, metadata key/values, tensor infos and alignment, then tensors
 * dequantised to float32 one at a time straight from the file (the raw file is never held whole; only
 * one tensor's bytes at a time next to the float32 result).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { dequantize, ggmlByteSize, ggmlTypeInfo } from './dequant';
import { FileFormatError, NotFoundError, ShapeError } from '../errors';
import { openError } from './errors';

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufTensorInfo {
  name: string;
  /** ggml dims, fastest-varying first (ne[0] = row length). */
  dims: number[];
  /** Row-major shape, slowest first (reverse of dims): a 2-D weight is [rows = out, cols = in]. */
  shape: number[];
  type: number;
  typeName: string;
  /** Absolute byte offset of the tensor data in the file. */
  fileOffset: number;
  byteSize: number;
  elements: number;
}

export interface GgufFile {
  path: string;
  version: number;
  metadata: Map<string, GgufValue>;
  tensors: Map<string, GgufTensorInfo>;
  alignment: number;
  dataOffset: number;
  fileSize: number;
}

const MAGIC = 0x46554747; // "GGUF" little-endian

/** Reads sequentially from a file descriptor through a growing buffer, with clear truncation errors. */
class Cursor {
  private buf = Buffer.alloc(0);
  private bufStart = 0;
  pos = 0;
  constructor(
    private readonly fd: number,
    private readonly size: number,
    private readonly file: string,
  ) {}

  private ensure(n: number, what: string): void {
    if (this.pos + n > this.size) {
      throw new FileFormatError(
        `${this.file}: truncated file: reading ${what} needs bytes ${this.pos}..${this.pos + n} but the file has ${this.size}`,
      );
    }
    const have = this.bufStart + this.buf.length;
    if (this.pos >= this.bufStart && this.pos + n <= have) return;
    const len = Math.min(Math.max(n, 1 << 20), this.size - this.pos);
    const next = Buffer.alloc(len);
    readSync(this.fd, next, 0, len, this.pos);
    this.buf = next;
    this.bufStart = this.pos;
  }

  private at(n: number, what: string): number {
    this.ensure(n, what);
    const o = this.pos - this.bufStart;
    this.pos += n;
    return o;
  }

  u8(what: string): number {
    const o = this.at(1, what);
    return this.buf.readUInt8(o);
  }
  i8(what: string): number {
    const o = this.at(1, what);
    return this.buf.readInt8(o);
  }
  u16(what: string): number {
    const o = this.at(2, what);
    return this.buf.readUInt16LE(o);
  }
  i16(what: string): number {
    const o = this.at(2, what);
    return this.buf.readInt16LE(o);
  }
  u32(what: string): number {
    const o = this.at(4, what);
    return this.buf.readUInt32LE(o);
  }
  i32(what: string): number {
    const o = this.at(4, what);
    return this.buf.readInt32LE(o);
  }
  f32(what: string): number {
    const o = this.at(4, what);
    return this.buf.readFloatLE(o);
  }
  f64(what: string): number {
    const o = this.at(8, what);
    return this.buf.readDoubleLE(o);
  }
  u64(what: string): bigint {
    const o = this.at(8, what);
    return this.buf.readBigUInt64LE(o);
  }
  i64(what: string): bigint {
    const o = this.at(8, what);
    return this.buf.readBigInt64LE(o);
  }
  /** A u64 that must fit a JS number below `limit`. */
  count(what: string, limit: number): number {
    const v = this.u64(what);
    if (v > BigInt(limit)) {
      throw new FileFormatError(`${this.file}: implausible ${what} ${v} (limit ${limit}); corrupt file?`);
    }
    return Number(v);
  }
  str(what: string): string {
    const n = this.count(`${what} length`, this.size);
    const o = this.at(n, what);
    return this.buf.toString('utf8', o, o + n);
  }
}

function readValue(c: Cursor, type: number, key: string, file: string): GgufValue {
  const what = `value of '${key}'`;
  switch (type) {
    case 0:
      return c.u8(what);
    case 1:
      return c.i8(what);
    case 2:
      return c.u16(what);
    case 3:
      return c.i16(what);
    case 4:
      return c.u32(what);
    case 5:
      return c.i32(what);
    case 6:
      return c.f32(what);
    case 7:
      return c.u8(what) !== 0;
    case 8:
      return c.str(what);
    case 9: {
      const itemType = c.u32(`array type of '${key}'`);
      const n = c.count(`array length of '${key}'`, 1 << 30);
      const out: GgufValue[] = new Array<GgufValue>(n);
      for (let i = 0; i < n; i++) out[i] = readValue(c, itemType, key, file);
      return out;
    }
    case 10:
      return c.u64(what);
    case 11:
      return c.i64(what);
    case 12:
      return c.f64(what);
    default:
      throw new FileFormatError(`${file}: metadata '${key}' has unknown value type ${type}`);
  }
}

/** Parse a GGUF file's header, metadata and tensor infos (tensor data is read later, on demand). */
export function readGgufHeader(path: string): GgufFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw openError(e, `${path}: cannot open GGUF file (${(e as Error).message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const c = new Cursor(fd, size, path);
    const magic = c.u32('magic');
    if (magic !== MAGIC) {
      throw new FileFormatError(
        `${path}: bad magic 0x${magic.toString(16).padStart(8, '0')}: not a GGUF file (expected "GGUF")`,
      );
    }
    const version = c.u32('version');
    if (version !== 2 && version !== 3) {
      throw new FileFormatError(`${path}: unsupported GGUF version ${version} (this reader handles 2 and 3)`);
    }
    const nTensors = c.count('tensor count', 1 << 24);
    const nKv = c.count('metadata count', 1 << 24);
    const metadata = new Map<string, GgufValue>();
    for (let i = 0; i < nKv; i++) {
      const key = c.str(`metadata key #${i}`);
      const type = c.u32(`type of '${key}'`);
      metadata.set(key, readValue(c, type, key, path));
    }
    const alignRaw = metadata.get('general.alignment');
    const alignment = alignRaw === undefined ? 32 : Number(alignRaw);
    if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
      throw new FileFormatError(`${path}: invalid general.alignment ${String(alignRaw)}`);
    }
    const infos: { name: string; dims: number[]; type: number; rel: number }[] = [];
    for (let i = 0; i < nTensors; i++) {
      const name = c.str(`tensor #${i} name`);
      const nd = c.u32(`dims of tensor '${name}'`);
      if (nd > 4) throw new FileFormatError(`${path}: tensor '${name}' has ${nd} dims (max 4)`);
      const dims: number[] = [];
      for (let d = 0; d < nd; d++) dims.push(c.count(`dim ${d} of tensor '${name}'`, 2 ** 40));
      const type = c.u32(`type of tensor '${name}'`);
      const rel = c.count(`offset of tensor '${name}'`, 2 ** 50);
      infos.push({ name, dims, type, rel });
    }
    const dataOffset = Math.ceil(c.pos / alignment) * alignment;
    const tensors = new Map<string, GgufTensorInfo>();
    for (const t of infos) {
      const elements = t.dims.reduce((a, b) => a * b, 1);
      const info = ggmlTypeInfo(t.type);
      const where = `${path}: tensor '${t.name}'`;
      if (!info) throw new FileFormatError(`${where}: unknown ggml type id ${t.type}`);
      const byteSize = ggmlByteSize(t.type, elements, where);
      const fileOffset = dataOffset + t.rel;
      if (t.rel % alignment !== 0) {
        throw new FileFormatError(`${where}: data offset ${t.rel} is not aligned to ${alignment}`);
      }
      if (fileOffset + byteSize > size) {
        throw new FileFormatError(
          `${where}: data at bytes ${fileOffset}..${fileOffset + byteSize} lies past the end of the file (${size} bytes)`,
        );
      }
      tensors.set(t.name, {
        name: t.name,
        dims: t.dims,
        shape: [...t.dims].reverse(),
        type: t.type,
        typeName: info.name,
        fileOffset,
        byteSize,
        elements,
      });
    }
    return { path, version, metadata, tensors, alignment, dataOffset, fileSize: size };
  } finally {
    closeSync(fd);
  }
}

/** The tensor info for `name`, or a clear error naming the file and tensor. */
export function ggufTensorInfo(file: GgufFile, name: string): GgufTensorInfo {
  const t = file.tensors.get(name);
  if (!t) throw new NotFoundError(`${file.path}: missing tensor '${name}'`);
  return t;
}

/**
 * Read one tensor and dequantise it into `out` (or a new Float32Array), streaming its bytes from the
 * file in chunks of whole blocks so only a small raw buffer is held next to the float32 result.
 */
export function readGgufTensor(file: GgufFile, name: string, out?: Float32Array): Float32Array {
  const t = ggufTensorInfo(file, name);
  const info = ggmlTypeInfo(t.type);
  const what = `${file.path}: tensor '${name}'`;
  if (!info || !info.supported) {
    throw new FileFormatError(
      `${what}: unsupported quantisation type ${info?.name ?? t.type} (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)`,
    );
  }
  const dst = out ?? new Float32Array(t.elements);
  if (dst.length < t.elements) throw new ShapeError(`${what}: output buffer too small`);
  const blocksPerChunk = Math.max(1, Math.floor((4 << 20) / info.blockBytes));
  const chunkBytes = blocksPerChunk * info.blockBytes;
  const raw = Buffer.alloc(Math.min(chunkBytes, t.byteSize));
  const fd = openSync(file.path, 'r');
  try {
    let done = 0;
    let elem = 0;
    while (done < t.byteSize) {
      const len = Math.min(chunkBytes, t.byteSize - done);
      const got = readSync(fd, raw, 0, len, t.fileOffset + done);
      if (got !== len) {
        throw new FileFormatError(
          `${what}: truncated file: read ${got} of ${len} bytes at ${t.fileOffset + done}`,
        );
      }
      const n = (len / info.blockBytes) * info.blockSize;
      dequantize(t.type, raw.subarray(0, len), dst, elem, n, what);
      done += len;
      elem += n;
    }
  } finally {
    closeSync(fd);
  }
  return dst;
}

/** A metadata value, with a clear error if it is missing. */
export function ggufMeta(file: GgufFile, key: string): GgufValue {
  const v = file.metadata.get(key);
  if (v === undefined) throw new FileFormatError(`${file.path}: missing metadata key '${key}'`);
  return v;
}

/** A numeric metadata value (bigints converted), or `fallback` when absent. */
export function ggufNumber(file: GgufFile, key: string, fallback?: number): number {
  const v = file.metadata.get(key);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new FileFormatError(`${file.path}: missing metadata key '${key}'`);
  }
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new FileFormatError(`${file.path}: metadata '${key}' is not a number`);
}

/** A string-array metadata value. */
export function ggufStrings(file: GgufFile, key: string): string[] {
  const v = ggufMeta(file, key);
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw new FileFormatError(`${file.path}: metadata '${key}' is not an array of strings`);
  }
  return v as string[];
}
