/**
 * The plain types the ops and their backend kernels share: each op's validated "plan" (shapes and
 * constants a kernel needs) and the small enums. They live apart from the op files so that
 * kernel-types.ts, which the registry reads, depends on no op module (no import cycle).
 */
export type Activation = 'silu' | 'gelu' | 'gelu_tanh';

/** What a row kernel computes: probabilities, log-probabilities, or the row's logsumexp. */
export type RowSoftmaxMode = 'softmax' | 'logSoftmax' | 'logSumExp';

export interface SolverSettings {
  /** Newton steps allowed per example. */
  maxIterations: number;
  /** Converged when every |F_j| ≤ tolerance · (|w_j| + p_j |S|). */
  tolerance: number;
  /** Largest change of any logit in one step (keeps early steps from overflowing exp). */
  maxStep: number;
}

/** A checked attention call: sizes, causal offset, scale and the key mask. */
export interface AttentionDims {
  B: number;
  T: number;
  S: number;
  Hq: number;
  Hkv: number;
  D: number;
  offset: number;
  scale: number;
  causal: boolean;
  /** Key mask [B·S] (≥ 0.5 keeps the key), or undefined. */
  mask: Float32Array | undefined;
}

/** A checked cosine matrix: n rows of a, m rows of b, width d. */
export interface CosinePlan {
  n: number;
  m: number;
  d: number;
  /** 1 / ‖a_i‖ per row of a (float64 sums), when the op has computed them while checking a. */
  invNormA?: Float64Array;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'maximum' | 'minimum' | 'pow';

export type UnaryOp =
  'exp' | 'log' | 'sqrt' | 'abs' | 'neg' | 'relu' | 'sigmoid' | 'tanh' | 'square' | 'reciprocal';

/** A checked broadcast: the result shape padded to rank 4 and each operand's strides (0 = broadcast). */
export interface BroadcastPlan {
  shape: number[];
  n: number;
  /** The result's dimensions, left-padded with 1 to rank 4. */
  dims: number[];
  aStrides: number[];
  bStrides: number[];
  /** Both operands have the result's shape (a plain zip, no index arithmetic). */
  same: boolean;
}

/** A checked reconstruct + RoPE: batch, positions, compressed width, K/V heads, head dim, pairing. */
export interface FusedDims {
  B: number;
  S: number;
  dc: number;
  Hkv: number;
  D: number;
  interleaved: boolean;
  /** Where the keys go (B·S·Hkv·D floats), if the caller gave a buffer; a kernel may write there directly. */
  out?: Float32Array;
}

/** A checked folded attention: sizes, compressed width d_c, output width and the query offset. */
export interface FoldedDims {
  B: number;
  T: number;
  Hq: number;
  D: number;
  S: number;
  Hkv: number;
  dc: number;
  hidden: number;
  offset: number;
}

/** A checked matmul: sizes, layouts and the element strides every backend reads with. */
export interface MatmulPlan {
  batch: number;
  M: number;
  K: number;
  N: number;
  transA: boolean;
  transB: boolean;
  /** Stride between rows i of op(A) / along k of op(A). */
  aRow: number;
  aCol: number;
  /** Stride along k of op(B) / between columns j of op(B). */
  bRow: number;
  bCol: number;
  /** Elements between batches (0 when the operand broadcasts). */
  aBatch: number;
  bBatch: number;
  /** Result shape: [batch, M, N] when either operand is rank 3, else [M, N]. */
  shape: number[];
}

/** A checked linear layer: x viewed as [M, K], W [N, K], optional bias [N]. */
export interface LinearPlan {
  M: number;
  K: number;
  N: number;
  /** Result shape [..., N] (x's leading axes kept). */
  shape: number[];
}

/** A checked norm: x viewed as [rows, cols], the ε under the square root. */
export interface NormPlan {
  rows: number;
  cols: number;
  eps: number;
}

/** Raw per-example solver output (reduced logits, last logit 0). Index: trial · examples + example. */
export interface RawSolve {
  /** [examples·trials, C−1] reduced logits. */
  logits: Float64Array;
  /** Newton steps taken per example. */
  iterations: Int32Array;
  /** 1 converged, 0 not, 2 stalled within float32 resolution near a solution (gl; the float64 polish decides). */
  converged: Uint8Array;
  /** Float64 relative residual at the returned logits, where the solver computed it (NaN otherwise). */
  residual?: Float64Array;
}

/** A checked proxy problem: teacher [N, C] probabilities and initial logits, ε [T, C, M]. */
export interface ProxyProblem {
  teacher: ArrayLike<number>;
  teacherLogits: ArrayLike<number>;
  eps: ArrayLike<number>;
  examples: number;
  classes: number;
  order: number;
  trials: number;
  settings: SolverSettings;
}

/** The generator's constants: seed words, 12-bit split multipliers, adders, and the output mode. */
export interface RngConsts {
  s0: number;
  s1: number;
  a0h: number;
  a0l: number;
  a1h: number;
  a1l: number;
  a2h: number;
  a2l: number;
  a3h: number;
  a3l: number;
  c0: number;
  c1: number;
  c2: number;
  c3: number;
  p: number;
  scale: number;
  mode: number;
}

export type Reduction = 'sum' | 'mean' | 'variance' | 'max' | 'min';

/** A checked reduction: x viewed as [outer, L, inner], reduced along L. */
export interface ReducePlan {
  outer: number;
  L: number;
  inner: number;
  ddof: number;
  shape: number[];
}

export interface RopeTables {
  /** cos θ, shape [T, D/2]. */
  cos: Float32Array;
  /** sin θ, shape [T, D/2]. */
  sin: Float32Array;
}

/** A checked RoPE: x [T, H, D] and its pairing. */
export interface RopePlan {
  T: number;
  H: number;
  D: number;
  interleaved: boolean;
}

/** A checked row op over the last axis: [rows, cols]; masked entries are -Infinity. */
export interface RowsPlan {
  rows: number;
  cols: number;
  mode: RowSoftmaxMode;
  /** Whether any entry is -Infinity (kernels that cannot carry infinities clamp then restore). */
  masked: boolean;
}

/** A checked top-k: x viewed as [rows, cols], k per row. */
export interface TopkPlan {
  rows: number;
  cols: number;
  k: number;
}

/**
 * How a kernel may treat x: 'f32' (default) multiplies the float32 values; 'i16' lets a kernel round
 * decode-sized inputs (< 8 rows) per 32-value block to int16 (x ≈ q·s, s = max|x_block| / 32767) and
 * multiply in int32, ≈ 2× faster on the wasm backend; per output the extra error is at most
 * Σ_blocks (s/2)·Σ|w| (backends without such a kernel stay exact).
 */
export type QuantActivations = 'f32' | 'i16';

/** The shape plan of a quantized linear layer with its activation rounding (see QuantActivations). */
export interface QuantLinearPlan extends LinearPlan {
  activations: QuantActivations;
}
