/** Central finite differences, the independent reference every analytic gradient is tested against. */
import { ConfigError } from '../errors';

/**
 * ∂f/∂θ_k ≈ (f(θ + h e_k) − f(θ − h e_k)) / 2h for the indices given (all by default); θ is
 * restored after each probe. Truncation error O(h²·f‴); in float64 with h ≈ 1e-5 rounding adds
 * ≈ 1e-16·|f|/h ≈ 1e-11·|f|.
 */
export function finiteDifferences(
  f: (theta: Float64Array) => number,
  theta: Float64Array,
  h = 1e-5,
  indices?: ArrayLike<number>,
): Float64Array {
  if (!(h > 0)) throw new ConfigError(`finiteDifferences: step ${h} must be positive`);
  const idx = indices ?? Int32Array.from({ length: theta.length }, (_, i) => i);
  const out = new Float64Array(idx.length);
  for (let q = 0; q < idx.length; q++) {
    const k = idx[q];
    const v = theta[k];
    theta[k] = v + h;
    const fp = f(theta);
    theta[k] = v - h;
    const fm = f(theta);
    theta[k] = v;
    out[q] = (fp - fm) / (2 * h);
  }
  return out;
}
