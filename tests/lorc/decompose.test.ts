/** Joint SVD of a K/V projection (Eq. 5.6), κ (Eq. 5.10), reconstruction error (G.1), Theorem 2 (Eq. 5.14). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, matmulReference } from '../../src/ops';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  decomposeProjection,
  fingerprint,
  kappaOf,
  loadDecompositions,
  saveDecompositions,
  reconstruct,
  relativeReconstructionError,
  rightBasis,
  theorem2Factor,
} from '../../src/methods/lorc';
import { numpy, randn } from './helpers';

// A D × h·d projection with a decaying spectrum, like trained K weights (D = 48, 2 heads of 8).
function syntheticW(seed: number): Tensor {
  const a = randn([48, 16], seed);
  const decay = randn([16, 16], seed + 1);
  for (let i = 0; i < 16; i++) for (let j = 0; j < 16; j++) decay.data[i * 16 + j] *= Math.pow(0.7, i);
  return matmulReference(a, decay);
}

test('singular values, κ and reconstruction error match numpy (float64 reference)', () => {
  const w = syntheticW(3);
  const dec = decomposeProjection(w, 'synthetic W_k');
  const ref = numpy<{ s: number[]; cond: number; err: number[] }>(
    `a = np.array(inp['w'], dtype=np.float64).reshape(inp['shape'])
s = np.linalg.svd(a, compute_uv=False)
u, s2, vt = np.linalg.svd(a, full_matrices=False)
err = [float(np.linalg.norm(a - (u[:, :k] * s2[:k]) @ vt[:k]) / np.linalg.norm(a)) for k in range(0, 17)]
print(json.dumps({'s': s.tolist(), 'cond': float(np.linalg.cond(a)), 'err': err}))`,
    { w: Array.from(w.data), shape: w.shape },
  );
  // ml-matrix and LAPACK both work in float64 on the same float32 inputs: agreement to ~1e-12 relative;
  // 1e-9 leaves room for the different algorithms (one-sided Golub–Kahan vs divide and conquer).
  dec.S.forEach((s, i) =>
    assert.ok(Math.abs(s - ref.s[i]) <= 1e-9 * ref.s[0], `σ_${i}: ${s} vs ${ref.s[i]}`),
  );
  assert.ok(Math.abs(kappaOf(dec) - ref.cond) <= 1e-8 * ref.cond, `κ ${kappaOf(dec)} vs ${ref.cond}`);
  for (let k = 0; k <= 16; k++) {
    const e = relativeReconstructionError(dec, k);
    assert.ok(Math.abs(e - ref.err[k]) <= 1e-6, `err at k=${k}: ${e} vs ${ref.err[k]}`);
    // and the explicit Frobenius norm of W − W̃_k (float32 reconstruction: 1e-5 absolute).
    const wk = reconstruct(dec, k);
    let num = 0;
    let den = 0;
    for (let i = 0; i < w.size; i++) {
      num += (w.data[i] - wk.data[i]) ** 2;
      den += w.data[i] ** 2;
    }
    assert.ok(Math.abs(Math.sqrt(num / den) - ref.err[k]) <= 1e-5, `explicit err at k=${k}`);
  }
});

test('the compressed row c = k·V_c equals x·U_c·Σ_c and reconstructs x·W̃ (Eq. 5.6)', () => {
  const w = syntheticW(11);
  const dec = decomposeProjection(w);
  const x = randn([5, 48], 12);
  const k = matmulReference(x, w);
  for (const r of [4, 9, 16]) {
    const basis = rightBasis(dec, r);
    const c = matmulReference(k, basis);
    const back = matmulReference(c, basis, { transB: true });
    const direct = matmulReference(x, reconstruct(dec, r));
    let err = 0;
    let scale = 0;
    for (let i = 0; i < back.size; i++) {
      err = Math.max(err, Math.abs(back.data[i] - direct.data[i]));
      scale = Math.max(scale, Math.abs(direct.data[i]));
    }
    assert.ok(err <= 1e-5 * scale, `rank ${r}: ${err} vs scale ${scale}`);
  }
});

test('Theorem 2 on random inputs: ‖xW − xW̃_k‖ ≤ σ_{k+1}‖x‖ (and tight along v_{k+1})', () => {
  const w = syntheticW(21);
  const dec = decomposeProjection(w);
  const xs = randn([200, 48], 22);
  for (const k of [0, 1, 4, 8, 15, 16]) {
    const wk = reconstruct(dec, k);
    const diff = matmulReference(xs, w);
    const approx = matmulReference(xs, wk);
    const bound = theorem2Factor(dec, k);
    for (let n = 0; n < 200; n++) {
      let e = 0;
      let xn = 0;
      for (let j = 0; j < 16; j++) e += (diff.data[n * 16 + j] - approx.data[n * 16 + j]) ** 2;
      for (let j = 0; j < 48; j++) xn += xs.data[n * 48 + j] ** 2;
      // float32 products: allow 1e-5 relative slack on the bound.
      assert.ok(Math.sqrt(e) <= bound * Math.sqrt(xn) * (1 + 1e-5) + 1e-5, `k=${k}, sample ${n}`);
    }
    if (k < 16) {
      // x = u_{k+1} attains the bound: ‖u W − u W̃‖ = σ_{k+1}.
      const u = new Tensor(
        Float32Array.from({ length: 48 }, (_, i) => dec.U.data[i * 16 + k]),
        [1, 48],
      );
      const d1 = matmulReference(u, w);
      const d2 = matmulReference(u, wk);
      let e = 0;
      for (let j = 0; j < 16; j++) e += (d1.data[j] - d2.data[j]) ** 2;
      assert.ok(Math.abs(Math.sqrt(e) - bound) <= 1e-4 * dec.S[0], `tightness at k=${k}`);
    }
  }
});

test('bad ranks and shapes are named', () => {
  const dec = decomposeProjection(syntheticW(5), 'layer 3 W_k');
  assert.throws(() => rightBasis(dec, 17), /rightBasis\(layer 3 W_k\): rank 17 outside 0..16/);
  assert.throws(() => decomposeProjection(Tensor.zeros([3])), /expected a matrix/);
  assert.throws(() => decomposeProjection(Tensor.from([[1, NaN]])), /non-finite/);
});

test('decompositions survive the on-disk cache unchanged', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lorc-svd-'));
  try {
    const decs = [decomposeProjection(syntheticW(31), 'a'), decomposeProjection(syntheticW(32), 'b')];
    const file = path.join(dir, 'x.bin');
    saveDecompositions(file, decs);
    const back = loadDecompositions(file)!;
    assert.equal(back.length, 2);
    back.forEach((d, i) => {
      assert.equal(d.name, decs[i].name);
      assert.deepEqual(Array.from(d.S), Array.from(decs[i].S));
      assert.deepEqual(Array.from(d.U.data), Array.from(decs[i].U.data));
      assert.deepEqual(Array.from(d.V.data), Array.from(decs[i].V.data));
    });
    assert.equal(loadDecompositions(path.join(dir, 'missing.bin')), undefined);
    assert.notEqual(fingerprint([syntheticW(31)]), fingerprint([syntheticW(32)]));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
