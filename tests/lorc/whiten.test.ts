/**
 * Data-aware (whitened) bases against numpy: the whitened key basis is the right singular basis of
 * W·S (PyTorch layout; S the Cholesky factor of XᵀX), its truncation minimises ‖(W − Ŵ)X‖ among rank-r
 * approximations, and the W_o-aware value factors reach the optimum of their output objective.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, attention, matmul } from '../../src/ops';
import {
  foldOutputProjection,
  leadingColumns,
  outputAwareValues,
  whitenedProjection,
  LowRankKVCache,
  type LowRankLayer,
} from '../../src/methods/lorc';
import { numpy, randn } from './helpers';

const D = 24;
const N = 300;
const W = 12;

/** Calibration inputs with outlier channels (channel 3 ×20, channel 17 ×8), like RMSNorm outputs. */
function inputs(seed: number): Tensor {
  const x = randn([N, D], seed);
  for (let n = 0; n < N; n++) {
    x.data[n * D + 3] *= 20;
    x.data[n * D + 17] *= 8;
  }
  return x;
}

function gram(x: Tensor): Float64Array {
  const g = new Float64Array(D * D);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < D; i++)
      for (let j = 0; j < D; j++) g[i * D + j] += x.data[n * D + i] * x.data[n * D + j];
  return g;
}

/** ‖X (W − W·P)‖_F² with P = Q_r Q_rᵀ, float64. */
function dataError(x: Tensor, w: Tensor, q: Tensor): number {
  const xw = matmul(x, w); // [N, W]
  const proj = matmul(matmul(xw, q), q, { transB: true });
  let s = 0;
  for (let i = 0; i < xw.size; i++) s += (xw.data[i] - proj.data[i]) ** 2;
  return s;
}

test('whitened key basis = right singular vectors of W·S (numpy), and it minimises ‖(W − Ŵ)X‖', () => {
  const x = inputs(11);
  const w = randn([D, W], 12, 0.3); // thesis layout K = X·W
  const g = gram(x);
  const ours = whitenedProjection(w, g, 'test W_k');
  const ref = numpy<{ s: number[]; u: number[][]; errs: number[]; plain: number[] }>(
    `
W = np.array(inp["w"], dtype=np.float64).reshape(${D}, ${W}).T      # PyTorch layout [out, in]
X = np.array(inp["x"], dtype=np.float64).reshape(${N}, ${D})
G = np.array(inp["g"], dtype=np.float64).reshape(${D}, ${D})
S = np.linalg.cholesky(G)                                            # G = S Sᵀ
U, s, Vt = np.linalg.svd(W @ S, full_matrices=False)                 # whiten
errs, plain = [], []
Up, sp, Vpt = np.linalg.svd(W, full_matrices=False)
for r in range(1, ${W}):
    What = (U[:, :r] * s[:r]) @ Vt[:r] @ np.linalg.inv(S)            # truncate, un-whiten
    errs.append(float(np.linalg.norm((W - What) @ X.T) ** 2))
    Wp = (Up[:, :r] * sp[:r]) @ Vpt[:r]                              # weight-only truncation
    plain.append(float(np.linalg.norm((W - Wp) @ X.T) ** 2))
print(json.dumps({"s": s.tolist(), "u": U.tolist(), "errs": errs, "plain": plain}))
`,
    { w: Array.from(w.data), x: Array.from(x.data), g: Array.from(g) },
  );
  // Singular values: float64 on both sides from the same float32 inputs; 1e-9 relative leaves room for
  // the different factorisation order (Cholesky of WᵀGW here, of G in numpy).
  ref.s.forEach((s, i) =>
    assert.ok(Math.abs(ours.S[i] - s) <= 1e-9 * ref.s[0], `σ_${i}: ${ours.S[i]} vs ${s}`),
  );
  // Basis: column i equals numpy's U[:, i] up to sign (float32 storage: 1e-5).
  for (let i = 0; i < W; i++) {
    let dot = 0;
    for (let j = 0; j < W; j++) dot += ours.basis.data[j * W + i] * ref.u[j][i];
    assert.ok(Math.abs(Math.abs(dot) - 1) < 1e-5, `basis column ${i}: |⟨q, u⟩| = ${Math.abs(dot)}`);
  }
  for (let r = 1; r < W; r++) {
    const e = dataError(x, w, leadingColumns(ours.basis, r));
    const tail = Array.from(ours.S.slice(r)).reduce((a, s) => a + s * s, 0);
    // Our projection W·Q_rQ_rᵀ reaches numpy's optimum (float32 products: 1e-4 relative).
    assert.ok(
      Math.abs(e - ref.errs[r - 1]) <= 1e-4 * ref.errs[r - 1] + 1e-6,
      `rank ${r}: ${e} vs numpy ${ref.errs[r - 1]}`,
    );
    assert.ok(Math.abs(tail - ref.errs[r - 1]) <= 1e-6 * ref.errs[r - 1] + 1e-9, `rank ${r}: tail energy`);
    // and never does worse on the data than the weight-only SVD (strictly better here: outlier channels).
    assert.ok(e <= ref.plain[r - 1] * (1 + 1e-6), `rank ${r}: whitened ${e} > plain ${ref.plain[r - 1]}`);
  }
  assert.ok(ref.errs[3] < 0.8 * ref.plain[3], `rank 4: whitening should help with outlier channels`);
});

