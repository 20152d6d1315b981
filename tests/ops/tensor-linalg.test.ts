/** The tensor type and the ml-matrix linear algebra, against numpy.linalg fixtures. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../src/ops';
import { fixtures, tensorOf } from './helpers';

const F = fixtures();

test('tensor: nested construction, reshape, get, transpose, ndarray round trip', () => {
  const t = o.Tensor.from([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  assert.deepEqual([...t.shape], [2, 3]);
  assert.equal(t.get(1, 2), 6);
  assert.deepEqual(t.reshape([3, -1]).toArray(), [
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  assert.deepEqual(t.transpose().toArray(), [
    [1, 4],
    [2, 5],
    [3, 6],
  ]);
  const view = t.toNdarray().transpose(1, 0).lo(1, 0);
  assert.deepEqual(o.Tensor.fromNdarray(view).toArray(), [
    [2, 5],
    [3, 6],
  ]);
  assert.deepEqual(t.sliceRows(1, 2).toArray(), [[4, 5, 6]]);
  assert.throws(() => t.get(2, 0), /index 2 out of range for axis 0 of size 2/);
});

test('SVD reproduces numpy singular values and reconstructs A', () => {
  const c = F.linalg;
  const a = tensorOf(c.a);
  const { U, S, V } = o.svd(a);
  const ref = c.singular_values as number[];
  S.forEach((s, i) => assert.ok(Math.abs(s - ref[i]) <= 1e-5 * ref[0], `σ${i}: ${s} vs ${ref[i]}`));
  // A ≈ U diag(S) Vᵀ (float32 storage of U and V: 1e-5 relative).
  const [m, n] = a.shape;
  const r = S.length;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let l = 0; l < r; l++) s += U.data[i * r + l] * S[l] * V.data[j * r + l];
      assert.ok(Math.abs(s - a.data[i * n + j]) < 1e-5 * ref[0]);
    }
  }
  // Wide matrices are handled by decomposing the transpose.
  const wide = o.svd(a.transpose());
  wide.S.forEach((s, i) => assert.ok(Math.abs(s - ref[i]) <= 1e-5 * ref[0]));
});

test('condition number, solve and least squares match numpy', () => {
  const c = F.linalg;
  const cond = o.conditionNumber(tensorOf(c.a));
  assert.ok(Math.abs(cond - (c.cond as number)) / (c.cond as number) < 1e-5, `cond ${cond}`);
  const x = o.solve(tensorOf(c.square), tensorOf(c.rhs));
  const ref = tensorOf(c.solve);
  x.data.forEach((v, i) => assert.ok(Math.abs(v - ref.data[i]) < 1e-5 * (1 + Math.abs(ref.data[i]))));
  const ls = o.lstsq(tensorOf(c.a), tensorOf(c.lstsq_rhs));
  const lref = tensorOf(c.lstsq);
  ls.data.forEach((v, i) => assert.ok(Math.abs(v - lref.data[i]) < 1e-4 * (1 + Math.abs(lref.data[i]))));
});

test('singular systems and rank-deficient matrices get clear answers', () => {
  const sing = o.Tensor.from([
    [1, 2],
    [2, 4],
  ]);
  assert.equal(o.conditionNumber(sing) > 1e15, true);
  assert.throws(() => o.solve(sing, o.Tensor.from([1, 2])), /singular or nearly so/);
  assert.throws(() => o.solve(o.Tensor.zeros([2, 3]), o.Tensor.zeros([2])), /A must be square/);
});

test('low-rank approximation error equals the discarded singular values (Eckart–Young)', () => {
  const a = tensorOf(F.linalg.a);
  const S = o.singularValues(a);
  for (const k of [1, 3, 6]) {
    const approx = o.lowRankApprox(a, k);
    let err = 0;
    for (let i = 0; i < a.size; i++) err += (a.data[i] - approx.data[i]) ** 2;
    let tail = 0;
    for (let l = k; l < S.length; l++) tail += S[l] ** 2;
    assert.ok(Math.abs(Math.sqrt(err) - Math.sqrt(tail)) < 1e-4 * S[0], `rank ${k}`);
  }
});
