/**
 * Every kernel of the ops layer, on every backend (cpu, webasm, headlessgl), against numpy/scipy
 * fixtures and against its plain-TS reference. The GL backend must start: if it cannot, setBackend
 * throws with the reason and these tests fail (they are never skipped).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../src/ops';
import { assertClose, fixtures, lcgTensor, tensorOf } from './helpers';

const F = fixtures();

after(() => o.disposeBackends());

for (const backend of o.BACKENDS) {
  describe(`ops on ${backend}`, () => {
    const run = <T>(fn: () => T): T => o.withBackend(backend, fn);

    test('backend starts and reports itself', () => {
      run(() => o.matmul(o.Tensor.from([[1, 2]]), o.Tensor.from([[3], [4]])));
      assert.equal(o.lastBackendRan(), backend);
    });

    test('batched matmul, all four layouts and batch broadcast', () => {
      const layouts: [string, o.MatmulOptions][] = [
        ['matmul_nn', {}],
        ['matmul_nt', { transB: true }],
        ['matmul_tn', { transA: true }],
        ['matmul_tt', { transA: true, transB: true }],
        ['matmul_bcast', {}],
      ];
      for (const [name, opts] of layouts) {
        const c = F[name];
        const a = tensorOf(c.a);
        const b = tensorOf(c.b);
        const got = run(() => o.matmul(a, b, opts));
        assertClose(got, tensorOf(c.out), backend, name, 4);
        assertClose(got, o.matmulReference(a, b, opts), backend, `${name} vs reference`, 4);
      }
    });

    test('matmul kernel variants: row blocks (M not a multiple of 4), per-cell, and the async path', async () => {
      for (const M of [1, 2, 5, 8]) {
        const a = lcgTensor([M, 12], 10 + M);
        const b = lcgTensor([7, 12], 20 + M);
        const expected = o.matmulReference(a, b, { transB: true });
        assertClose(
          run(() => o.matmul(a, b, { transB: true })),
          expected,
          backend,
          `M=${M} transB`,
          4,
        );
        o.setBackend(backend);
        assertClose(await o.matmulAsync(a, b, { transB: true }), expected, backend, `M=${M} async`, 4);
        o.setBackend('auto');
      }
    });

    test('broadcast binary ops', () => {
      const c = F.binary;
      const a = tensorOf(c.a);
      const b = tensorOf(c.b);
      for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
        const got = run(() => o.binary(op, a, b));
        assertClose(got, tensorOf(c[op]), backend, op);
        assertClose(got, o.binaryReference(op, a, b), backend, `${op} vs reference`);
      }
      const pw = run(() => o.binary('pow', tensorOf(c.pos), b));
      assertClose(pw, tensorOf(c.pow), backend, 'pow', 4);
    });

    test('unary ops', () => {
      const c = F.unary;
      for (const op of ['exp', 'abs', 'neg', 'relu', 'sigmoid', 'tanh', 'square'] as const) {
        const x = tensorOf(c.x);
        assertClose(
          run(() => o.unary(op, x)),
          tensorOf(c[op]),
          backend,
          op,
          2,
        );
        assertClose(
          run(() => o.unary(op, x)),
          o.unaryReference(op, x),
          backend,
          `${op} vs reference`,
          2,
        );
      }
      for (const op of ['log', 'sqrt', 'reciprocal'] as const) {
        assertClose(
          run(() => o.unary(op, tensorOf(c.pos))),
          tensorOf(c[op]),
          backend,
          op,
          2,
        );
      }
    });

    test('softmax, log-softmax, logsumexp on large logits', () => {
      const c = F.softmax;
      const x = tensorOf(c.x);
      assertClose(
        run(() => o.softmax(x)),
        tensorOf(c.softmax),
        backend,
        'softmax',
      );
      // log-space values are O(100) here: scale the tolerance with the logits' magnitude.
      assertClose(
        run(() => o.logSoftmax(x)),
        tensorOf(c.log_softmax),
        backend,
        'logSoftmax',
        4,
      );
      assertClose(
        run(() => o.logSumExp(x)),
        tensorOf(c.logsumexp),
        backend,
        'logSumExp',
        4,
      );
      assertClose(
        run(() => o.softmax(x)),
        o.softmaxReference(x),
        backend,
        'softmax vs reference',
      );
    });

    test('masked (-Infinity) logits get zero probability', () => {
      const x = o.Tensor.from([
        [0, -Infinity, 1],
        [-Infinity, 2, -Infinity],
      ]);
      const p = run(() => o.softmax(x));
      assert.equal(p.data[1], 0);
      assert.ok(Math.abs(p.data[4] - 1) < 1e-6);
      const lp = run(() => o.logSoftmax(x));
      assert.equal(lp.data[1], -Infinity);
    });

    test('RMSNorm and LayerNorm', () => {
      const c = F.norm;
      const x = tensorOf(c.x);
      const w = tensorOf(c.w);
      const b = tensorOf(c.b);
      assertClose(
        run(() => o.rmsNorm(x, w, 1e-5)),
        tensorOf(c.rms),
        backend,
        'rmsNorm',
        2,
      );
      assertClose(
        run(() => o.layerNorm(x, w, b, 1e-12)),
        tensorOf(c.layer),
        backend,
        'layerNorm',
        2,
      );
      assertClose(
        run(() => o.rmsNorm(x, w)),
        o.rmsNormReference(x, w),
        backend,
        'rmsNorm vs reference',
        2,
      );
      assertClose(
        run(() => o.layerNorm(x, w, b)),
        o.layerNormReference(x, w, b),
        backend,
        'layerNorm vs ref',
        2,
      );
    });

    test('SiLU, GELU (erf) and GELU (tanh)', () => {
      const c = F.activation;
      const x = tensorOf(c.x);
      assertClose(
        run(() => o.silu(x)),
        tensorOf(c.silu),
        backend,
        'silu',
        2,
      );
      // A&S 7.1.26 erf: |Δerf| ≤ 1.5e-7, so |ΔGELU| ≤ 0.5·|x|·1.5e-7 ≤ 1e-6 for |x| ≤ 12.
      assertClose(
        run(() => o.gelu(x)),
        tensorOf(c.gelu),
        backend,
        'gelu',
        2,
      );
      assertClose(
        run(() => o.geluTanh(x)),
        tensorOf(c.gelu_tanh),
        backend,
        'gelu_tanh',
        2,
      );
    });

    test('rotary embedding, half and interleaved pairing, long positions', () => {
      const c = F.rope;
      const x = tensorOf(c.x);
      const tables = o.ropeTables(c.positions as number[], o.ropeInvFreq(x.shape[2], c.base as number));
      assertClose(
        run(() => o.applyRope(x, tables, 'half')),
        tensorOf(c.half),
        backend,
        'rope half',
      );
      assertClose(
        run(() => o.applyRope(x, tables, 'interleaved')),
        tensorOf(c.interleaved),
        backend,
        'rope interleaved',
      );
    });

    test('causal GQA attention with a query offset, and key-masked attention', () => {
      const c = F.attention;
      const [q, k, v] = [tensorOf(c.q), tensorOf(c.k), tensorOf(c.v)];
      const causal = run(() => o.attention(q, k, v, { causal: true, queryOffset: 2 }));
      assertClose(causal, tensorOf(c.causal), backend, 'causal attention', 2);
      assertClose(
        causal,
        o.attentionReference(q, k, v, { causal: true, queryOffset: 2 }),
        backend,
        'vs reference',
        2,
      );
      const masked = run(() => o.attention(q, k, v, { keyMask: tensorOf(c.mask) }));
      assertClose(masked, tensorOf(c.masked), backend, 'masked attention', 2);
    });

    test('cosine-similarity matrix', () => {
      const c = F.cosine;
      const got = run(() => o.cosineSimilarity(tensorOf(c.a), tensorOf(c.b)));
      assertClose(got, tensorOf(c.out), backend, 'cosine');
    });

    test('row top-k with ties (value descending, then lower index)', () => {
      const c = F.topk;
      const x = tensorOf(c.x);
      const got = run(() => o.topk(x, c.k as number));
      assert.deepEqual(Array.from(got.indices), (c.indices as number[][]).flat());
      assertClose(got.values, tensorOf(c.values), backend, 'topk values');
      assert.deepEqual(Array.from(got.indices), Array.from(o.topkReference(x, c.k as number).indices));
    });

    test('reductions along every axis', () => {
      const c = F.reduce;
      const x = tensorOf(c.x);
      for (const op of ['sum', 'mean', 'variance', 'max', 'min'] as const) {
        for (let axis = 0; axis < 3; axis++) {
          assertClose(
            run(() => o.reduce(op, x, axis)),
            tensorOf(c[`${op}_${axis}`]),
            backend,
            `${op} axis ${axis}`,
          );
        }
      }
    });

    test('seeded RNG is bit-identical to an independent integer implementation', () => {
      const c = F.rng_words;
      const words: [number, number] = [c.s0 as number, c.s1 as number];
      const expected = c.values as number[];
      const got = run(() => o.randomUniform([expected.length], 0, { words }));
      assert.deepEqual(
        Array.from(got.data),
        expected.map((v) => Math.fround(v)),
      );
    });

    test('dropout masks: same mask as the reference, right keep rate and scale', () => {
      const shape = [64, 128];
      const mask = run(() => o.dropoutMask(shape, 0.25, 99, { stream: 3 }));
      assert.deepEqual(
        Array.from(mask.data),
        Array.from(o.dropoutMaskReference(shape, 0.25, 99, { stream: 3 }).data),
      );
      const kept = mask.data.filter((v) => v > 0);
      const rate = kept.length / mask.size;
      // Binomial(8192, 0.75): sd ≈ 0.0048, so ±0.02 is beyond 4 sd.
      assert.ok(Math.abs(rate - 0.75) < 0.02, `keep rate ${rate}`);
      assert.ok(kept.every((v) => Math.abs(v - 1 / 0.75) < 1e-6));
    });

    test('results agree with the plain-TS reference on odd sizes', () => {
      const a = lcgTensor([3, 13, 21], 5);
      const b = lcgTensor([21, 11], 6);
      assertClose(
        run(() => o.matmul(a, b)),
        o.matmulReference(a, b),
        backend,
        'matmul odd',
        4,
      );
      const x = lcgTensor([3, 13, 21], 7, 5);
      assertClose(
        run(() => o.reduce('variance', x, 1)),
        o.reduceReference('variance', x, 1),
        backend,
        'variance',
      );
    });
  });
}
