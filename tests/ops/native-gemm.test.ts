/**
 * The native backend's GEMM (OpenBLAS through koffi) against the float64 reference, through the one
 * entry `sgemm` with native selected: every transpose layout, odd sizes, batches with strides (one B
 * shared), alpha/beta, leading dimensions, operands in the shared wasm memory passed in place.
 * Tolerance: the rigorous float32 bound of gemm-check.ts. Also: the routing (native when native is
 * selected or its kernel runs, wasm otherwise, also for a wasm kernel that native fell back to), and
 * the fallback when the library cannot load (a child process with EFFLAB_BLAS_LIB=/nonexistent).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import * as o from '../../src/ops';
import { check, rng, type Case } from './gemm-check';
import { nativeSgemm } from '../../src/ops/native/sgemm';
import { createKernels } from '../../src/ops/wasm';
import { tinyLlama } from '../models/tiny-model';

const LAYOUTS: [boolean, boolean][] = [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
];

test('OpenBLAS loads here and native is what auto picks', () => {
  const why = o.backendUnavailableReason('native');
  assert.equal(why, undefined, `native cannot start: ${why}`);
  const blas = o.nativeBlas();
  assert.ok(blas);
  assert.match(blas.path, /libscipy_openblas/);
  assert.ok(blas.threads() >= 1 && blas.threads() <= Math.max(1, o.threadCount()));
  assert.equal(o.autoBackend(), 'native');
});

test('native sgemm: every layout, odd sizes (single products)', () =>
  o.withBackend('native', () => {
    const r = rng(3);
    const before = o.nativeGemmCalls();
    const sizes: [number, number, number][] = [
      [1, 1, 1],
      [1, 3, 17],
      [3, 17, 1],
      [17, 3, 129],
      [5, 9, 64],
      [1, 129, 260],
      [33, 70, 300],
      [200, 5, 300],
      [64, 384, 32],
    ];
    let n = 0;
    for (const [tA, tB] of LAYOUTS)
      for (const [M, N, K] of sizes) {
        check({}, { tA, tB, M, N, K }, r);
        n++;
      }
    assert.equal(o.nativeGemmCalls() - before, n, 'every product ran on OpenBLAS');
  }));

test('native sgemm: batches with strides (one B shared), alpha/beta, leading dimensions, arena operands', () =>
  o.withBackend('native', () => {
    const r = rng(8);
    for (const [tA, tB] of LAYOUTS) {
      const cases: [Case, boolean][] = [
        [{ tA, tB, M: 7, N: 13, K: 19, batch: 3 }, false],
        [{ tA, tB, M: 40, N: 48, K: 32, batch: 6, alpha: 0.125 }, true],
        [{ tA, tB, M: 9, N: 20, K: 24, batch: 4, strideB: 0, beta: 1 }, false],
        [
          {
            tA,
            tB,
            M: 30,
            N: 30,
            K: 24,
            batch: 2,
            lda: (tA ? 30 : 24) + 3,
            ldb: (tB ? 24 : 30) + 5,
            ldc: 32,
            strideC: 30 * 32 + 7,
            alpha: -2,
            beta: 0.5,
          },
          true,
        ],
        [{ tA, tB, M: 64, N: 64, K: 96, alpha: 1.5, beta: -1 }, true],
      ];
      for (const [c, arena] of cases) check({}, c, r, arena);
    }
  }));

test('native sgemm split over the pool (helpers run OpenBLAS parts): batches, column and row blocks', () => {
  const blas = o.nativeBlas();
  assert.ok(blas);
  // steal: false makes the helper run its part even when the caller could take it back.
  const k = createKernels({ threads: 2, steal: false });
  try {
    assert.equal(k.pool.blasHelpers, true);
    const r = rng(11);
    const run = (opts: object, c: Case, arena: boolean): void => {
      check(opts, c, r, arena, (A, B, C, g) => nativeSgemm(blas, A, B, C, g, k, 'pool'));
    };
    for (const [tA, tB] of LAYOUTS) {
      // row blocks (A outside the shared memory: only the helper's rows are copied)
      run({}, { tA, tB, M: 130, N: 200, K: 64 }, false);
      // column blocks (few rows), C with padded rows: the padding must survive the copy back
      run({}, { tA, tB, M: 10, N: 300, K: 400, ldc: 310 }, false);
      run({}, { tA, tB, M: 12, N: 400, K: 300, alpha: 0.5, beta: 1 }, true);
      // row blocks of an odd batch (3 products on 2 threads), padded C, beta 0 and beta ≠ 0
      for (const beta of [0, 0.5]) {
        run({}, { tA, tB, M: 64, N: 40, K: 150, batch: 3, ldc: 45, strideC: 64 * 45 + 3, beta }, false);
      }
      // whole products per thread, one B shared
      run({}, { tA, tB, M: 64, N: 64, K: 64, batch: 6, strideB: 0, beta: -1 }, false);
      const ld = { lda: (tA ? 100 : 64) + 3, ldb: (tB ? 64 : 100) + 5, ldc: 104 };
      run({}, { tA, tB, M: 100, N: 100, K: 64, batch: 2, ...ld, strideC: 100 * 104 + 7, beta: 0.5 }, true);
    }
  } finally {
    k.close();
  }
});

test("native sgemm on ordinary memory: 64+ rows on OpenBLAS's own threads (fewer on the pool), single-threaded after", () => {
  const blas = o.nativeBlas();
  assert.ok(blas);
  const k = createKernels({ threads: 2 });
  try {
    const r = rng(12);
    for (const [tA, tB] of LAYOUTS) {
      for (const c of [
        { tA, tB, M: 130, N: 200, K: 64 },
        { tA, tB, M: 10, N: 300, K: 400, ldc: 310 },
        { tA, tB, M: 64, N: 40, K: 150, batch: 3, ldc: 45, strideC: 64 * 45 + 3, beta: 0.5 },
      ]) {
        check({}, c, r, false, (A, B, C, g) => nativeSgemm(blas, A, B, C, g, k));
        assert.equal(blas.threads(), 1, 'OpenBLAS is back to one thread after the call');
      }
    }
  } finally {
    k.close();
  }
});

test('native sgemm: beta = 0 overwrites NaN in C; K = 0 gives beta·C', () =>
  o.withBackend('native', () => {
    const D = Float32Array.from([NaN, NaN]);
    o.sgemm(false, false, 1, 2, 1, Float32Array.from([2]), Float32Array.from([3, 4]), D);
    assert.deepEqual([...D], [6, 8]);
    const C = Float32Array.from([1, 2, 3, 4]);
    o.sgemm(false, false, 2, 2, 0, new Float32Array(0), new Float32Array(0), C, { beta: 3 });
    assert.deepEqual([...C], [3, 6, 9, 12]);
  }));

test('one switch: GEMMs run on OpenBLAS only when native runs the op or is selected for a direct sgemm', () => {
  const a = o.Tensor.from([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const w = o.Tensor.from([
    [1, 0, 1],
    [0, 1, 0],
  ]);
  const count = (b: o.BackendName, fn: () => unknown): number => {
    const n0 = o.nativeGemmCalls();
    o.withBackend(b, fn);
    return o.nativeGemmCalls() - n0;
  };
  assert.equal(
    count('native', () => o.linear(a, w)),
    1,
  );
  assert.equal(o.lastBackendRan('linear'), 'native');
  assert.equal(
    count('wasm', () => o.linear(a, w)),
    0,
  );
  assert.equal(o.lastBackendRan('linear'), 'wasm');
  assert.equal(
    count('native', () => o.matmul(a, w, { transB: true })),
    1,
  );
  assert.equal(
    count('native', () => o.cosineSimilarity(a, w)),
    1,
  );
  // A direct sgemm call follows the selected backend.
  const C = new Float32Array(4);
  assert.equal(
    count('native', () => o.sgemm(false, true, 2, 2, 3, a.data, w.data, C)),
    1,
  );
  assert.deepEqual([...C], [4, 2, 10, 5]);
  assert.equal(
    count('wasm', () => o.sgemm(false, true, 2, 2, 3, a.data, w.data, C)),
    0,
  );
  // Prefill-sized attention is two batched GEMMs per K/V group on OpenBLAS; decode-sized is declined.
  const q = o.Tensor.zeros([1, 12, 4, 16]);
  const kv = o.Tensor.zeros([1, 12, 2, 16]);
  assert.ok(count('native', () => o.attention(q, kv, kv, { causal: true })) >= 2);
  assert.equal(o.lastBackendRan('attention'), 'native');
  const q1 = o.Tensor.zeros([1, 1, 4, 16]);
  assert.equal(
    count('native', () => o.attention(q1, kv, kv)),
    0,
  );
  assert.equal(o.lastBackendRan('attention'), 'wasm');
});

test('one switch in a model: a decoder prefill under wasm never calls OpenBLAS; under native its linears do', () => {
  const m = tinyLlama();
  const ids = [3, 17, 5, 9, 21, 8, 30, 2, 11];
  const run = (b: o.BackendName): { calls: number; ran: Set<string>; logits: Float32Array } => {
    const n0 = o.nativeGemmCalls();
    const { value, calls } = o.traceBackends(() =>
      o.withBackend(b, () => {
        const logits = m.forward(ids, m.createCache(), { logits: 'last' }).logits;
        assert.ok(logits, 'logits requested');
        return logits.data;
      }),
    );
    return {
      calls: o.nativeGemmCalls() - n0,
      ran: new Set(calls.map((c) => `${c.op}:${c.ran}`)),
      logits: value,
    };
  };
  const w = run('wasm');
  const n = run('native');
  assert.equal(w.calls, 0);
  assert.ok(![...w.ran].some((r) => r.endsWith(':native')));
  assert.ok(n.calls > 0 && n.ran.has('linear:native') && n.ran.has('attention:native'), [...n.ran].join(' '));
  // Same maths on both engines: float32 sums in a different order (tolerance of the parity table × 10).
  for (let i = 0; i < w.logits.length; i++) {
    assert.ok(Math.abs(w.logits[i] - n.logits[i]) <= 2e-5 + 2e-4 * Math.abs(w.logits[i]), `logit ${i}`);
  }
});

/** Run a script in a child node with `env` added; returns its stdout (JSON). */
function child(script: string, env: Record<string, string>): unknown {
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
    env: { ...process.env, ...env },
    cwd: `${__dirname}/../..`,
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').pop() ?? 'null');
}

