/**
 * GGUF weights kept quantized in memory (Q8_0, Q4_1: ggml's 32-weight blocks), for a decoder whose
 * projections multiply the blocks directly (`quantLinear` of the ops index) instead of float32 copies:
 * decode reads ~6× fewer weight bytes (Q4_1: 20 bytes per 32 weights). A float32 view of a quantized
 * matrix is made on demand (LoRC's decompositions, shape checks) and never kept.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { allocBytes, dequantRow, QUANT_BLOCK_BYTES, Tensor, type QuantMatrix, type QuantType } from '../ops';
import { FileFormatError } from '../errors';
import type { GgufFile } from './gguf';
import { ggufTensorInfo } from './gguf';

/** The quantization types held as blocks; other tensor types are dequantized to float32 at load. */
const HELD: Record<string, QuantType> = { Q8_0: 'q8_0', Q4_1: 'q4_1' };

/** Whether a GGUF tensor can be held quantized (a 2-D Q8_0 / Q4_1 matrix). */
export function canHoldQuantized(file: GgufFile, name: string): boolean {
  const t = ggufTensorInfo(file, name);
  return HELD[t.typeName] !== undefined && t.shape.length === 2 && t.shape[1] % 32 === 0;
}

/** Read a 2-D Q8_0 / Q4_1 tensor's blocks as stored (rows = out, cols = in), into the wasm memory. */
export function readGgufQuantMatrix(file: GgufFile, name: string): QuantMatrix {
  const t = ggufTensorInfo(file, name);
  const type = HELD[t.typeName];
  if (!type || t.shape.length !== 2)
    throw new FileFormatError(`${file.path}: tensor '${name}' (${t.typeName}) cannot be held quantized`);
  const [rows, cols] = t.shape;
  const bytes = (rows * cols * QUANT_BLOCK_BYTES[type]) / 32;
  if (bytes !== t.byteSize)
    throw new FileFormatError(
      `${file.path}: tensor '${name}' has ${t.byteSize} bytes, ${type} needs ${bytes}`,
    );
  const data = allocBytes(bytes);
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const fd = openSync(file.path, 'r');
  try {
    const got = readSync(fd, buf, 0, bytes, t.fileOffset);
    if (got !== bytes)
      throw new FileFormatError(`${file.path}: tensor '${name}': truncated read (${got} of ${bytes} bytes)`);
  } finally {
    closeSync(fd);
  }
  return { type, rows, cols, data };
}

/** Undo llama.cpp's Q/K row permutation on a quantized matrix (whole rows of blocks move). */
export function unpermuteQuantRows(w: QuantMatrix, heads: number): QuantMatrix {
  const rowBytes = (w.cols / 32) * QUANT_BLOCK_BYTES[w.type];
  const D = w.rows / heads;
  const half = D / 2;
  const out = allocBytes(w.data.length);
  for (let h = 0; h < heads; h++)
    for (let r = 0; r < half; r++)
      for (let j = 0; j < 2; j++) {
        const src = (h * D + 2 * r + j) * rowBytes;
        out.set(w.data.subarray(src, src + rowBytes), (h * D + j * half + r) * rowBytes);
      }
  return { ...w, data: out };
}

/** Float32 copy of a quantized matrix [rows, cols] (exact block decoding). */
export function dequantizedTensor(w: QuantMatrix): Tensor {
  const out = new Float32Array(w.rows * w.cols);
  for (let j = 0; j < w.rows; j++) dequantRow(w, j, out.subarray(j * w.cols, (j + 1) * w.cols));
  return new Tensor(out, [w.rows, w.cols]);
}

/**
 * Stack quantized matrices of one type and width by rows into one buffer (e.g. [W_q; W_k; W_v]) so
 * one kernel call multiplies them all; returns the fused matrix and the parts as views into it, or
 * undefined when the types or widths differ.
 */
export function stackQuantRows(
  parts: QuantMatrix[],
): { fused: QuantMatrix; views: QuantMatrix[] } | undefined {
  const [first] = parts;
  if (!first || parts.some((p) => p.type !== first.type || p.cols !== first.cols)) return undefined;
  const rowBytes = (first.cols / 32) * QUANT_BLOCK_BYTES[first.type];
  const rows = parts.reduce((a, p) => a + p.rows, 0);
  const data = allocBytes(rows * rowBytes);
  let off = 0;
  const views = parts.map((p) => {
    const n = p.rows * rowBytes;
    data.set(p.data.subarray(0, n), off);
    const view = { ...p, data: data.subarray(off, off + n) };
    off += n;
    return view;
  });
  return { fused: { type: first.type, rows, cols: first.cols, data }, views };
}
