/**
 * y = x · Wᵀ (+ b) with the WebAssembly SIMD kernel of linear.wat: 4 rows of x share each 128-bit
 * weight load; single rows (decode) use four independent accumulators. Weights allocated in the
 * arena (`allocWeights`) are read in place; other operands are copied into scratch memory.
 */
import { Tensor } from '../../ops/tensor';
import { linearJs } from '../linear';
import { WasmArena } from './arena';
import { LINEAR_WASM_BASE64 } from './linear-wasm-bytes';
import { LinearPool, threadCount } from './pool';
import { wasmApi } from './wasm-api';

type LinearFn = (
  x: number,
  w: number,
  b: number,
  out: number,
  M: number,
  K: number,
  N: number,
  j0: number,
  j1: number,
) => void;

interface Runtime {
  arena: WasmArena;
  linear: LinearFn;
  pool: LinearPool;
}

/** Bytes of x rows processed per kernel call (cache blocking over M). */
const ROW_BLOCK_BYTES = 192 * 1024;

let runtime: Runtime | null | undefined;
let failure = '';

function init(): Runtime | null {
  if (runtime !== undefined) return runtime;
  try {
    const api = wasmApi();
    if (!api) throw new Error('no WebAssembly in this runtime');
    const arena = new WasmArena();
    const bytes = new Uint8Array(Buffer.from(LINEAR_WASM_BASE64, 'base64'));
    const mod = new api.Module(bytes);
    const inst = new api.Instance(mod, { env: { mem: arena.memory } });
    const pool = new LinearPool(arena.memory, bytes, threadCount());
    runtime = { arena, linear: inst.exports.linear as LinearFn, pool };
  } catch (e) {
    failure = (e as Error).message;
    runtime = null;
  }
  return runtime;
}

/** Why the wasm kernel is unavailable here, or undefined if it runs. */
export function wasmLinearUnavailableReason(): string | undefined {
  return init() ? undefined : `WebAssembly SIMD / shared memory unavailable: ${failure}`;
}

/** Threads the wasm linear kernel uses (1 where wasm is unavailable). */
export function wasmLinearThreads(): number {
  return init()?.pool.threads ?? 1;
}

/** The process-wide weight arena (undefined where wasm cannot run). */
export function weightArena(): WasmArena | undefined {
  return init()?.arena;
}

/** A float32 buffer for weights: in the wasm arena when available (read in place by the kernel). */
export function allocWeights(n: number): Float32Array {
  const rt = init();
  return rt ? rt.arena.allocF32(n) : new Float32Array(n);
}

/** y = x · Wᵀ + b with the SIMD kernel; falls back to `linearJs` where wasm is unavailable or K % 4 ≠ 0. */
export function linearWasm(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  const rt = init();
  const K = w.shape[1];
  if (!rt || w.rank !== 2 || K % 4 !== 0 || x.shape[x.rank - 1] !== K || (bias && bias.size !== w.shape[0])) {
    return linearJs(x, w, bias, what);
  }
  const N = w.shape[0];
  const M = K === 0 ? 0 : x.size / K;
  const { arena } = rt;
  const needW = arena.owns(w.data) ? 0 : 4 * w.size;
  const needB = bias ? (arena.owns(bias.data) ? 0 : 4 * N) : 0;
  const s = arena.scratch(4 * x.size + 4 * M * N + needW + needB + 64);
  try {
    const mem = arena.f32();
    const xPtr = s.ptr;
    const outPtr = xPtr + 4 * x.size;
    let wPtr = w.data.byteOffset;
    let bPtr = bias ? bias.data.byteOffset : 0;
    let next = outPtr + 4 * M * N;
    mem.set(x.data, xPtr / 4);
    if (needW) {
      wPtr = next;
      mem.set(w.data, wPtr / 4);
      next += needW;
    }
    if (bias && needB) {
      bPtr = next;
      mem.set(bias.data, bPtr / 4);
    }
    // Row blocks of x small enough to stay in L2 while every weight row streams past them.
    const block = Math.max(4, Math.floor(ROW_BLOCK_BYTES / (4 * K) / 4) * 4);
    for (let i0 = 0; i0 < M; i0 += block) {
      const rows = Math.min(block, M - i0);
      rt.pool.run(rt.linear, xPtr + 4 * i0 * K, wPtr, bPtr, outPtr + 4 * i0 * N, rows, K, N);
    }
    return new Tensor(mem.slice(outPtr / 4, outPtr / 4 + M * N), [...x.shape.slice(0, -1), N]);
  } finally {
    s.done();
  }
}
