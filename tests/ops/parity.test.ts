/**
 * The parity table: every dispatched op × every compute backend (gl, native, wasm, js) against the float64
 * reference (the `reference` backend) and, where a numpy/scipy fixture exists, against numpy too.
 * A backend that cannot start fails every one of its rows with the reason (never skipped, never
 * dropped: the loop is over the fixed list COMPUTE_BACKENDS, not over what happens to be available).
 * Each row also checks which backend actually ran the op: the backend itself, or the fallback the
 * registry documents (e.g. wasm → js for ops without a wasm kernel; native → wasm for ops without a
 * native kernel and for the decode-shaped calls native declines).
 *
 * Tolerances, |ours − ref| ≤ factor·(atol + rtol·|ref|): every backend computes in float32 (ε ≈ 1.2e-7)
 * and errors grow with reduction length (≤ 64 here) and transcendental functions. js and wasm
 * accumulate in float64 or with SIMD partial sums, native (OpenBLAS) in float32 with AVX-512 FMA
 * partial sums: rtol 2e-5, atol 2e-6. gl: GLSL exp/log/pow are
 * implementation-defined to a few ulp and sums are float32: rtol 1e-4, atol 1e-5. `factor` widens a row
 * where the values grow (logits of scale 30, K = 33 dot products).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../src/ops';
import { assertClose, fixtures, lcgTensor, quantMatrix, tensorOf, TOLERANCE } from './helpers';

const F = fixtures();
after(() => o.disposeBackends());

type Result = o.Tensor | Int32Array;

interface Row {
  /** The dispatched op this row exercises (checked against the registry's report). */
  op: o.OpName;
  name: string;
  run: () => Result;
  /** Independent expectation (numpy/scipy fixture), when there is one. */
  numpy?: () => Result;
  factor?: number;
  /** Extra assertion on the backend's result (e.g. the case is discriminative). */
  check?: (got: Result, backend: o.BackendName) => void;
}

const T = o.Tensor.from;
const rows: Row[] = [];
const add = (r: Row): void => {
  rows.push(r);
};

// matmul: four layouts, batch broadcast, register-blocked and per-cell shapes, odd sizes.
for (const [name, opts] of [
  ['matmul_nn', {}],
  ['matmul_nt', { transB: true }],
  ['matmul_tn', { transA: true }],
  ['matmul_tt', { transA: true, transB: true }],
  ['matmul_bcast', {}],
] as [string, o.MatmulOptions][]) {
  const c = F[name];
  add({
    op: 'matmul',
    name,
    run: () => o.matmul(tensorOf(c.a), tensorOf(c.b), opts),
    numpy: () => tensorOf(c.out),
    factor: 4,
  });
}
for (const M of [1, 2, 5, 8]) {
  const a = lcgTensor([M, 12], 10 + M);
  const b = lcgTensor([7, 12], 20 + M);
  add({ op: 'matmul', name: `matmul M=${M} transB`, run: () => o.matmul(a, b, { transB: true }), factor: 4 });
}
// Issue 15 item 10: the single-row, non-transposed product (GL's per-cell kernel) with its value checked.
add({
  op: 'matmul',
  name: 'matmul 1×2 · 2×1 = 11',
  run: () => o.matmul(T([[1, 2]]), T([[3], [4]])),
  numpy: () => T([[11]]),
});
add({
  op: 'matmul',
  name: 'matmul odd [3,13,21]·[21,11]',
  run: () => o.matmul(lcgTensor([3, 13, 21], 5), lcgTensor([21, 11], 6)),
  factor: 4,
});
add({
  op: 'linear',
  name: 'linear with bias, rank-3 input',
  run: () => o.linear(lcgTensor([2, 5, 12], 31), lcgTensor([9, 12], 32), lcgTensor([9], 33)),
  factor: 4,
});

