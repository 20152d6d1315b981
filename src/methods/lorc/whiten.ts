/**
 * Data-aware low-rank bases for the KV cache (beyond the thesis): whitened SVD of the K/V projections,
 * as SVD-LLM / ASVD / Palu do, and value bases chosen through the output projection W_o.
 *
 * Why. The thesis truncates the SVD of the weights alone (Eq. 5.6), which minimises ‖W − Ŵ‖_F: every
 * input direction counts the same. The inputs of SmolLM2's attention (after RMSNorm) are far from
 * isotropic: a few hidden channels carry hundreds of times the mean channel energy, so a weight-only
 * truncation can drop directions that matter most for the actual keys and values. What matters is the
 * error on the data, ‖X(W − Ŵ)‖_F over calibration inputs X [N, D].
 *
 * Keys (whitened SVD). Let XᵀX = S Sᵀ (Cholesky, S lower). Then ‖X A‖_F = ‖Sᵀ A‖_F for any A, so the
 * best rank-r Ŵ in the data norm is S⁻ᵀ·trunc_r(Sᵀ W) ("whiten, truncate, un-whiten"; in PyTorch's
 * [out, in] layout: SVD of W·S). With Sᵀ W = P Σ Qᵀ that is Ŵ = W·Q_r Q_rᵀ: the truncation is again an
 * orthogonal projection of the OUTPUT (key) space, onto the top right singular vectors Q_r of Sᵀ W. So
 * the cache keeps its form (store k·Q_r, read back c·Q_rᵀ) with a different basis.
 * We compute Q and Σ from the small w × w matrix C = Wᵀ XᵀX W = (SᵀW)ᵀ(SᵀW): with its Cholesky factor
 * C = RᵀR, Sᵀ W = (orthonormal)·R, so C's eigenvectors and √eigenvalues are exactly the right singular vectors and
 * singular values of Sᵀ W (tests compare with numpy's SVD of W·S built from an explicit Cholesky factor of
 * XᵀX).
 *
 * Values through W_o (our choice of objective). A value row v = x·W_v reaches the layer output only as
 * v_g·W_o,h for each query head h reading K/V head g (attention mixes rows of V, which the truncation
 * commutes with). Ignoring the attention weights, the output error of a value map M (v ↦ v·M) is
 * ‖X W_v (I − M) B‖_F with B [w, Hq·hidden] holding W_o,h in block (g(h), h). With A = Sᵀ W_v = (orth.)·R_v
 * and BBᵀ block-diagonal (Σ_{h∈g} W_o,h W_o,hᵀ per K/V head), the best rank-r map is
 *   M_r = Down_r·Up_r,  Down = R_v⁻¹ P',  Up = P'ᵀ R_v,   with P', Σ' the left singular vectors and
 *   values of R_v·B (eigen-decomposition of R_v·BBᵀ·R_vᵀ),
 * an oblique projection (M² = M): the cache stores c = v·Down_r (r numbers) and the output projection is
 * folded with Up_r (Eq. 5.9 with Up_r in place of V_cᵀ). Its residual is Σ_{i>r} σ'_i².
 */
import { CholeskyDecomposition, EigenvalueDecomposition, Matrix } from 'ml-matrix';
import type { KVAppend, KVAttendResult, KVCache, KVRead } from '../../models/kv-cache';
import type { LlamaModel } from '../../models/llama';
import { Tensor, matmul } from '../../ops';
import { ShapeError, ValueError } from '../../errors';
import type { EvalWindows, ScoreOptions } from './windows';
import type { LorcAnalysis } from './model';

/** Second moments of each layer's attention input (after RMSNorm) over calibration tokens. */
export interface CalibrationStats {
  /** XᵀX per layer, [D·D] row-major, float64. */
  grams: Float64Array[];
  /** Input width D. */
  hidden: number;
  /** Calibration tokens accumulated. */
  tokens: number;
  /** What the calibration text was (for records). */
  text: string;
}

/** A KV cache that passes everything to an inner cache and accumulates Σ hᵀh of each layer's input. */
class GramRecorder implements KVCache {
  readonly numLayers: number;
  constructor(
    private readonly inner: KVCache,
    private readonly grams: Float64Array[],
    private readonly hidden: number,
  ) {
    this.numLayers = inner.numLayers;
  }
  length(layer: number): number {
    return this.inner.length(layer);
  }
  append(layer: number, entry: KVAppend): void {
    const h = entry.hidden;
    const rows = h.size / this.hidden;
    const x = h.reshape([rows, this.hidden]);
    const g = matmul(x, x, { transA: true }).data; // [D, D] = xᵀx (float32 over one window)
    const acc = this.grams[layer];
    for (let i = 0; i < acc.length; i++) acc[i] += g[i];
    this.inner.append(layer, entry);
  }
  read(layer: number): KVRead {
    return this.inner.read(layer);
  }
  attend(layer: number, q: Tensor, positions: readonly number[]): KVAttendResult | undefined {
    return this.inner.attend?.(layer, q, positions);
  }
  bytes(): number {
    return this.inner.bytes();
  }
  bytesByLayer(): number[] {
    return this.inner.bytesByLayer();
  }
  clear(): void {
    this.inner.clear();
  }
}

