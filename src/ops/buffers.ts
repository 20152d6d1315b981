/**
 * Recycled output buffers for the CPU kernels.
 *
 * Why: every op returns a fresh Float32Array, and V8 counts each one's backing store as external memory.
 * A SmolLM2 prefill of 128 tokens allocates ~200 MB of such outputs; V8 answers that "external memory
 * pressure" with a full mark-compact every ~60 ms, and its concurrent marking threads then compete with
 * the GEMM threads for this machine's two cores (measured: the same prefill took 380-510 ms with
 * `--single-threaded-gc` and 600-730 ms without). A caller that knows an intermediate is dead (the
 * decoder's layer loop) hands it back with `recycle`; kernels take their outputs from `outputBuffer`,
 * which reuses a handed-back buffer of the same length. Nothing is recycled unless a caller says so, so
 * code that keeps every tensor (the user's) behaves exactly as before.
 *
 * Contract: a recycled buffer's contents are stale, so a kernel that takes one must write every element.
 * Only whole, plain ArrayBuffers are kept (never views into another array, never the wasm memory), at
 * most `MAX_POOLED_BYTES` in all; a buffer is held once even when handed back twice.
 */
import type { Tensor } from './tensor';

/** Upper bound of the bytes held for reuse (the rest is left to the garbage collector). */
export const MAX_POOLED_BYTES = 96 << 20;
/** Smaller arrays are not worth pooling (V8 allocates them cheaply). */
const MIN_POOLED_LENGTH = 1024;

const free = new Map<number, Float32Array[]>();
const pooled = new WeakSet<ArrayBufferLike>();
let pooledBytes = 0;

/** A Float32Array of length n for a kernel's output: a recycled one (stale contents) or a new one. */
export function outputBuffer(n: number): Float32Array {
  const list = n >= MIN_POOLED_LENGTH ? free.get(n) : undefined;
  const a = list?.pop();
  if (!a) return new Float32Array(n);
  pooled.delete(a.buffer);
  pooledBytes -= a.byteLength;
  return a;
}

/**
 * Hand dead intermediates back for reuse by later outputs. The caller promises that nothing reads
 * these tensors (or any view of their data) afterwards. Device tensors, views and arrays in the wasm
 * memory are ignored.
 */
export function recycle(...tensors: (Tensor | undefined)[]): void {
  for (const t of tensors) {
    if (!t || t.device !== undefined) continue;
    const a = t.data;
    const buf = a.buffer;
    if (
      a.length < MIN_POOLED_LENGTH ||
      !(buf instanceof ArrayBuffer) ||
      a.byteOffset !== 0 ||
      a.byteLength !== buf.byteLength ||
      pooled.has(buf) ||
      pooledBytes + a.byteLength > MAX_POOLED_BYTES
    ) {
      continue;
    }
    pooled.add(buf);
    pooledBytes += a.byteLength;
    const list = free.get(a.length);
    if (list) list.push(a);
    else free.set(a.length, [a]);
  }
}

/** Bytes currently held for reuse (for tests and diagnostics). */
export function pooledOutputBytes(): number {
  return pooledBytes;
}

/** Drop every held buffer (the garbage collector takes them). */
export function clearOutputPool(): void {
  for (const list of free.values()) for (const a of list) pooled.delete(a.buffer);
  free.clear();
  pooledBytes = 0;
}
