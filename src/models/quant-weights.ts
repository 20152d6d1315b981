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

/** Bytes of a holdable GGUF matrix's blocks (see canHoldQuantized). */
export function quantMatrixBytes(file: GgufFile, name: string): number {
  return ggufTensorInfo(file, name).byteSize;
}

/**
 * Read a 2-D Q8_0 / Q4_1 tensor's blocks as stored (rows = out, cols = in), into the wasm memory, or
 * into `into` (exactly its byte size, e.g. its rows of a stacked buffer).
 */
export function readGgufQuantMatrix(file: GgufFile, name: string, into?: Uint8Array): QuantMatrix {
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
  if (into && into.length !== bytes)
    throw new FileFormatError(
      `${file.path}: tensor '${name}' has ${bytes} bytes, the destination ${into.length}`,
    );
  const data = into ?? allocBytes(bytes);
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

/** Undo llama.cpp's Q/K row permutation on a quantized matrix (whole rows of blocks move), into `into` if given. */
export function unpermuteQuantRows(w: QuantMatrix, heads: number, into?: Uint8Array): QuantMatrix {
  const rowBytes = (w.cols / 32) * QUANT_BLOCK_BYTES[w.type];
  const D = w.rows / heads;
  const half = D / 2;
  const out = into ?? allocBytes(w.data.length);
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