test('W_o-aware value factors reach the optimum of ‖X W_v (I − M) B‖ (numpy) and beat plain whitening', () => {
  const Hq = 4;
  const Hkv = 2;
  const d = W / Hkv; // 6
  const hidden = 10;
  const x = inputs(21);
  const wv = randn([D, W], 22, 0.3);
  const wo = randn([Hq * d, hidden], 23, 0.3);
  const g = gram(x);
  const ov = outputAwareValues(wv, wo, g, Hq, Hkv, 'test W_v');
  const plain = whitenedProjection(wv, g, 'test W_v');
  const ref = numpy<{ opt: number[] }>(
    `
Wv = np.array(inp["wv"], dtype=np.float64).reshape(${D}, ${W})
Wo = np.array(inp["wo"], dtype=np.float64).reshape(${Hq * d}, ${hidden})
X = np.array(inp["x"], dtype=np.float64).reshape(${N}, ${D})
B = np.zeros((${W}, ${Hq} * ${hidden}))
for h in range(${Hq}):
    g = h // (${Hq} // ${Hkv})
    B[g*${d}:(g+1)*${d}, h*${hidden}:(h+1)*${hidden}] = Wo[h*${d}:(h+1)*${d}]
T = X @ Wv @ B                                     # layer output map on the calibration inputs
s = np.linalg.svd(T, compute_uv=False)             # best rank-r error of T: Σ_{i>r} s_i² (Eckart–Young)
print(json.dumps({"opt": [float((s[r:] ** 2).sum()) for r in range(1, ${W})]}))
`,
    { wv: Array.from(wv.data), wo: Array.from(wo.data), x: Array.from(x.data) },
  );
  const outErr = (down: Tensor, upT: Tensor): number => {
    // ‖X W_v B − X W_v Down Up B‖² computed per query head through the folded W_o' (Eq. 5.9).
    const v = matmul(x, wv); // [N, W]
    const c = matmul(v, down); // [N, r]
    const folded = foldOutputProjection(upT, wo, Hq, Hkv); // [Hq·r, hidden]
    const r = down.shape[1];
    let s = 0;
    for (let h = 0; h < Hq; h++) {
      const gq = Math.floor(h / (Hq / Hkv));
      const yh = matmul(sliceCols(v, gq * d, d), rows(wo, h * d, d));
      const yc = matmul(c, rows(folded, h * r, r));
      for (let i = 0; i < yh.size; i++) s += (yh.data[i] - yc.data[i]) ** 2;
    }
    return s;
  };
  for (let r = 1; r < W; r++) {
    const e = outErr(leadingColumns(ov.down, r), leadingColumns(ov.upT, r));
    const opt = ref.opt[r - 1];
    assert.ok(Math.abs(e - opt) <= 1e-4 * opt + 1e-6, `rank ${r}: ${e} vs optimum ${opt}`);
    const tail = Array.from(ov.S.slice(r)).reduce((a, s) => a + s * s, 0);
    assert.ok(Math.abs(tail - opt) <= 1e-6 * opt + 1e-9, `rank ${r}: spectrum tail ${tail} vs ${opt}`);
    const ep = outErr(leadingColumns(plain.basis, r), leadingColumns(plain.basis, r));
    assert.ok(e <= ep * (1 + 1e-5), `rank ${r}: W_o-aware ${e} worse than plain whitened ${ep}`);
  }
});