// elementwise
{
  const c = F.binary;
  for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
    add({
      op: 'binary',
      name: `binary ${op}`,
      run: () => o.binary(op, tensorOf(c.a), tensorOf(c.b)),
      numpy: () => tensorOf(c[op]),
    });
  }
  add({
    op: 'binary',
    name: 'binary pow',
    run: () => o.binary('pow', tensorOf(c.pos), tensorOf(c.b)),
    numpy: () => tensorOf(c.pow),
    factor: 4,
  });
  const u = F.unary;
  for (const op of ['exp', 'abs', 'neg', 'relu', 'sigmoid', 'tanh', 'square'] as const) {
    add({
      op: 'unary',
      name: `unary ${op}`,
      run: () => o.unary(op, tensorOf(u.x)),
      numpy: () => tensorOf(u[op]),
      factor: 2,
    });
  }
  for (const op of ['log', 'sqrt', 'reciprocal'] as const) {
    add({
      op: 'unary',
      name: `unary ${op}`,
      run: () => o.unary(op, tensorOf(u.pos)),
      numpy: () => tensorOf(u[op]),
      factor: 2,
    });
  }
}

// softmax family: large logits (scale 30), then scale 1 at a tight tolerance (issue 15 item 4).
{
  const c = F.softmax;
  add({
    op: 'rowSoftmax',
    name: 'softmax, logits scale 30',
    run: () => o.softmax(tensorOf(c.x)),
    numpy: () => tensorOf(c.softmax),
  });
  // log-space values are O(100) here: the tolerance scales with the logits' magnitude.
  add({
    op: 'rowSoftmax',
    name: 'logSoftmax, scale 30',
    run: () => o.logSoftmax(tensorOf(c.x)),
    numpy: () => tensorOf(c.log_softmax),
    factor: 4,
  });
  add({
    op: 'rowSoftmax',
    name: 'logSumExp, scale 30',
    run: () => o.logSumExp(tensorOf(c.x)),
    numpy: () => tensorOf(c.logsumexp),
    factor: 4,
  });
  const s1 = F.softmax_scale1;
  add({
    op: 'rowSoftmax',
    name: 'logSumExp, scale 1 (tells logsumexp from the row max)',
    run: () => o.logSumExp(tensorOf(s1.x)),
    numpy: () => tensorOf(s1.logsumexp),
    factor: 1,
    check: (got, backend) => {
      // The fixture is discriminative: every row's logsumexp exceeds its max by ≫ the tolerance.
      const lse = tensorOf(s1.logsumexp).data;
      const mx = tensorOf(s1.rowmax).data;
      const { atol, rtol } = TOLERANCE[backend];
      for (let r = 0; r < lse.length; r++) assert.ok(lse[r] - mx[r] > 100 * (atol + rtol * Math.abs(lse[r])));
      // The constant row: log(50) + 0.75 exactly.
      assert.ok(Math.abs((got as o.Tensor).data[0] - (Math.log(50) + 0.75)) <= atol + rtol * 5);
    },
  });
  add({
    op: 'rowSoftmax',
    name: 'logSoftmax, scale 1',
    run: () => o.logSoftmax(tensorOf(s1.x)),
    numpy: () => tensorOf(s1.log_softmax),
  });
  add({
    op: 'rowSoftmax',
    name: 'softmax, scale 1',
    run: () => o.softmax(tensorOf(s1.x)),
    numpy: () => tensorOf(s1.softmax),
  });
  const masked = T([
    [0, -Infinity, 1],
    [-Infinity, 2, -Infinity],
  ]);
  add({
    op: 'rowSoftmax',
    name: 'softmax with -Infinity (masked) logits',
    run: () => o.softmax(masked),
    numpy: () =>
      T([
        [1 / (1 + Math.E), 0, Math.E / (1 + Math.E)],
        [0, 1, 0],
      ]),
    check: (got) => assert.equal((got as o.Tensor).data[1], 0),
  });
  add({
    op: 'rowSoftmax',
    name: 'logSoftmax keeps -Infinity for masked logits',
    run: () => o.logSoftmax(masked),
    check: (got) => assert.equal((got as o.Tensor).data[1], -Infinity),
  });
}

