/**
 * Dequantisation of the ggml tensor types the shipped GGUF models use (block layouts as in ggml's
 * `ggml-quants.c`): F32, F16, BF16, Q8_0, Q4_0, Q4_1 (32-element blocks) and the k-quants Q4_K, Q6_K
 * (256-element super-blocks). Each function decodes whole blocks from a byte buffer into float32.
 */
import { bf16ToF32, f16ToF32 } from './half';
import { FileFormatError, ShapeError } from '../errors';

/** ggml type ids as stored in GGUF tensor infos. */
export const GGML_TYPE = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  BF16: 30,
} as const;

export interface GgmlTypeInfo {
  name: string;
  /** Elements per block. */
  blockSize: number;
  /** Bytes per block. */
  blockBytes: number;
  /** Whether this reader can dequantise it. */
  supported: boolean;
}

const TYPES: Record<number, GgmlTypeInfo> = {
  0: { name: 'F32', blockSize: 1, blockBytes: 4, supported: true },
  1: { name: 'F16', blockSize: 1, blockBytes: 2, supported: true },
  2: { name: 'Q4_0', blockSize: 32, blockBytes: 18, supported: true },
  3: { name: 'Q4_1', blockSize: 32, blockBytes: 20, supported: true },
  6: { name: 'Q5_0', blockSize: 32, blockBytes: 22, supported: false },
  7: { name: 'Q5_1', blockSize: 32, blockBytes: 24, supported: false },
  8: { name: 'Q8_0', blockSize: 32, blockBytes: 34, supported: true },
  9: { name: 'Q8_1', blockSize: 32, blockBytes: 36, supported: false },
  10: { name: 'Q2_K', blockSize: 256, blockBytes: 84, supported: false },
  11: { name: 'Q3_K', blockSize: 256, blockBytes: 110, supported: false },
  12: { name: 'Q4_K', blockSize: 256, blockBytes: 144, supported: true },
  13: { name: 'Q5_K', blockSize: 256, blockBytes: 176, supported: false },
  14: { name: 'Q6_K', blockSize: 256, blockBytes: 210, supported: true },
  15: { name: 'Q8_K', blockSize: 256, blockBytes: 292, supported: false },
  30: { name: 'BF16', blockSize: 1, blockBytes: 2, supported: true },
};

/** Layout facts of a ggml type id, or undefined for an id this reader does not know. */
export function ggmlTypeInfo(type: number): GgmlTypeInfo | undefined {
  return TYPES[type];
}

/** Bytes that `n` elements of `type` occupy; throws if n is not a whole number of blocks. */
export function ggmlByteSize(type: number, n: number, what: string): number {
  const info = TYPES[type];
  if (!info) throw new FileFormatError(`${what}: unknown ggml type id ${type}`);
  if (n % info.blockSize !== 0) {
    throw new FileFormatError(
      `${what}: ${n} elements are not a whole number of ${info.name} blocks of ${info.blockSize}`,
    );
  }
  return (n / info.blockSize) * info.blockBytes;
}

function u16(b: Uint8Array, o: number): number {
  return b[o] | (b[o + 1] << 8);
}

function i8(v: number): number {
  return v > 127 ? v - 256 : v;
}

function q4_0(src: Uint8Array, out: Float32Array, off: number, blocks: number): void {
  for (let bi = 0; bi < blocks; bi++) {
    const p = bi * 18;
    const d = f16ToF32(u16(src, p));
    const y = off + bi * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[p + 2 + j];
      out[y + j] = ((q & 0x0f) - 8) * d;
      out[y + j + 16] = ((q >> 4) - 8) * d;
    }
  }
}

function q4_1(src: Uint8Array, out: Float32Array, off: number, blocks: number): void {
  for (let bi = 0; bi < blocks; bi++) {
    const p = bi * 20;
    const d = f16ToF32(u16(src, p));
    const m = f16ToF32(u16(src, p + 2));
    const y = off + bi * 32;
    for (let j = 0; j < 16; j++) {
      const q = src[p + 4 + j];
      out[y + j] = (q & 0x0f) * d + m;
      out[y + j + 16] = (q >> 4) * d + m;
    }
  }
}

function q8_0(src: Uint8Array, out: Float32Array, off: number, blocks: number): void {
  for (let bi = 0; bi < blocks; bi++) {
    const p = bi * 34;
    const d = f16ToF32(u16(src, p));
    const y = off + bi * 32;
    for (let j = 0; j < 32; j++) out[y + j] = i8(src[p + 2 + j]) * d;
  }
}

