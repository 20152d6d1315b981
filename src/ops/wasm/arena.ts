/**
 * A float32 arena in one shared WebAssembly memory, so the SIMD linear kernel can read model weights
 * in place (no copy per call). Shared memory is used because growing it does not detach existing
 * views: a weight tensor allocated here stays valid for the life of the process. Ranges are handed
 * out first-fit from a free list and returned when their Float32Array view is garbage-collected
 * (FinalizationRegistry), so reloading a model in a notebook does not leak.
 */
import { BackendError } from '../../errors';
import { wasmApi, type WasmMemory } from './wasm-api';

const PAGE = 65536;
const ALIGN = 64;

interface Range {
  start: number;
  size: number;
}

export class WasmArena {
  readonly memory: WasmMemory;
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private free: Range[] = [];
  private top = ALIGN; // keep address 0 unused (null pointer for "no bias")
  private readonly registry = new FinalizationRegistry<Range>((r) => this.release(r));
  /** Ranges of the live `allocF32` arrays, for `freeF32` (weakly held: collection still frees them). */
  private readonly live = new WeakMap<Float32Array, Range>();

  constructor(initialPages = 16) {
    const api = wasmApi();
    if (!api) throw new BackendError('wasm: no WebAssembly in this runtime');
    this.memory = new api.Memory({ initial: initialPages, maximum: 65536, shared: true });
    this.buffers.add(this.memory.buffer);
  }

  /** Bytes of wasm memory reserved so far (allocated or free). */
  get reservedBytes(): number {
    return this.memory.buffer.byteLength;
  }

  /** Bytes handed out and not yet returned (allocated arrays not yet freed or collected, scratch in use). */
  get usedBytes(): number {
    return this.top - ALIGN - this.free.reduce((a, r) => a + r.size, 0);
  }

  /** Whether `a` is a view into this arena (its byteOffset is then a wasm address). */
  owns(a: ArrayBufferView): boolean {
    return this.buffers.has(a.buffer);
  }

  private grabRange(bytes: number): number {
    const size = Math.ceil(bytes / ALIGN) * ALIGN;
    for (let i = 0; i < this.free.length; i++) {
      const r = this.free[i];
      if (r.size >= size) {
        const start = r.start;
        if (r.size === size) this.free.splice(i, 1);
        else this.free[i] = { start: r.start + size, size: r.size - size };
        return start;
      }
    }
    const start = this.top;
    const end = start + size;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      try {
        this.memory.grow(Math.max(pages, Math.ceil(have / PAGE / 4)));
      } catch {
        try {
          this.memory.grow(pages);
        } catch (e) {
          throw new BackendError(
            `wasm memory: cannot grow from ${have} to ${end} bytes (WebAssembly's 32-bit memory holds at most 4 GiB): ${(e as Error).message}`,
          );
        }
      }
      this.buffers.add(this.memory.buffer);
    }
    this.top = end;
    return start;
  }

  private release(r: Range): void {
    this.free.push(r);
    this.free.sort((a, b) => a.start - b.start);
    const merged: Range[] = [];
    for (const x of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.start + last.size === x.start) last.size += x.size;
      else merged.push({ ...x });
    }
    const tail = merged[merged.length - 1];
    if (tail && tail.start + tail.size === this.top) {
      this.top = tail.start;
      merged.pop();
    }
    this.free = merged;
  }

  /** A zeroed Float32Array of n elements living in wasm memory; freed when the view is collected. */
  allocF32(n: number): Float32Array {
    const bytes = Math.max(4 * n, 4);
    const start = this.grabRange(bytes);
    const view = new Float32Array(this.memory.buffer, start, n);
    view.fill(0);
    const range = { start, size: Math.ceil(bytes / ALIGN) * ALIGN };
    this.registry.register(view, range, view);
    this.live.set(view, range);
    return view;
  }

  /**
   * Hand an `allocF32` array's range back now instead of when the view is collected (a loop that makes
   * and drops many resident arrays synchronously never gives the collector's callbacks a turn). The
   * caller must not touch `view` afterwards: its memory is reused. Returns false (and does nothing) for
   * an array this arena did not allocate with `allocF32` or already freed.
   */
  freeF32(view: Float32Array): boolean {
    const range = this.live.get(view);
    if (!range) return false;
    this.live.delete(view);
    this.registry.unregister(view);
    this.release(range);
    return true;
  }

  /** A zeroed byte array of n bytes in wasm memory (e.g. quantized GGUF blocks); freed when collected. */
  allocU8(n: number): Uint8Array {
    const bytes = Math.max(n, 4);
    const start = this.grabRange(bytes);
    const view = new Uint8Array(this.memory.buffer, start, n);
    view.fill(0);
    this.registry.register(view, { start, size: Math.ceil(bytes / ALIGN) * ALIGN });
    return view;
  }

  /** A scratch range the caller uses and returns immediately (not tracked by GC). */
  scratch(bytes: number): { ptr: number; done: () => void } {
    const start = this.grabRange(bytes);
    const size = Math.ceil(bytes / ALIGN) * ALIGN;
    return { ptr: start, done: () => this.release({ start, size }) };
  }

  /** A fresh view of the whole memory (valid until the next growth adds more; old views stay valid). */
  f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }
}