test('a bogus library path: native is unavailable with the reason, auto falls back to wasm, ops still run', () => {
  const r = child(
    `const o = require('./src/ops');
     const why = o.backendUnavailableReason('native');
     let setErr = '';
     try { o.setBackend('native'); } catch (e) { setErr = e.name + ': ' + e.message; }
     o.setBackend('auto');
     const y = o.linear(o.Tensor.from([[1, 2]]), o.Tensor.from([[3, 4]]));
     console.log(JSON.stringify({ why, setErr, auto: o.autoBackend(), available: o.availableBackends(),
       y: Array.from(y.data), ran: o.lastBackendRan('linear'), calls: o.nativeGemmCalls() }));`,
    { EFFLAB_BLAS_LIB: '/nonexistent/libopenblas.so', EFFLAB_BACKEND: '' },
  ) as {
    why: string;
    setErr: string;
    auto: string;
    available: string[];
    y: number[];
    ran: string;
    calls: number;
  };
  assert.match(r.why, /OpenBLAS not found.*EFFLAB_BLAS_LIB=\/nonexistent/);
  assert.match(r.setErr, /^BackendError: .*native.*unavailable/);
  assert.equal(r.auto, 'wasm');
  assert.ok(!r.available.includes('native') && r.available.includes('wasm'));
  assert.deepEqual(r.y, [11]);
  assert.equal(r.ran, 'wasm');
  assert.equal(r.calls, 0);
});

