/** Bad input gets a clear error naming shapes, values or the backend; no NaN leaks out of our kernels. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as o from '../../src/ops';

const T = o.Tensor.from;

test('matmul inner-dimension mismatch names both shapes', () => {
  assert.throws(() => o.matmul(T([[1, 2, 3]]), T([[1, 2]])), {
    name: 'ShapeError',
    message: /inner dimensions differ: A \[1, 3\] · B \[1, 2\] \(3 vs 1\)/,
  });
  assert.throws(() => o.matmul(o.Tensor.zeros([2, 2, 3]), o.Tensor.zeros([3, 3, 4])), /batch sizes 2 and 3/);
});

test('deferInputChecks turns the input scans off inside it, nested, and back on after a throw', () => {
  const bad = T([[1, NaN]]);
  const ok = T([[1, 2]]);
  assert.throws(() => o.add(bad, ok), {
    name: 'NonFiniteError',
    message: /add: a \[1, 2\] has a non-finite value NaN/,
  });
  const sum = o.deferInputChecks(() => o.deferInputChecks(() => o.add(bad, ok)));
  assert.ok(Number.isNaN(sum.data[1]));
  assert.throws(() => o.deferInputChecks(() => o.checkFinite(bad, 'layer 3', 'residual stream')), {
    name: 'NonFiniteError',
    message: /layer 3: residual stream \[1, 2\] has a non-finite value NaN at flat index 1/,
  });
  assert.throws(
    () =>
      o.deferInputChecks(() => {
        throw new Error('inside');
      }),
    /inside/,
  );
  assert.throws(() => o.add(bad, ok), { name: 'NonFiniteError' });
});

test('broadcast failure names the shapes', () => {
  assert.throws(
    () => o.add(o.Tensor.zeros([3, 4]), o.Tensor.zeros([5])),
    /shapes \[3, 4\] and \[5\] do not broadcast/,
  );
});

test('non-finite inputs are rejected with the index', () => {
  assert.throws(() => o.matmul(T([[1, NaN]]), T([[1], [2]])), {
    name: 'NonFiniteError',
    message: /matmul: A \[1, 2\] has a non-finite value NaN at flat index 1/,
  });
  assert.throws(() => o.softmax(T([[1, NaN]])), /NaN at flat index 1/);
  assert.throws(() => o.softmax(T([[-Infinity, -Infinity]])), /row 0 .* entirely -Infinity/);
  assert.throws(() => o.rmsNorm(T([[Infinity, 1]]), T([1, 1])), /non-finite value Infinity/);
  // The bit-pattern scan: every position of the 4-wide body and of the tail, each non-finite kind, and
  // the largest finite float32 (exponent 0xfe) accepted.
  for (const bad of [NaN, Infinity, -Infinity]) {
    for (const at of [0, 3, 4, 9, 10]) {
      const d = new Float32Array(11).fill(3.4028234663852886e38);
      d[at] = bad;
      assert.throws(() => o.silu(new o.Tensor(d, [11])), new RegExp(`value ${bad} at flat index ${at}`));
    }
  }
  assert.doesNotThrow(() =>
    o.unary('neg', new o.Tensor(new Float32Array(11).fill(-3.4028234663852886e38), [11])),
  );
});

test('domain errors instead of NaN', () => {
  assert.throws(() => o.unary('log', T([1, 0])), /log: .* 0 at flat index 1, outside the domain/);
  assert.throws(() => o.unary('sqrt', T([-1])), /sqrt/);
  assert.throws(() => o.div(T([1]), T([0])), /divisor .* zero at flat index 0/);
  assert.throws(() => o.cosineSimilarity(T([[0, 0]]), T([[1, 0]])), /row 0 of a has zero norm/);
  assert.throws(() => o.binary('pow', T([-2]), T([0.5])), /NaN/);
});

test('cosineSimilarity: a non-finite value or a zero row of the large operand is named (one checking pass)', () => {
  const a = new Float32Array(5 * 4).fill(0.5);
  for (const [bad, re] of [
    [NaN, /cosineSimilarity: a \[5, 4\] has a non-finite value NaN at flat index 13/],
    [Infinity, /non-finite value Infinity at flat index 13/],
    [-3.4028234663852886e38, null],
  ] as const) {
    const x = a.slice();
    x[13] = bad;
    const run = () => o.cosineSimilarity(new o.Tensor(x, [5, 4]), T([[1, 0, 0, 0]]));
    if (re) assert.throws(run, (e: Error) => e instanceof o.NonFiniteError && re.test(e.message));
    else assert.ok(Number.isFinite(run().data[3]), 'the largest float32 is finite and its square fits');
  }
  const z = a.slice();
  z.fill(0, 8, 12);
  assert.throws(
    () => o.cosineSimilarity(new o.Tensor(z, [5, 4]), T([[1, 0, 0, 0]])),
    /row 2 of a has zero norm/,
  );
});

test('parameter shape mismatches are named', () => {
  assert.throws(
    () => o.rmsNorm(o.Tensor.zeros([2, 4]), o.Tensor.zeros([3])),
    /weight has shape \[3\], expected \[4\]/,
  );
  assert.throws(
    () =>
      o.attention(o.Tensor.zeros([1, 2, 3, 4]), o.Tensor.zeros([1, 2, 2, 4]), o.Tensor.zeros([1, 2, 2, 4])),
    /3 query heads are not a multiple of 2 K\/V heads/,
  );
  assert.throws(() => o.topk(o.Tensor.zeros([2, 3]), 4), /k = 4 must be an integer in 1..3/);
  assert.throws(() => o.reduce('variance', o.Tensor.zeros([2, 1]), 1, { ddof: 1 }), /no degrees of freedom/);
  assert.throws(() => o.dropoutMask([4], 1, 1), /p = 1 must be in \[0, 1\)/);
});

test('tensor construction checks sizes and ragged arrays', () => {
  assert.throws(
    () => new o.Tensor(new Float32Array(5), [2, 3]),
    /data has 5 elements but shape \[2, 3\] needs 6/,
  );
  assert.throws(() => T([[1, 2], [3]]), /ragged/);
  assert.throws(() => o.Tensor.zeros([2, 3]).reshape([4, -1]), /cannot reshape \[2, 3\] into \[4, -1\]/);
});

test('unknown backend names are rejected, from the API and from EFFLAB_BACKEND, naming the valid ones', () => {
  assert.throws(() => o.setBackend('metal' as o.BackendName), {
    name: 'BackendError',
    message:
      /unknown backend 'metal' \(expected one of gl, native, wasm, js, reference, auto; old names headlessgl → gl, webasm → wasm, cpu → js\)/,
  });
  const root = path.resolve(__dirname, '..', '..');
  const script = "require('./src/ops').getBackend()";
  assert.throws(
    () =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
        cwd: root,
        env: { ...process.env, EFFLAB_BACKEND: 'tpu' },
        stdio: 'pipe',
      }),
    (e: { stderr: Buffer }) => /EFFLAB_BACKEND: unknown backend 'tpu'/.test(e.stderr.toString()),
  );
});

test('old backend names map to the new ones', () => {
  assert.equal(
    o.withBackend('cpu', () => o.getBackend()),
    'js',
  );
  assert.equal(
    o.withBackend('webasm', () => o.getBackend()),
    'wasm',
  );
});

test('the GL backend explains why it cannot start without a display', () => {
  const root = path.resolve(__dirname, '..', '..');
  const env: NodeJS.ProcessEnv = { ...process.env, EFFLAB_BACKEND: 'gl' };
  delete env.DISPLAY;
  assert.throws(
    () =>
      execFileSync(process.execPath, ['--import', 'tsx', '-e', "require('./src/ops').getBackend()"], {
        cwd: root,
        env,
        stdio: 'pipe',
      }),
    (e: { stderr: Buffer }) =>
      /backend unavailable: headless-gl needs an X display: DISPLAY is unset/.test(e.stderr.toString()),
  );
});

test('auto picks the fastest CPU path (native: OpenBLAS) on Mesa, never gl, wasm without OpenBLAS; EFFLAB_BACKEND overrides it', () => {
  const root = path.resolve(__dirname, '..', '..');
  const pick = (env: NodeJS.ProcessEnv): string =>
    execFileSync(
      process.execPath,
      ['--import', 'tsx', '-e', "process.stdout.write(require('./src/ops').getBackend())"],
      { cwd: root, env },
    ).toString();
  const auto = { ...process.env };
  delete auto.EFFLAB_BACKEND;
  // This machine has no GPU device: GL (Mesa llvmpipe under Xvfb) is available but not auto-selected.
  assert.equal(o.glIsHardware(), false);
  assert.equal(pick(auto), 'native');
  assert.equal(pick({ ...auto, EFFLAB_BLAS_LIB: '/nonexistent.so' }), 'wasm');
  assert.equal(pick({ ...auto, EFFLAB_BACKEND: 'wasm' }), 'wasm');
  assert.equal(pick({ ...auto, EFFLAB_BACKEND: 'gl' }), 'gl');
  assert.equal(pick({ ...auto, EFFLAB_BACKEND: 'js' }), 'js');
  assert.equal(pick({ ...auto, EFFLAB_BACKEND: 'headlessgl' }), 'gl');
});

test('withBackend holds across await and does not leak into concurrent work', async () => {
  o.setBackend('js');
  const inner = o.withBackend('reference', async () => {
    await new Promise((r) => setTimeout(r, 20));
    o.matmul(T([[1]]), T([[2]]));
    return [o.getBackend(), o.lastBackendRan('matmul')];
  });
  // While the scoped work waits, the outside still runs on js.
  assert.equal(o.getBackend(), 'js');
  o.matmul(T([[1]]), T([[2]]));
  assert.equal(o.lastBackendRan('matmul'), 'js');
  assert.deepEqual(await inner, ['reference', 'reference']);
  o.setBackend('auto');
});

test('traceBackends reports every op call with the backend that ran it', () => {
  const { calls } = o.traceBackends(() =>
    o.withBackend('wasm', () => o.softmax(o.matmul(T([[1, 2]]), T([[3], [4]])))),
  );
  assert.deepEqual(
    calls.map((c) => [c.op, c.requested, c.ran]),
    [
      ['matmul', 'wasm', o.resolveKernelBackend('wasm', 'matmul')],
      ['rowSoftmax', 'wasm', o.resolveKernelBackend('wasm', 'rowSoftmax')],
    ],
  );
});

test('shape faults are ShapeError whatever the backend', () => {
  for (const b of ['js', 'wasm', 'reference'] as const) {
    o.withBackend(b, () => {
      assert.throws(() => o.matmul(T([[1, 2, 3]]), T([[1, 2]])), o.ShapeError);
      assert.throws(() => o.linear(T([[1, 2, 3]]), T([[1, 2]])), o.ShapeError);
      assert.throws(() => o.swiglu(T([1, 2]), T([1])), o.ShapeError);
      assert.throws(() => o.foldedAttention(T([1]), T([1]), T([1]), T([1]), 0), o.ShapeError);
    });
  }
});
