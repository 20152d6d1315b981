/** Shared types of the small-network trainer. */

/**
 * Number format of a model's parameters and activations. `float32` runs every matrix product through
 * the ops layer's `matmul` on the current backend (the production path); `float64` runs them as plain
 * float64 loops, the reference precision in which gradients are checked by finite differences.
 */
export type Precision = 'float32' | 'float64';

/** A flat parameter or activation buffer in the model's precision. */
export type Vec = Float32Array | Float64Array;

/** A row-major [rows, cols] matrix (an ops `Tensor` or a PTLoss `Matrix64` fits). */
export interface MatrixLike {
  readonly data: ArrayLike<number>;
  readonly shape: readonly number[];
}

/** A float64 [rows, cols] matrix produced by the trainer. */
export interface Matrix64 {
  readonly data: Float64Array;
  readonly shape: readonly [number, number];
}

/** Hidden-layer nonlinearity. `gelu` is the tanh approximation (PyTorch `GELU(approximate='tanh')`). */
export type HiddenActivation = 'relu' | 'gelu' | 'tanh';