test('a file that is not a library: unavailable with the loader error, wasm runs', () => {
  const r = child(
    `const o = require('./src/ops');
     console.log(JSON.stringify({ why: o.backendUnavailableReason('native'), auto: o.autoBackend() }));`,
    { EFFLAB_BLAS_LIB: __filename, EFFLAB_BACKEND: '' },
  ) as { why: string; auto: string };
  assert.match(r.why, /did not load/);
  assert.equal(r.auto, 'wasm');
});

test('no import-time cost: koffi and OpenBLAS load only when native is asked for', () => {
  const r = child(
    `const o = require('./src/ops');
     const k = () => Object.keys(require.cache).some((p) => p.includes('/koffi/'));
     const atImport = k();
     o.withBackend('wasm', () => o.matmul(o.Tensor.from([[1]]), o.Tensor.from([[2]])));
     const afterWasm = k();
     const auto = o.autoBackend();
     console.log(JSON.stringify({ atImport, afterWasm, auto, afterAuto: k() }));`,
    { EFFLAB_BACKEND: 'wasm' },
  ) as { atImport: boolean; afterWasm: boolean; auto: string; afterAuto: boolean };
  assert.equal(r.atImport, false);
  assert.equal(r.afterWasm, false);
  assert.equal(r.auto, 'native');
  assert.equal(r.afterAuto, true);
});
