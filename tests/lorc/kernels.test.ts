/** The fused reconstruct + RoPE read kernel (appendix H.1) against its plain-TS twin and ops, per backend. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyRopeReference,
  availableBackends,
  lastBackendRan,
  matmulReference,
  resolveKernelBackend,
  ropeInvFreq,
  ropeTables,
  withBackend,
} from '../../src/ops';
import {
  foldedAttentionFast,
  foldedAttentionReference,
  reconstructRope,
  reconstructRopeJs,
  reconstructRopeReference,
} from '../../src/methods/lorc';
import { linearReference } from '../../src/models';
import { assertRelClose, randn } from './helpers';

const B = 2;
const S = 11;
const Hkv = 3;
const D = 64;
const dc = 40;

for (const backend of availableBackends()) {
  for (const style of ['half', 'interleaved'] as const) {
    test(`reconstructRope on ${backend}, ${style}: equals reconstruct-then-rotate`, () => {
      const c = randn([B, S, dc], 1);
      const basis = randn([Hkv * D, dc], 2, 0.2);
      const positions = Array.from({ length: S }, (_, i) => 1000 + 37 * i); // long-context angles
      const tables = ropeTables(positions, ropeInvFreq(D, 100000));
      const got = withBackend(backend, () => {
        const r = reconstructRope(c, basis, tables, Hkv, style);
        assert.equal(lastBackendRan(), resolveKernelBackend(backend, 'reconstructRope'));
        return r;
      });
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
      // float32 dot products of length 40 (two per element) then one rotation: ≤ 1e-5 relative on GL.
      assertRelClose(got.data, ref.data, 1e-5, `${backend} vs reference`);
      assert.deepEqual(got.shape, [B, S, Hkv, D]);
      // The CPU fast path (float64 accumulators over float32 data): 1e-6 relative.
      assertRelClose(reconstructRopeJs(c, basis, tables, Hkv, style).data, ref.data, 1e-6, 'js fast path');
    });
  }
}

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

test('foldedAttentionFast (scalar loops for decode, matrix products for prefill) equals the float64 reference', () => {
  const [B, Hq, Hkv, D, dc, hidden] = [2, 6, 2, 8, 5, 12];
  const S = 19;
  const keys = randn([B, S, Hkv, D], 11);
  const cv = randn([B, S, dc], 12);
  const folded = randn([Hq * dc, hidden], 13, 0.3);
  const foldedT = folded.transpose();
  for (const [T, offset] of [
    [1, 18],
    [3, 9],
    [12, 0],
    [9, 10],
  ]) {
    const q = randn([B, T, Hq, D], 20 + T);
    const ref = foldedAttentionReference(q, keys, cv, folded, offset);
    const got = foldedAttentionFast(q, keys, cv, foldedT, offset, (x, w) => linearReference(x, w));
    // Both float64 inside except float32 storage of scores/probabilities on the matrix path: 1e-6.
    assertRelClose(got.data, ref.data, 1e-6, `T=${T} offset=${offset}`);
    assert.deepEqual(got.shape, [B, T, hidden]);
  }
  assert.throws(
    () => foldedAttentionFast(randn([1, 2, Hq, D], 1), keys, cv, foldedT, 0, linearReference),
    /do not fit/,
  );
});
