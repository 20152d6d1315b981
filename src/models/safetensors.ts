/**
 * safetensors reader: an 8-byte little-endian header length, a JSON header mapping tensor names to
 * {dtype, shape, data_offsets}, then the raw data. F32, F16 and BF16 are converted to float32, one
 * tensor at a time read straight from the file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { bf16ToF32, f16ToF32 } from './half';
import { FileFormatError, NotFoundError, ShapeError } from '../errors';
import { openError } from './errors';

export type SafetensorsDtype = 'F32' | 'F16' | 'BF16';

export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsFile {
  path: string;
  tensors: Map<string, SafetensorsTensorInfo>;
  metadata: Record<string, string>;
  fileSize: number;
}

const BYTES: Record<string, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

/** Parse the header of a safetensors file and check every tensor's byte range. */
export function readSafetensorsHeader(path: string): SafetensorsFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw openError(e, `${path}: cannot open safetensors file (${(e as Error).message})`);
  }
  try {
    const size = fstatSync(fd).size;
    if (size < 8) throw new FileFormatError(`${path}: truncated file: ${size} bytes, no safetensors header`);
    const lenBuf = Buffer.alloc(8);
    readSync(fd, lenBuf, 0, 8, 0);
    const n = lenBuf.readBigUInt64LE(0);
    if (n > BigInt(Math.min(size - 8, 100 << 20))) {
      throw new FileFormatError(
        `${path}: header length ${n} exceeds the file (${size} bytes): not a safetensors file, or truncated`,
      );
    }
    const hdr = Buffer.alloc(Number(n));
    readSync(fd, hdr, 0, hdr.length, 8);
    let json: unknown;
    try {
      json = JSON.parse(hdr.toString('utf8'));
    } catch (e) {
      throw new FileFormatError(`${path}: header is not valid JSON (${(e as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) {
      throw new FileFormatError(`${path}: header is not a JSON object`);
    }
    const dataStart = 8 + hdr.length;
    const tensors = new Map<string, SafetensorsTensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, v] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') {
        metadata = v as Record<string, string>;
        continue;
      }
      const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const where = `${path}: tensor '${name}'`;
      if (
        typeof e.dtype !== 'string' ||
        !Array.isArray(e.shape) ||
        !Array.isArray(e.data_offsets) ||
        e.data_offsets.length !== 2
      ) {
        throw new FileFormatError(`${where}: malformed header entry`);
      }
      const shape = (e.shape as unknown[]).map(Number);
      const [b, en] = (e.data_offsets as unknown[]).map(Number);
      const elems = shape.reduce((a, x) => a * x, 1);
      const per = BYTES[e.dtype];
      if (per !== undefined && en - b !== elems * per) {
        throw new FileFormatError(
          `${where}: ${en - b} bytes for ${e.dtype} [${shape.join(', ')}] (expected ${elems * per})`,
        );
      }
      if (dataStart + en > size || b < 0 || en < b) {
        throw new FileFormatError(
          `${where}: data at bytes ${dataStart + b}..${dataStart + en} lies past the end of the file (${size} bytes)`,
        );
      }
      tensors.set(name, { name, dtype: e.dtype, shape, begin: dataStart + b, end: dataStart + en });
    }
    return { path, tensors, metadata, fileSize: size };
  } finally {
    closeSync(fd);
  }
}

/** Read one tensor as float32 (F32, F16 or BF16), with clear errors naming file and tensor. */
export function readSafetensor(
  file: SafetensorsFile,
  name: string,
  out?: Float32Array,
): { data: Float32Array; shape: number[] } {
  const t = file.tensors.get(name);
  if (!t) throw new NotFoundError(`${file.path}: missing tensor '${name}'`);
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
    throw new FileFormatError(
      `${file.path}: tensor '${name}' has unsupported dtype ${t.dtype} (supported: F32, F16, BF16)`,
    );
  }
  const raw = Buffer.alloc(t.end - t.begin);
  const fd = openSync(file.path, 'r');
  try {
    const got = readSync(fd, raw, 0, raw.length, t.begin);
    if (got !== raw.length) throw new FileFormatError(`${file.path}: tensor '${name}': truncated read`);
  } finally {
    closeSync(fd);
  }
  const n = t.shape.reduce((a, x) => a * x, 1);
  if (out && out.length !== n)
    throw new ShapeError(`${file.path}: tensor '${name}': output has ${out.length} elements, need ${n}`);
  out ??= new Float32Array(n);
  if (t.dtype === 'F32') for (let i = 0; i < n; i++) out[i] = raw.readFloatLE(4 * i);
  else if (t.dtype === 'F16') for (let i = 0; i < n; i++) out[i] = f16ToF32(raw.readUInt16LE(2 * i));
  else for (let i = 0; i < n; i++) out[i] = bf16ToF32(raw.readUInt16LE(2 * i));
  return { data: out, shape: t.shape };
}