function scaleMinK4(j: number, q: Uint8Array, p: number): [number, number] {
  if (j < 4) return [q[p + j] & 63, q[p + j + 4] & 63];
  const sc = (q[p + j + 4] & 0x0f) | ((q[p + j - 4] >> 6) << 4);
  const m = (q[p + j + 4] >> 4) | ((q[p + j] >> 6) << 4);
  return [sc, m];
}

function q4_k(src: Uint8Array, out: Float32Array, off: number, blocks: number): void {
  for (let bi = 0; bi < blocks; bi++) {
    const p = bi * 144;
    const d = f16ToF32(u16(src, p));
    const dmin = f16ToF32(u16(src, p + 2));
    const scales = p + 4;
    let q = p + 16;
    let y = off + bi * 256;
    let is = 0;
    for (let j = 0; j < 256; j += 64) {
      const [sc1, m1] = scaleMinK4(is, src, scales);
      const [sc2, m2] = scaleMinK4(is + 1, src, scales);
      const d1 = d * sc1;
      const mm1 = dmin * m1;
      const d2 = d * sc2;
      const mm2 = dmin * m2;
      for (let l = 0; l < 32; l++) out[y + l] = d1 * (src[q + l] & 0x0f) - mm1;
      for (let l = 0; l < 32; l++) out[y + 32 + l] = d2 * (src[q + l] >> 4) - mm2;
      y += 64;
      q += 32;
      is += 2;
    }
  }
}

function q6_k(src: Uint8Array, out: Float32Array, off: number, blocks: number): void {
  for (let bi = 0; bi < blocks; bi++) {
    const p = bi * 210;
    let ql = p;
    let qh = p + 128;
    let sc = p + 192;
    const d = f16ToF32(u16(src, p + 208));
    let y = off + bi * 256;
    for (let n = 0; n < 256; n += 128) {
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = src[qh + l];
        const q1 = ((src[ql + l] & 0x0f) | ((h & 3) << 4)) - 32;
        const q2 = ((src[ql + l + 32] & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((src[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((src[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
        out[y + l] = d * i8(src[sc + is]) * q1;
        out[y + l + 32] = d * i8(src[sc + is + 2]) * q2;
        out[y + l + 64] = d * i8(src[sc + is + 4]) * q3;
        out[y + l + 96] = d * i8(src[sc + is + 6]) * q4;
      }
      y += 128;
      ql += 64;
      qh += 32;
      sc += 8;
    }
  }
}

/**
 * Decode `n` elements of ggml type `type` from `src` (exactly their bytes) into out[off .. off+n).
 * `what` names the file and tensor for error messages.
 */
export function dequantize(
  type: number,
  src: Uint8Array,
  out: Float32Array,
  off: number,
  n: number,
  what: string,
): void {
  const info = TYPES[type];
  if (!info) throw new FileFormatError(`${what}: unknown ggml type id ${type}`);
  if (!info.supported) {
    throw new FileFormatError(
      `${what}: unsupported quantisation type ${info.name} (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K)`,
    );
  }
  const bytes = ggmlByteSize(type, n, what);
  if (src.length < bytes) {
    throw new ShapeError(`${what}: ${src.length} bytes given, ${info.name} × ${n} needs ${bytes}`);
  }
  if (off + n > out.length) throw new ShapeError(`${what}: output too small`);
  const blocks = n / info.blockSize;
  switch (type) {
    case GGML_TYPE.F32: {
      const dv = new DataView(src.buffer, src.byteOffset, bytes);
      for (let i = 0; i < n; i++) out[off + i] = dv.getFloat32(i * 4, true);
      return;
    }
    case GGML_TYPE.F16:
      for (let i = 0; i < n; i++) out[off + i] = f16ToF32(u16(src, 2 * i));
      return;
    case GGML_TYPE.BF16:
      for (let i = 0; i < n; i++) out[off + i] = bf16ToF32(u16(src, 2 * i));
      return;
    case GGML_TYPE.Q4_0:
      return q4_0(src, out, off, blocks);
    case GGML_TYPE.Q4_1:
      return q4_1(src, out, off, blocks);
    case GGML_TYPE.Q8_0:
      return q8_0(src, out, off, blocks);
    case GGML_TYPE.Q4_K:
      return q4_k(src, out, off, blocks);
    case GGML_TYPE.Q6_K:
      return q6_k(src, out, off, blocks);
    default:
      throw new FileFormatError(`${what}: no decoder for ${info.name}`);
  }
}