// norms: ordinary rows, then near-zero-variance rows where ε decides the result (issue 15 item 5).
{
  const c = F.norm;
  add({
    op: 'rmsNorm',
    name: 'rmsNorm',
    run: () => o.rmsNorm(tensorOf(c.x), tensorOf(c.w), 1e-5),
    numpy: () => tensorOf(c.rms),
    factor: 2,
  });
  add({
    op: 'layerNorm',
    name: 'layerNorm',
    run: () => o.layerNorm(tensorOf(c.x), tensorOf(c.w), tensorOf(c.b), 1e-12),
    numpy: () => tensorOf(c.layer),
    factor: 2,
  });
  const z = F.norm_small;
  const apart = (a: unknown, b: unknown, backend: o.BackendName): void => {
    // The two ε give results further apart than 100 tolerances: the row tells ε = 1e-5 from 1e-12.
    const x = tensorOf(a).data;
    const y = tensorOf(b).data;
    const { atol, rtol } = TOLERANCE[backend];
    let worst = 0;
    for (let i = 0; i < x.length; i++)
      worst = Math.max(worst, Math.abs(x[i] - y[i]) / (atol + rtol * Math.abs(x[i])));
    assert.ok(worst > 100, `fixture does not separate the two ε (${worst})`);
  };
  for (const eps of [1e-5, 1e-12]) {
    add({
      op: 'rmsNorm',
      name: `rmsNorm near-zero mean square, ε = ${eps}`,
      run: () => o.rmsNorm(tensorOf(z.x_rms), tensorOf(z.w), eps),
      numpy: () => tensorOf(z[`rms_${eps === 1e-5 ? '1e-5' : '1e-12'}`]),
      factor: 2,
      check: (_g, b) => apart(z['rms_1e-5'], z['rms_1e-12'], b),
    });
    add({
      op: 'layerNorm',
      name: `layerNorm near-zero variance, ε = ${eps}`,
      run: () => o.layerNorm(tensorOf(z.x_ln), tensorOf(z.w), tensorOf(z.b), eps),
      numpy: () => tensorOf(z[`ln_${eps === 1e-5 ? '1e-5' : '1e-12'}`]),
      // Rows of 0.25 ± 1e-3: float32 mean/deviation rounding is ~1e-4 relative to the deviations.
      factor: 10,
      check: (_g, b) => apart(z['ln_1e-5'], z['ln_1e-12'], b),
    });
  }
}

// activations
{
  const c = F.activation;
  add({
    op: 'activation',
    name: 'silu',
    run: () => o.silu(tensorOf(c.x)),
    numpy: () => tensorOf(c.silu),
    factor: 2,
  });
  // A&S 7.1.26 erf: |Δerf| ≤ 1.5e-7, so |ΔGELU| ≤ 0.5·|x|·1.5e-7 ≤ 1e-6 for |x| ≤ 12.
  add({
    op: 'activation',
    name: 'gelu (erf)',
    run: () => o.gelu(tensorOf(c.x)),
    numpy: () => tensorOf(c.gelu),
    factor: 2,
  });
  add({
    op: 'activation',
    name: 'gelu (tanh)',
    run: () => o.geluTanh(tensorOf(c.x)),
    numpy: () => tensorOf(c.gelu_tanh),
    factor: 2,
  });
  add({
    op: 'swiglu',
    name: 'swiglu = silu(g)·u',
    run: () => o.swiglu(lcgTensor([4, 33], 41, 4), lcgTensor([4, 33], 42, 2)),
    numpy: () => o.mul(o.activationReference('silu', lcgTensor([4, 33], 41, 4)), lcgTensor([4, 33], 42, 2)),
    factor: 2,
  });
}