/**
 * Run the uncompressed model over calibration windows and collect XᵀX of every layer's attention input
 * (the RMSNorm output that W_q, W_k, W_v read). Calibration text must be disjoint from evaluation text.
 */
export function calibrate(
  model: LlamaModel,
  windows: EvalWindows,
  opts: ScoreOptions = {},
): CalibrationStats {
  if (!windows || !Array.isArray(windows.windows) || windows.windows.length === 0)
    throw new ValueError('calibrate: no calibration windows');
  const D = model.config.hidden;
  const grams = Array.from({ length: model.config.numLayers }, () => new Float64Array(D * D));
  let tokens = 0;
  windows.windows.forEach((ids, i) => {
    model.forward(ids, new GramRecorder(model.createCache(), grams, D), { logits: 'none' });
    tokens += ids.length;
    opts.onProgress?.(i + 1, windows.windows.length);
  });
  return { grams, hidden: D, tokens, text: windows.text };
}

/** Per-layer channel energy of the attention inputs: how uneven the hidden channels are. */
export interface ChannelEnergy {
  /** max_j E[x_j²] / mean_j E[x_j²] per layer. */
  maxOverMean: number[];
  /** The channel with the largest energy per layer. */
  topChannel: number[];
}

/** Channel energies E[x_j²] = (XᵀX)_jj / N of each layer's attention input, summarised. */
export function channelEnergy(stats: CalibrationStats): ChannelEnergy {
  const D = stats.hidden;
  const maxOverMean: number[] = [];
  const topChannel: number[] = [];
  for (const g of stats.grams) {
    let sum = 0;
    let max = -Infinity;
    let arg = 0;
    for (let j = 0; j < D; j++) {
      const e = g[j * D + j];
      sum += e;
      if (e > max) [max, arg] = [e, j];
    }
    maxOverMean.push(max / (sum / D));
    topChannel.push(arg);
  }
  return { maxOverMean, topChannel };
}

/** Cholesky C = RᵀR (R upper) of a symmetric positive semi-definite matrix, with a tiny ridge if needed. */
function upperCholesky(c: Matrix, what: string): Matrix {
  const n = c.rows;
  let trace = 0;
  for (let i = 0; i < n; i++) trace += c.get(i, i);
  if (!(trace > 0) || !Number.isFinite(trace))
    throw new ValueError(`${what}: the second-moment matrix is zero or not finite (trace ${trace})`);
  for (const ridge of [0, 1e-10, 1e-8, 1e-6]) {
    const m = c.clone();
    for (let i = 0; i < n; i++) m.set(i, i, m.get(i, i) + (ridge * trace) / n);
    const chol = new CholeskyDecomposition(m);
    if (chol.isPositiveDefinite()) return chol.lowerTriangularMatrix.transpose();
  }
  throw new ValueError(`${what}: second-moment matrix is not positive definite even with a ridge`);
}

function toTensor(m: Matrix): Tensor {
  const out = new Float32Array(m.rows * m.columns);
  for (let i = 0; i < m.rows; i++) for (let j = 0; j < m.columns; j++) out[i * m.columns + j] = m.get(i, j);
  return new Tensor(out, [m.rows, m.columns]);
}

/** Wᵀ G W for W [D, w] and G [D·D] (float64). */
function projectedGram(w: Tensor, gram: Float64Array): Matrix {
  const [D, n] = w.shape;
  if (gram.length !== D * D)
    throw new ShapeError(`whitened basis: X\u1d40X has ${gram.length} entries, W has ${D} input rows`);
  const gw = new Float64Array(D * n); // G·W
  for (let i = 0; i < D; i++) {
    const gRow = i * D;
    const out = i * n;
    for (let k = 0; k < D; k++) {
      const g = gram[gRow + k];
      if (g === 0) continue;
      const wRow = k * n;
      for (let j = 0; j < n; j++) gw[out + j] += g * w.data[wRow + j];
    }
  }
  const c = new Matrix(n, n);
  for (let a = 0; a < n; a++) {
    for (let b = a; b < n; b++) {
      let s = 0;
      for (let i = 0; i < D; i++) s += w.data[i * n + a] * gw[i * n + b];
      c.set(a, b, s);
      c.set(b, a, s);
    }
  }
  return c;
}

