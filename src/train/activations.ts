/** Hidden-layer nonlinearities and their derivatives (element-wise, in place). */
import type { HiddenActivation, Vec } from './types';

const GELU_C = Math.sqrt(2 / Math.PI);

/** out[i] = act(pre[i]). */
export function applyActivation(kind: HiddenActivation, pre: Vec, out: Vec): void {
  const n = pre.length;
  if (kind === 'relu') {
    for (let i = 0; i < n; i++) out[i] = pre[i] > 0 ? pre[i] : 0;
  } else if (kind === 'tanh') {
    for (let i = 0; i < n; i++) out[i] = Math.tanh(pre[i]);
  } else {
    // GELU, tanh form: ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
    for (let i = 0; i < n; i++) {
      const x = pre[i];
      out[i] = 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x)));
    }
  }
}

/** g[i] *= act'(pre[i]) — the derivative mask of the backward pass (ReLU: 1 where pre > 0, else 0). */
export function multiplyDerivative(kind: HiddenActivation, pre: Vec, g: Vec): void {
  const n = pre.length;
  if (kind === 'relu') {
    for (let i = 0; i < n; i++) if (!(pre[i] > 0)) g[i] = 0;
  } else if (kind === 'tanh') {
    for (let i = 0; i < n; i++) {
      const t = Math.tanh(pre[i]);
      g[i] *= 1 - t * t;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const x = pre[i];
      const u = GELU_C * (x + 0.044715 * x * x * x);
      const t = Math.tanh(u);
      const du = GELU_C * (1 + 3 * 0.044715 * x * x);
      g[i] *= 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
    }
  }
}