test('oblique value factors: the cache reads values back with valueUp (reconstruct = fold)', () => {
  const Hq = 4;
  const Hkv = 2;
  const d = 6;
  const hidden = 10;
  const wv = randn([D, Hkv * d], 32, 0.3);
  const wo = randn([Hq * d, hidden], 33, 0.3);
  const ov = outputAwareValues(wv, wo, gram(inputs(31)), Hq, Hkv);
  const r = 5;
  const layer: LowRankLayer = {
    keyBasis: null,
    valueBasis: leadingColumns(ov.down, r),
    valueUp: leadingColumns(ov.upT, r),
    foldedOutput: foldOutputProjection(leadingColumns(ov.upT, r), wo, Hq, Hkv),
  };
  const mk = (valueMode: 'fold' | 'reconstruct'): LowRankKVCache =>
    new LowRankKVCache({
      numHeads: Hq,
      numKvHeads: Hkv,
      headDim: d,
      invFreq: [1, 0.1, 0.01],
      ropeStyle: 'half',
      layers: [layer],
      valueMode,
    });
  const T = 7;
  const k = randn([1, T, Hkv, d], 34);
  const v = randn([1, T, Hkv, d], 35);
  const q = randn([1, T, Hq, d], 36);
  const positions = Array.from({ length: T }, (_, i) => i);
  const hid = new Tensor(new Float32Array(T * D), [1, T, D]);
  const folded = mk('fold');
  folded.append(0, { keysPreRope: k, values: v, positions, hidden: hid });
  const recon = mk('reconstruct');
  recon.append(0, { keysPreRope: k, values: v, positions, hidden: hid });
  // ṽ = v·Down·Up: the reconstruct path must give exactly that (float32: 1e-5 relative).
  const vr = recon.read(0).values;
  const vm = matmul(matmul(v.reshape([T, Hkv * d]), layer.valueBasis!), layer.valueUp!, { transB: true });
  let err = 0;
  let scale = 0;
  for (let i = 0; i < vm.size; i++) {
    err = Math.max(err, Math.abs(vr.data[i] - vm.data[i]));
    scale = Math.max(scale, Math.abs(vm.data[i]));
  }
  assert.ok(err <= 1e-5 * scale, `reconstructed values off by ${err} (scale ${scale})`);
  // Folded attention (Eq. 5.9 with Up) = attention over the reconstructed values, then W_o.
  const f = folded.attend(0, q, positions);
  assert.ok(f && f.projected, 'fold mode attends itself');
  assert.equal(recon.attend(0, q, positions), undefined);
  const kv = recon.read(0);
  const a = attention(q, kv.keys, kv.values, { causal: true, queryOffset: 0 });
  const want = matmul(a.reshape([T, Hq * d]), wo);
  let e2 = 0;
  let s2 = 0;
  for (let i = 0; i < want.size; i++) {
    e2 = Math.max(e2, Math.abs(f.out.data[i] - want.data[i]));
    s2 = Math.max(s2, Math.abs(want.data[i]));
  }
  // float32 through two different summation orders: 1e-4 relative to the largest output.
  assert.ok(e2 <= 1e-4 * s2, `folded output off by ${e2} (scale ${s2})`);
});

function rows(t: Tensor, start: number, count: number): Tensor {
  const c = t.shape[1];
  return new Tensor(t.data.slice(start * c, (start + count) * c), [count, c]);
}

function sliceCols(t: Tensor, start: number, count: number): Tensor {
  const [n, c] = t.shape;
  const out = new Float32Array(n * count);
  for (let i = 0; i < n; i++) for (let j = 0; j < count; j++) out[i * count + j] = t.data[i * c + start + j];
  return new Tensor(out, [n, count]);
}
