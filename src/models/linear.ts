/**
 * y = x · Wᵀ (+ b) for a weight stored [out, in] (the `nn.Linear` / GGUF row layout). The kernels live
 * behind the ops index (`linear` from src/ops, run on the selected backend); these names remain for
 * code written against the models' former plain-TS kernel.
 */
import { Tensor, linear, linearReference as opsLinearReference, withBackend } from '../ops';

/** @deprecated Use `linear` from the ops index; this runs it on the `js` backend. */
export function linearJs(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  return withBackend('js', () => linear(x, w, bias, what));
}

/** Float64 reference for y = x · Wᵀ + b (the ops' `linearReference`). */
export function linearReference(x: Tensor, w: Tensor, bias?: Tensor, what = 'linear'): Tensor {
  return opsLinearReference(x, w, bias, what);
}