// RoPE, half and interleaved pairing, long positions.
{
  const c = F.rope;
  const x = tensorOf(c.x);
  const tables = o.ropeTables(c.positions as number[], o.ropeInvFreq(x.shape[2], c.base as number));
  add({
    op: 'rope',
    name: 'rope half',
    run: () => o.applyRope(x, tables, 'half'),
    numpy: () => tensorOf(c.half),
  });
  add({
    op: 'rope',
    name: 'rope interleaved',
    run: () => o.applyRope(x, tables, 'interleaved'),
    numpy: () => tensorOf(c.interleaved),
  });
}

// attention
{
  const c = F.attention;
  const [q, k, v] = [tensorOf(c.q), tensorOf(c.k), tensorOf(c.v)];
  add({
    op: 'attention',
    name: 'causal GQA attention, query offset 2',
    run: () => o.attention(q, k, v, { causal: true, queryOffset: 2 }),
    numpy: () => tensorOf(c.causal),
    factor: 2,
  });
  add({
    op: 'attention',
    name: 'key-masked attention',
    run: () => o.attention(q, k, v, { keyMask: tensorOf(c.mask) }),
    numpy: () => tensorOf(c.masked),
    factor: 2,
  });
  add({
    op: 'attentionProbs',
    name: 'causal attention probabilities',
    run: () => o.attentionProbs(q, k, v, { causal: true, queryOffset: 2 }),
    factor: 2,
  });
}

// Prefill-sized attention (T ≥ 8): the wasm backend's two-GEMM form, causal GQA with padding keys masked.
{
  const q = lcgTensor([2, 12, 6, 16], 71);
  const k = lcgTensor([2, 15, 2, 16], 72);
  const v = lcgTensor([2, 15, 2, 16], 73);
  const keyMask = new o.Tensor(
    Float32Array.from({ length: 30 }, (_, i) => (i === 1 || i === 17 ? 0 : 1)),
    [2, 15],
  );
  add({
    op: 'attention',
    name: 'causal GQA attention, 12 queries with offset 3, key mask',
    run: () => o.attention(q, k, v, { causal: true, queryOffset: 3, keyMask }),
    factor: 2,
  });
}

// The wasm SIMD row kernels: lengths that are not multiples of 4 (the scalar tails), saturating
// arguments (|x| up to 30: e^(−x) near its clamp), model-sized rows (576 = SmolLM2, 384 = MiniLM).
{
  const x = lcgTensor([1003], 91, 30);
  const u = lcgTensor([1003], 92, 3);
  add({ op: 'activation', name: 'silu, 1003 values in [−30, 30]', run: () => o.silu(x), factor: 2 });
  // |ΔGELU| ≤ 0.5·|x|·1.5e-7 (A&S erf) ≤ 2.3e-6 at |x| = 30: factor 2 on atol 2e-6 covers it.
  add({ op: 'activation', name: 'gelu (erf), 1003 values in [−30, 30]', run: () => o.gelu(x), factor: 2 });
  add({ op: 'swiglu', name: 'swiglu, 1003 values', run: () => o.swiglu(x, u), factor: 2 });
  // Prefill-sized (48 × 1,001 = 48,048 values, odd so the split leaves a ragged tail): wasm and native
  // split it over the pool's threads.
  const gBig = lcgTensor([48, 1001], 95, 4);
  const uBig = lcgTensor([48, 1001], 96, 2);
  add({ op: 'swiglu', name: 'swiglu, 48,048 values (threaded)', run: () => o.swiglu(gBig, uBig), factor: 2 });
  for (const [rows, cols] of [
    [5, 23],
    [3, 576],
    [4, 384],
  ]) {
    const xs = lcgTensor([rows, cols], 93 + cols, 4);
    const w = lcgTensor([cols], 94 + cols);
    const b = lcgTensor([cols], 95 + cols);
    add({ op: 'rmsNorm', name: `rmsNorm [${rows}, ${cols}]`, run: () => o.rmsNorm(xs, w, 1e-5), factor: 2 });
    add({
      op: 'layerNorm',
      name: `layerNorm [${rows}, ${cols}]`,
      run: () => o.layerNorm(xs, w, b, 1e-12),
      factor: 2,
    });
  }
}