/**
 * Eigen-decomposition of a symmetric positive semi-definite matrix M = Q Λ Qᵀ, eigenvalues descending
 * (tiny negative rounding clamped to 0). For M = ZᵀZ, Q are Z's right singular vectors and √Λ its
 * singular values; ~3× faster here than an SVD of Z (ml-matrix), accurate for every σ_i ≫ √ε·σ_1.
 */
function symmetricEig(m: Matrix): { values: Float64Array; vectors: Matrix } {
  const e = new EigenvalueDecomposition(m, { assumeSymmetric: true });
  const vals = e.realEigenvalues;
  const order = vals.map((_, i) => i).sort((a, b) => vals[b] - vals[a]);
  const q = e.eigenvectorMatrix;
  const vectors = new Matrix(m.rows, m.columns);
  order.forEach((src, dst) => {
    for (let i = 0; i < m.rows; i++) vectors.set(i, dst, q.get(i, src));
  });
  return { values: Float64Array.from(order, (i) => Math.max(0, vals[i])), vectors };
}

/** A whitened decomposition of one projection: ordered basis columns and the whitened spectrum. */
export interface WhitenedProjection {
  /** Q [w, w]: right singular vectors of Sᵀ W, columns by decreasing σ (keys: store k·Q_r). */
  basis: Tensor;
  /** Singular values of Sᵀ W (= √ of the data energy each direction carries), descending. */
  S: Float64Array;
}

/**
 * Whitened SVD of W [D, w] (thesis layout, K = X·W) under calibration second moment G = XᵀX: the
 * right singular vectors and singular values of Sᵀ W, S the Cholesky factor of G (see file comment).
 * Truncating to the first r columns of `basis` minimises ‖X(W − Ŵ)‖_F over rank-r Ŵ.
 */
export function whitenedProjection(w: Tensor, gram: Float64Array, name = 'W'): WhitenedProjection {
  if (w.rank !== 2)
    throw new ShapeError(`whitenedProjection(${name}): expected a matrix, got [${w.shape.join(', ')}]`);
  // C = Wᵀ XᵀX W = (SᵀW)ᵀ(SᵀW): its eigenvectors are the right singular vectors of SᵀW, √λ its σ.
  const { values, vectors } = symmetricEig(projectedGram(w, gram));
  return { basis: toTensor(vectors), S: values.map(Math.sqrt) };
}

/** Down/up factors of a value map chosen through W_o (see file comment); slice the first r columns. */
export interface OutputAwareValues {
  /** Down [w, w]: the cache stores c = v·Down[:, :r]. */
  down: Tensor;
  /** Upᵀ [w, w]: values read back as ṽ = c·Upᵀ[:, :r]ᵀ; W_o is folded with Upᵀ[:, :r] (Eq. 5.9). */
  upT: Tensor;
  /** Singular values of R_v·L (output energy per direction), descending. */
  S: Float64Array;
}

/**
 * Value factors that minimise the layer-output error ‖X W_v (I − Down_r Up_r) B‖_F for every rank r at
 * once (the W_o-aware objective of the file comment). wv [D, Hkv·d], wo [Hq·d, hidden] in thesis layout.
 */
export function outputAwareValues(
  wv: Tensor,
  wo: Tensor,
  gram: Float64Array,
  numHeads: number,
  numKvHeads: number,
  name = 'W_v',
): OutputAwareValues {
  const w = wv.shape[1];
  const d = w / numKvHeads;
  if (!Number.isInteger(d) || wo.rank !== 2 || wo.shape[0] !== numHeads * d || numHeads % numKvHeads !== 0)
    throw new ShapeError(
      `outputAwareValues(${name}): W_v [${wv.shape.join(', ')}] with ${numKvHeads} K/V heads does not fit W_o [${wo.shape.join(', ')}] with ${numHeads} heads`,
    );
  const rv = upperCholesky(projectedGram(wv, gram), `outputAwareValues(${name})`);
  // BBᵀ: block g = Σ_{h in group g} W_o,h W_o,hᵀ (d × d), zero between different K/V heads.
  const hidden = wo.shape[1];
  const group = numHeads / numKvHeads;
  const bbt = new Matrix(w, w);
  for (let h = 0; h < numHeads; h++) {
    const g = Math.floor(h / group);
    for (let a = 0; a < d; a++) {
      const ra = (h * d + a) * hidden;
      for (let b = a; b < d; b++) {
        const rb = (h * d + b) * hidden;
        let s = 0;
        for (let j = 0; j < hidden; j++) s += wo.data[ra + j] * wo.data[rb + j];
        bbt.set(g * d + a, g * d + b, bbt.get(g * d + a, g * d + b) + s);
        if (b !== a) bbt.set(g * d + b, g * d + a, bbt.get(g * d + b, g * d + a) + s);
      }
    }
  }
  // Left singular vectors and values of R_v·B from (R_v B)(R_v B)ᵀ = R_v·BBᵀ·R_vᵀ.
  const { values, vectors: U } = symmetricEig(rv.mmul(bbt).mmul(rv.transpose()));
  const S = values.map(Math.sqrt);
  // Down = R_v⁻¹ U (R_v upper triangular), Upᵀ = R_vᵀ U.
  const down = solveUpper(rv, U);
  const upT = rv.transpose().mmul(U);
  return { down: toTensor(down), upT: toTensor(upT), S };
}

