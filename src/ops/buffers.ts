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
 * Buffers come in size classes (`sizeClass`), so an output may be a view of the first n floats of a
 * slightly larger buffer. Only plain ArrayBuffers are kept (never the wasm memory), at most
 * `MAX_POOLED_BYTES` in all; a buffer is held once even when handed back twice.
 */
import type { Tensor } from './tensor';

/** Upper bound of the bytes held for reuse (the rest is left to the garbage collector). */
export const MAX_POOLED_BYTES = 96 << 20;
/** Smaller arrays are not worth pooling (V8 allocates them cheaply). */
const MIN_POOLED_LENGTH = 1024;

/** Held buffers by capacity (a size class, in floats). */
const free = new Map<number, Float32Array[]>();
/** Buffers this module allocated (their capacity is a size class) and buffers now held. */
const born = new WeakSet<ArrayBufferLike>();
const pooled = new WeakSet<ArrayBufferLike>();
let pooledBytes = 0;

/**
 * The capacity a request of n floats gets: n rounded up to one of four classes per octave (at most 25 %
 * more), so passes whose lengths differ a little (packed prompts: a different token count every pass)
 * still reuse each other's buffers.
 */
export function sizeClass(n: number): number {
  if (n < MIN_POOLED_LENGTH) return n;
  const step = 2 ** (Math.floor(Math.log2(n)) - 2);
  return Math.ceil(n / step) * step;
}

/**
 * A Float32Array of length n for a kernel's output: a view of a recycled buffer of n's size class (stale
 * contents), or of a new one.
 */
export function outputBuffer(n: number): Float32Array {
  if (n < MIN_POOLED_LENGTH) return new Float32Array(n);
  const cap = sizeClass(n);
  let a = free.get(cap)?.pop();
  if (a) {
    pooled.delete(a.buffer);
    pooledBytes -= a.byteLength;
  } else {
    a = new Float32Array(cap);
    born.add(a.buffer);
  }
  return a.length === n ? a : a.subarray(0, n);
}

/**
 * Hand dead intermediates back for reuse by later outputs. The caller promises that nothing reads
 * these tensors (or any view of their data) afterwards. Kept: arrays that `outputBuffer` handed out
 * (views from its start), and other whole buffers whose length is a size class; ignored: device tensors,
 * other views, arrays in the wasm memory.
 */
export function recycle(...tensors: (Tensor | undefined)[]): void {
  for (const t of tensors) {
    if (!t || t.device !== undefined) continue;
    const a = t.data;
    const buf = a.buffer;
    if (!(buf instanceof ArrayBuffer) || a.byteOffset !== 0 || pooled.has(buf)) continue;
    const cap = buf.byteLength / 4;
    const whole = a.byteLength === buf.byteLength;
    if (cap < MIN_POOLED_LENGTH || !(born.has(buf) || (whole && sizeClass(cap) === cap))) continue;
    if (pooledBytes + buf.byteLength > MAX_POOLED_BYTES) continue;
    pooled.add(buf);
    pooledBytes += buf.byteLength;
    const full = whole ? a : new Float32Array(buf);
    const list = free.get(cap);
    if (list) list.push(full);
    else free.set(cap, [full]);
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