// Attention large enough for the wasm batched GEMMs to split across threads (≥ 2^18 multiply-adds per
// call): BERT-shaped (12 heads, no grouping, padding keys masked) and SmolLM2-shaped (9/3 heads, causal).
{
  const q = lcgTensor([2, 40, 12, 32], 81);
  const k = lcgTensor([2, 40, 12, 32], 82);
  const v = lcgTensor([2, 40, 12, 32], 83);
  const keyMask = new o.Tensor(
    Float32Array.from({ length: 80 }, (_, i) => (i >= 33 && i < 40 ? 0 : 1)),
    [2, 40],
  );
  add({
    op: 'attention',
    name: 'BERT-shaped attention [2, 40, 12, 32], padded keys masked',
    run: () => o.attention(q, k, v, { keyMask }),
    factor: 2,
  });
  const qc = lcgTensor([1, 64, 9, 64], 84);
  const kc = lcgTensor([1, 64, 3, 64], 85);
  const vc = lcgTensor([1, 64, 3, 64], 86);
  add({
    op: 'attention',
    name: 'SmolLM2-shaped causal GQA prefill [1, 64, 9/3, 64]',
    run: () => o.attention(qc, kc, vc, { causal: true }),
    factor: 4,
  });
  // Several causal query blocks (64 rows each, the last partial) after held keys, batch 2, and the same
  // shapes without the causal mask: the blocked products and the threaded softmax rows.
  const qb = lcgTensor([2, 150, 6, 16], 87);
  const kb = lcgTensor([2, 170, 2, 16], 88);
  const vb = lcgTensor([2, 170, 2, 16], 89);
  add({
    op: 'attention',
    name: 'causal GQA attention in query blocks [2, 150, 6/2, 16], offset 20',
    run: () => o.attention(qb, kb, vb, { causal: true, queryOffset: 20 }),
    factor: 4,
  });
  add({
    op: 'attention',
    name: 'unmasked GQA attention [2, 150, 6/2, 16] over 170 keys',
    run: () => o.attention(qb, kb, vb),
    factor: 4,
  });
}

// cosine, top-k, reductions
{
  const c = F.cosine;
  add({
    op: 'cosine',
    name: 'cosine matrix',
    run: () => o.cosineSimilarity(tensorOf(c.a), tensorOf(c.b)),
    numpy: () => tensorOf(c.out),
  });
  const t = F.topk;
  add({
    op: 'topk',
    name: 'top-k indices with ties (value desc, then lower index)',
    run: () => o.topk(tensorOf(t.x), t.k as number).indices,
    numpy: () => Int32Array.from((t.indices as number[][]).flat()),
  });
  add({
    op: 'topk',
    name: 'top-k with -Infinity entries',
    run: () => o.topk(T([[-Infinity, 3, -Infinity, 3, 1]]), 4).indices,
    numpy: () => Int32Array.from([1, 3, 4, 0]),
  });
  const r = F.reduce;
  for (const op of ['sum', 'mean', 'variance', 'max', 'min'] as const) {
    for (let axis = 0; axis < 3; axis++) {
      add({
        op: 'reduce',
        name: `${op} axis ${axis}`,
        run: () => o.reduce(op, tensorOf(r.x), axis),
        numpy: () => tensorOf(r[`${op}_${axis}`]),
      });
    }
  }
  add({
    op: 'reduce',
    name: 'variance ddof 1, odd sizes',
    run: () => o.reduce('variance', lcgTensor([3, 13, 21], 7, 5), 1, { ddof: 1 }),
  });
}

