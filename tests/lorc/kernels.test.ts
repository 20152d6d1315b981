/**
 * LoRC's fused ops through the ops index on every backend: reconstruct + RoPE (appendix H.1) against
 * an independent reconstruct-then-rotate built from the ops references, and folded attention (Eq. 5.9)
 * against its float64 reference, each reporting the backend that ran it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  COMPUTE_BACKENDS,
  applyRopeReference,
  backendUnavailableReason,
  lastBackendRan,
  matmulReference,
  resolveKernelBackend,
  ropeInvFreq,
  ropeTables,
  withBackend,
  type BackendName,
} from '../../src/ops';
import {
  foldedAttention,
  foldedAttentionReference,
  reconstructRope,
  reconstructRopeJs,
  reconstructRopeReference,
} from '../../src/methods/lorc';
import { assertRelClose, randn } from './helpers';

const B = 2;
const S = 11;
const Hkv = 3;
const D = 64;
const dc = 40;

/** Every compute backend; one that cannot start here fails the test with its reason (never skipped). */
function backends(): BackendName[] {
  for (const b of COMPUTE_BACKENDS) {
    const why = backendUnavailableReason(b);
    if (why) assert.fail(`backend ${b} cannot run here: ${why}`);
  }
  return [...COMPUTE_BACKENDS];
}

for (const style of ['half', 'interleaved'] as const) {
  test(`reconstructRope on every backend, ${style}: equals reconstruct-then-rotate`, () => {
    const c = randn([B, S, dc], 1);
    const basis = randn([Hkv * D, dc], 2, 0.2);
    const positions = Array.from({ length: S }, (_, i) => 1000 + 37 * i); // long-context angles
    const tables = ropeTables(positions, ropeInvFreq(D, 100000));
    const ref = reconstructRopeReference(c, basis, tables, Hkv, style);
    // Independent path: ops matmul reference, then ops RoPE reference per batch row.
    const k = matmulReference(c.reshape([B * S, dc]), basis, { transB: true });
    for (let b = 0; b < B; b++) {
      const rows = k.sliceRows(b * S, (b + 1) * S).reshape([S, Hkv, D]);
      const rot = applyRopeReference(rows, tables, style);
      assertRelClose(
        ref.data.subarray(b * S * Hkv * D, (b + 1) * S * Hkv * D),
        rot.data,
        1e-6,
        'reference vs ops',
      );
    }
    for (const backend of backends()) {
      const got = withBackend(backend, () => {
        const r = reconstructRope(c, basis, tables, Hkv, style);
        assert.equal(lastBackendRan(), resolveKernelBackend(backend, 'reconstructRope'));
        return r;
      });
      // float32 dot products of length 40 (two per element) then one rotation: ≤ 1e-5 relative.
      assertRelClose(got.data, ref.data, 1e-5, `${backend} vs reference`);
      assert.deepEqual(got.shape, [B, S, Hkv, D]);
    }
    assertRelClose(
      reconstructRopeJs(c, basis, tables, Hkv, style).data,
      ref.data,
      1e-5,
      'deprecated js name',
    );
  });
}

test('foldedAttention on every backend (decode and prefill sizes) equals the float64 reference', () => {
  const [Hq, Hk, Dh, dcv, hidden] = [6, 2, 8, 5, 12];
  const Sk = 19;
  const keys = randn([B, Sk, Hk, Dh], 11);
  const cv = randn([B, Sk, dcv], 12);
  const folded = randn([Hq * dcv, hidden], 13, 0.3);
  for (const [T, offset] of [
    [1, 18],
    [3, 9],
    [12, 0],
  ]) {
    const q = randn([B, T, Hq, Dh], 20 + T);
    const ref = foldedAttentionReference(q, keys, cv, folded, offset);
    for (const backend of backends()) {
      const got = withBackend(backend, () => foldedAttention(q, keys, cv, folded, offset));
      // float32 scores, softmax and two short sums against float64: ≤ 1e-5 relative (GL a few ulp per op).
      assertRelClose(got.data, ref.data, 1e-5, `${backend} T=${T} offset=${offset}`);
      assert.deepEqual(got.shape, [B, T, hidden]);
    }
  }
});

test('foldedAttention on native (decode GEMMs): several query rows, each with its own causal horizon', () => {
  // SmolLM2's grouping (9 query heads on 3 K/V heads, D = 64) and a held length past one GEMM block.
  const [Hq, Hk, Dh, dcv, hidden] = [9, 3, 64, 23, 40];
  for (const [b, T, Sk, offset] of [
    [1, 3, 300, 297],
    [1, 4, 300, 100],
    [4, 1, 130, 129],
  ]) {
    const keys = randn([b, Sk, Hk, Dh], 31);
    const cv = randn([b, Sk, dcv], 32);
    const folded = randn([Hq * dcv, hidden], 33, 0.3);
    const q = randn([b, T, Hq, Dh], 34, 0.5);
    const ref = foldedAttentionReference(q, keys, cv, folded, offset);
    const got = withBackend('native', () => foldedAttention(q, keys, cv, folded, offset));
    assert.equal(lastBackendRan('foldedAttention'), 'native');
    // float32 scores, softmax and sums over ≤ 300 keys against float64: ≤ 1e-5 relative.
    assertRelClose(got.data, ref.data, 1e-5, `native B=${b} T=${T} offset=${offset}`);
  }
});

test('reconstructRope shape errors', () => {
  const tables = ropeTables([0, 1], ropeInvFreq(8));
  assert.throws(
    () => reconstructRope(randn([1, 2, 4], 1), randn([16, 5], 2), tables, 2),
    /basis has 5 columns but .* d_c = 4/,
  );
  assert.throws(
    () => reconstructRope(randn([1, 2, 4], 1), randn([15, 4], 2), tables, 2),
    /not a multiple of 2 K\/V heads/,
  );
  assert.throws(
    () => reconstructRope(randn([1, 3, 4], 1), randn([16, 4], 2), tables, 2),
    /expected S·D\/2 = 3·4/,
  );
});