/** X = R⁻¹ B for upper-triangular R (back substitution, column by column). */
function solveUpper(r: Matrix, b: Matrix): Matrix {
  const n = r.rows;
  const x = new Matrix(n, b.columns);
  for (let c = 0; c < b.columns; c++) {
    for (let i = n - 1; i >= 0; i--) {
      let s = b.get(i, c);
      for (let k = i + 1; k < n; k++) s -= r.get(i, k) * x.get(k, c);
      x.set(i, c, s / r.get(i, i));
    }
  }
  return x;
}

/** Data-aware bases of every layer: whitened keys and W_o-aware (or whitened) values. */
export interface WhitenedAnalysis {
  /** Per layer: the key basis, the value down/up factors and their spectra. */
  layers: { key: WhitenedProjection; value: OutputAwareValues }[];
  /** The calibration the bases were fitted on. */
  calibration: { text: string; tokens: number };
  /** 'output' (W_o-aware values, default) or 'whitened' (values whitened like keys). */
  valueObjective: 'output' | 'whitened';
  /** Wall time, ms. */
  ms: number;
}

/** Options of `whiten`. */
export interface WhitenOptions {
  /** Value objective: through W_o ('output', default) or the whitened value error alone ('whitened'). */
  valueObjective?: 'output' | 'whitened';
  onProgress?: (done: number, total: number) => void;
}

/**
 * Fit data-aware bases for every layer of an analysed model (the thesis's `analyse` gives shapes and
 * weights; `calibrate` gives XᵀX). Beyond the thesis: SVD-LLM-style whitening, W_o-aware values.
 */
export function whiten(
  analysis: LorcAnalysis,
  stats: CalibrationStats,
  opts: WhitenOptions = {},
): WhitenedAnalysis {
  if (stats.grams.length !== analysis.weights.length)
    throw new ShapeError(
      `whiten: calibration has ${stats.grams.length} layers, the analysis ${analysis.weights.length}`,
    );
  const objective = opts.valueObjective ?? 'output';
  if (objective !== 'output' && objective !== 'whitened')
    throw new ValueError(`whiten: valueObjective "${String(objective)}" is neither 'output' nor 'whitened'`);
  const t0 = performance.now();
  const { numHeads, numKvHeads } = analysis.shape;
  const layers = analysis.weights.map((w, l) => {
    const key = whitenedProjection(w.wk, stats.grams[l], `layer ${l} W_k`);
    let value: OutputAwareValues;
    if (objective === 'output') {
      value = outputAwareValues(w.wv, w.wo, stats.grams[l], numHeads, numKvHeads, `layer ${l} W_v`);
    } else {
      const p = whitenedProjection(w.wv, stats.grams[l], `layer ${l} W_v`);
      value = { down: p.basis, upT: p.basis, S: p.S };
    }
    opts.onProgress?.(l + 1, analysis.weights.length);
    return { key, value };
  });
  return {
    layers,
    calibration: { text: stats.text, tokens: stats.tokens },
    valueObjective: objective,
    ms: performance.now() - t0,
  };
}

/** The first r columns of a [w, w] tensor as [w, r]. */
export function leadingColumns(t: Tensor, r: number): Tensor {
  const [rows, cols] = t.shape;
  if (!Number.isInteger(r) || r < 1 || r > cols)
    throw new ShapeError(`leadingColumns: rank ${r} outside 1..${cols}`);
  const out = new Float32Array(rows * r);
  for (let i = 0; i < rows; i++) for (let j = 0; j < r; j++) out[i * r + j] = t.data[i * cols + j];
  return new Tensor(out, [rows, r]);
}