// RNG: bit-identical to an independent integer implementation (numpy), and dropout masks.
{
  const c = F.rng_words;
  const words: [number, number] = [c.s0 as number, c.s1 as number];
  const values = c.values as number[];
  add({
    op: 'random',
    name: 'uniform stream equals the integer implementation bit for bit',
    run: () => o.randomUniform([values.length], 0, { words }),
    numpy: () => new o.Tensor(Float32Array.from(values), [values.length]),
    check: (got) =>
      assert.deepEqual(
        Array.from((got as o.Tensor).data),
        values.map((x) => Math.fround(x)),
      ),
  });
  const streams = (): o.Tensor => {
    const parts: number[] = [];
    for (const n of [1, 3, 4, 7, 1003]) {
      for (const [p, seed, stream] of [
        [0.1, 1, 0],
        [0, 7, 2],
        [0.3333, -5, 123456],
      ] as const) {
        parts.push(
          ...o.dropoutMask([n], p, seed, { stream }).data,
          ...o.randomUniform([n], seed, { stream }).data,
        );
      }
    }
    return new o.Tensor(Float32Array.from(parts), [parts.length]);
  };
  add({
    op: 'random',
    name: 'dropout masks and uniform streams equal the reference bit for bit (SIMD tails, p = 0, any seed)',
    run: streams,
    check: (got) =>
      assert.deepEqual(
        Array.from((got as o.Tensor).data),
        Array.from(o.withBackend('reference', streams).data),
      ),
  });
  add({
    op: 'random',
    name: 'dropout mask: exact, keep rate and scale',
    run: () => o.dropoutMask([64, 128], 0.25, 99, { stream: 3 }),
    check: (got) => {
      const d = (got as o.Tensor).data;
      const kept = d.filter((x) => x > 0);
      // Binomial(8192, 0.75): sd ≈ 0.0048, so ±0.02 is beyond 4 sd.
      assert.ok(Math.abs(kept.length / d.length - 0.75) < 0.02);
      assert.ok(kept.every((x) => Math.abs(x - 1 / 0.75) < 1e-6));
    },
  });
}

// fused low-rank ops (LoRC, chapter 5)
{
  const B = 2;
  const S = 5;
  const Hkv = 2;
  const D = 8;
  const dc = 6;
  const c = lcgTensor([B, S, dc], 51);
  const basis = lcgTensor([Hkv * D, dc], 52);
  const tables = o.ropeTables([3, 4, 5, 6, 7], o.ropeInvFreq(D));
  for (const style of ['half', 'interleaved'] as const) {
    add({
      op: 'reconstructRope',
      name: `reconstruct + RoPE, ${style}`,
      run: () => o.reconstructRope(c, basis, tables, Hkv, style),
      factor: 2,
    });
  }
  const q = lcgTensor([B, 2, 4, D], 53);
  const keys = lcgTensor([B, S, Hkv, D], 54);
  const cv = lcgTensor([B, S, dc], 55);
  const folded = lcgTensor([4 * dc, 7], 56);
  add({
    op: 'foldedAttention',
    name: 'folded attention (Eq. 5.9)',
    run: () => o.foldedAttention(q, keys, cv, folded, 2),
    factor: 4,
  });
}

// The PTLoss proxy-teacher solve (Eqs. 4.17-4.19), C = 3, orders ≤ 3: reduced logits of 40 examples × 4
// coefficient sets. gl solves in float32 to a relative residual of 1e-5 (its logits agree to ~1e-5).
{
  const n = 40;
  const teacher = new Float64Array(n * 3);
  const logits = new Float64Array(n * 3);
  const u = lcgTensor([n, 3], 81, 1.5).data;
  for (let i = 0; i < n; i++) {
    const e = [0, 1, 2].map((j) => Math.exp(u[i * 3 + j]));
    const z = e[0] + e[1] + e[2];
    for (let j = 0; j < 3; j++) {
      teacher[i * 3 + j] = e[j] / z;
      logits[i * 3 + j] = Math.log(e[j] / z);
    }
  }
  const eps = Float64Array.from(lcgTensor([4, 3, 3], 82, 1).data, (x) => 1 + x);
  add({
    op: 'proxySolve',
    name: 'PTLoss proxy solve (C = 3, M = 3)',
    run: () => {
      const r = o.proxySolve({
        teacher,
        teacherLogits: logits,
        eps,
        examples: n,
        classes: 3,
        order: 3,
        trials: 4,
        settings: { ...o.DEFAULT_SOLVER, tolerance: 1e-5 },
      });
      assert.ok(
        r.converged.every((c) => c === 1),
        'every example converged',
      );
      return new o.Tensor(Float32Array.from(r.logits), [4 * n, 2]);
    },
    factor: 10,
  });
}

// Quantized linear layers (GGUF Q8_0 and Q4_1 blocks): the wasm kernels decode the blocks on their own,
// the reference decodes them in plain TS (src/ops/quant-linear.ts), so this row checks one against the other.
{
  const rows = 24;
  const cols = 64;
  const quant = (type: o.QuantType, seed: number): o.QuantMatrix => quantMatrix(type, rows, cols, seed);
  for (const type of ['q8_0', 'q4_1'] as const) {
    const w = quant(type, type === 'q8_0' ? 91 : 92);
    for (const m of [1, 9]) {
      add({
        op: 'quantLinear',
        name: `quantized linear ${type}, ${m} row(s), with bias`,
        run: () => o.quantLinear(lcgTensor([m, cols], 93 + m), w, lcgTensor([rows], 94)),
        factor: 4,
      });
    }
  }
}

/**
 * The backends that may run `op` when `backend` is selected: the first of its chain with a kernel, and,
 * while that one may decline a call (native passes decode-shaped calls with no GEMM inside to wasm;
 * which calls is checked in 'native declines …'), the next one with a kernel.
 */
function possibleRunners(backend: o.BackendName, op: o.OpName): o.BackendName[] {
  const out: o.BackendName[] = [];
  for (const b of o.FALLBACK[backend]) {
    if (!o.hasKernel(b, op)) continue;
    out.push(b);
    if (!o.mayDecline(b, op)) break;
  }
  return out;
}

function compare(got: Result, want: Result, backend: o.BackendName, what: string, factor: number): void {
  if (want instanceof Int32Array) {
    assert.ok(got instanceof Int32Array, `${what}: expected indices`);
    assert.deepEqual(Array.from(got), Array.from(want), what);
    return;
  }
  assert.ok(got instanceof o.Tensor, `${what}: expected a tensor`);
  assertClose(got, want, backend, what, factor);
}

test('the table covers every dispatched op', () => {
  const covered = new Set(rows.map((r) => r.op));
  assert.deepEqual(
    o.OP_NAMES.filter((op) => !covered.has(op)),
    [],
  );
});

for (const backend of o.COMPUTE_BACKENDS) {
  describe(`parity on ${backend}`, () => {
    test(`${backend} starts here`, () => {
      const why = o.backendUnavailableReason(backend);
      assert.equal(why, undefined, `backend ${backend} cannot start: ${why}`);
    });
    for (const row of rows) {
      test(row.name, () => {
        const why = o.backendUnavailableReason(backend);
        assert.equal(why, undefined, `backend ${backend} cannot start: ${why}`);
        const { value: got, calls } = o.traceBackends(() => o.withBackend(backend, row.run));
        const want = o.withBackend('reference', row.run);
        compare(got, want, backend, `${row.name} vs reference`, row.factor ?? 1);
        if (row.numpy) compare(got, row.numpy(), backend, `${row.name} vs numpy`, row.factor ?? 1);
        row.check?.(got, backend);
        const mine = calls.filter((c) => c.op === row.op);
        assert.ok(mine.length > 0, `${row.name}: op ${row.op} was not dispatched`);
        const expected = possibleRunners(backend, row.op);
        for (const call of mine) {
          assert.equal(call.requested, backend);
          assert.ok(
            expected.includes(call.ran),
            `${row.op} ran on ${call.ran}, expected ${expected.join(' or ')}`,
          );
        }
      });
    }
  });
}

test('gl and js run their own kernel for every op they list; the fallbacks are the documented ones', () => {
  assert.deepEqual(
    o.OP_NAMES.filter((op) => !o.hasKernel('js', op)),
    [],
    'js implements every op',
  );
  assert.deepEqual(
    o.OP_NAMES.filter((op) => !o.hasKernel('gl', op)),
    ['quantLinear'],
    'gl lacks only quantLinear (it runs on wasm, else js)',
  );
  for (const op of o.OP_NAMES) {
    if (!o.hasKernel('wasm', op)) assert.equal(o.resolveKernelBackend('wasm', op), 'js');
  }
});

test('native runs the GEMM-shaped ops on OpenBLAS and passes every other op to wasm', () => {
  const why = o.backendUnavailableReason('native');
  assert.equal(why, undefined, `native cannot start: ${why}`);
  assert.deepEqual(o.OP_NAMES.filter((op) => o.hasKernel('native', op)).sort(), [
    'attention',
    'cosine',
    'foldedAttention',
    'linear',
    'matmul',
    'quantLinear',
    'reconstructRope',
  ]);
  for (const op of o.OP_NAMES) {
    if (!o.hasKernel('native', op)) {
      assert.equal(o.resolveKernelBackend('native', op), o.resolveKernelBackend('wasm', op), op);
    }
  }
  assert.deepEqual(o.FALLBACK.native, ['native', 'wasm', 'js', 'reference']);
});

test('native declines the decode shapes (no GEMM inside) and reports wasm for them, native otherwise', () => {
  const ran = (fn: () => unknown, op: o.OpName): o.BackendName[] =>
    o
      .traceBackends(() => o.withBackend('native', fn))
      .calls.filter((c) => c.op === op)
      .map((c) => c.ran);
  const att = (t: number): o.Tensor => lcgTensor([1, t, 4, 16], 70 + t);
  const kv = lcgTensor([1, 24, 2, 16], 79);
  assert.deepEqual(
    ran(() => o.attention(att(1), kv, kv, { causal: true, queryOffset: 23 }), 'attention'),
    ['wasm'],
  );
  assert.deepEqual(
    ran(() => o.attention(att(12), kv, kv, { causal: true, queryOffset: 12 }), 'attention'),
    ['native'],
  );
  assert.deepEqual(
    ran(() => o.matmul(att(1).reshape([4, 16]), kv.reshape([48, 16]), { transB: true }), 'matmul'),
    ['native'],
  );
  // Folded attention (Eq. 5.9): decode-sized queries as GEMMs on OpenBLAS, prefill-sized on wasm.
  const cv = lcgTensor([1, 24, 5], 80);
  const folded = lcgTensor([4 * 5, 6], 81);
  assert.deepEqual(
    ran(() => o.foldedAttention(att(1), kv, cv, folded, 23), 'foldedAttention'),
    ['native'],
  );
  assert.deepEqual(
    ran(() => o.foldedAttention(att(12), kv, cv, folded, 12), 'foldedAttention'),
    ['wasm'],
  );
});

test('a chain of GL ops stays resident: no host copy until the result is read', () => {
  o.withBackend('gl', () => {
    const a = lcgTensor([8, 16], 61);
    const b = lcgTensor([16, 8], 62);
    const h = o.matmul(a, b);
    const y = o.softmax(o.silu(h));
    assert.equal(h.onHost, false, 'matmul result stayed on the GPU');
    assert.equal(y.onHost, false, 'softmax result stayed on the GPU');
    const want = o.softmaxReference(o.activationReference('silu', o.matmulReference(a, b)));
    assertClose(y, want, 'gl', 'gl chain', 4);
    assert.equal(y.onHost, true);
  });
});
