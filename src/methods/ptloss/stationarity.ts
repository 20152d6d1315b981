/**
 * The stationarity equations of ℓ_PT-M in the student's logits (the proxy-teacher conditions behind
 * Eqs. 4.17-4.19), shared by the plain-TS solver and used by tests and the host-side residual check.
 *
 * Unknowns: logits z_0..z_{C-2}; the last logit is fixed at 0 (softmax is shift-invariant).
 * Residual: F_j(z) = w_j − p_j S for j < C−1 with p = softmax(z), w_c = −pᵗ_c (1 + p_c h_c(p_c)),
 * h_c(p) = Σ_m m ε_{c,m} (1 − p)^{m−1}, S = Σ_c w_c  (this is ∂ℓ_PT-M/∂z_j; see loss.ts).
 * Jacobian: with w'_c = dw_c/dp_c = −pᵗ_c (h_c + p_c h'_c) and T = Σ_c w'_c p_c,
 *   ∂F_j/∂z_k = (w'_j − S) p_j (δ_jk − p_k) − p_j p_k (w'_k − T).
 */

/** w_c and w'_c for one class: teacher prob `t`, student prob `p`, coefficients `eps[off..off+M)`. */
export function weightAndSlope(
  t: number,
  p: number,
  eps: ArrayLike<number>,
  off: number,
  order: number,
): [number, number] {
  const q = 1 - p;
  let h = 0;
  let dh = 0; // dh/dp
  for (let m = order; m >= 1; m--) {
    const e = eps[off + m - 1];
    // Horner in q for h = Σ m e q^{m-1} and dh/dq = Σ m (m-1) e q^{m-2}.
    dh = dh * q + h;
    h = h * q + m * e;
  }
  // After the loop dh holds dh/dq; dh/dp = -dh/dq.
  const w = -t * (1 + p * h);
  const dw = -t * (h - p * dh);
  return [w, dw];
}

/** Softmax of the reduced logits (last logit fixed at 0) into `p` (length C). */
export function reducedSoftmax(z: ArrayLike<number>, classes: number, p: Float64Array): void {
  let mx = 0;
  for (let j = 0; j < classes - 1; j++) mx = Math.max(mx, z[j]);
  let s = 0;
  for (let j = 0; j < classes; j++) {
    const e = Math.exp((j < classes - 1 ? z[j] : 0) - mx);
    p[j] = e;
    s += e;
  }
  for (let j = 0; j < classes; j++) p[j] /= s;
}

export interface StationarityEval {
  /** Residual F, length C−1. */
  F: Float64Array;
  /** Jacobian ∂F/∂z, (C−1)×(C−1) row-major; only filled when requested. */
  J: Float64Array;
  /** Student probabilities at z, length C. */
  p: Float64Array;
  /** Relative residual max_j |F_j| / (|w_j| + p_j |S|), the convergence measure. */
  rel: number;
}

/**
 * ℓ_PT-M at reduced logits z without the constant Σ pᵗ log pᵗ (the merit function the solver
 * descends): −Σ_c pᵗ_c log p_c + Σ_c pᵗ_c Σ_m ε_{c,m} (1 − p_c)^m.
 */
export function meritValue(
  z: ArrayLike<number>,
  teacher: ArrayLike<number>,
  tOff: number,
  eps: ArrayLike<number>,
  eOff: number,
  classes: number,
  order: number,
): number {
  let mx = 0;
  for (let j = 0; j < classes - 1; j++) mx = Math.max(mx, z[j]);
  let s = 0;
  for (let j = 0; j < classes; j++) s += Math.exp((j < classes - 1 ? z[j] : 0) - mx);
  const lse = mx + Math.log(s);
  let v = 0;
  for (let c = 0; c < classes; c++) {
    const logp = (c < classes - 1 ? z[c] : 0) - lse;
    const q = 1 - Math.exp(logp);
    let pert = 0;
    for (let m = order; m >= 1; m--) pert = (pert + eps[eOff + c * order + m - 1]) * q;
    v += teacher[tOff + c] * (pert - logp);
  }
  return v;
}

/**
 * |F_j| relative to the size of the terms it is the difference of, |w_j| + p_j |S| (0 when both are
 * 0). Each component is judged on its own scale, so classes with tiny probabilities must converge too.
 */
export function relativeResidual(F: number, w: number, p: number, S: number): number {
  const scale = Math.abs(w) + p * Math.abs(S);
  return scale > 0 ? Math.abs(F) / scale : Math.abs(F) > 0 ? Infinity : 0;
}

/** Allocate work buffers for `evaluateStationarity`. */
export function stationarityBuffers(
  classes: number,
): StationarityEval & { w: Float64Array; dw: Float64Array } {
  const k = classes - 1;
  return {
    F: new Float64Array(k),
    J: new Float64Array(k * k),
    p: new Float64Array(classes),
    rel: 0,
    w: new Float64Array(classes),
    dw: new Float64Array(classes),
  };
}

/**
 * Evaluate F (and J if `withJacobian`) at reduced logits z for one example; `teacher` at `tOff`,
 * coefficients at `eOff` (C·M values). Writes into `buf`, returns ½‖F‖².
 */
export function evaluateStationarity(
  z: ArrayLike<number>,
  teacher: ArrayLike<number>,
  tOff: number,
  eps: ArrayLike<number>,
  eOff: number,
  classes: number,
  order: number,
  withJacobian: boolean,
  buf: ReturnType<typeof stationarityBuffers>,
): number {
  const { F, J, p, w, dw } = buf;
  reducedSoftmax(z, classes, p);
  let S = 0;
  let T = 0;
  for (let c = 0; c < classes; c++) {
    const t = teacher[tOff + c];
    const q = 1 - p[c];
    const off = eOff + c * order;
    let h = 0;
    let dhq = 0;
    for (let m = order; m >= 1; m--) {
      dhq = dhq * q + h;
      h = h * q + m * eps[off + m - 1];
    }
    const wc = -t * (1 + p[c] * h);
    const dwc = -t * (h - p[c] * dhq);
    w[c] = wc;
    dw[c] = dwc;
    S += wc;
    T += dwc * p[c];
  }
  const k = classes - 1;
  let phi = 0;
  let rel = 0;
  for (let j = 0; j < k; j++) {
    F[j] = w[j] - p[j] * S;
    phi += F[j] * F[j];
    rel = Math.max(rel, relativeResidual(F[j], w[j], p[j], S));
  }
  buf.rel = rel;
  if (withJacobian) {
    for (let j = 0; j < k; j++) {
      for (let l = 0; l < k; l++) {
        const d = j === l ? 1 : 0;
        J[j * k + l] = (dw[j] - S) * p[j] * (d - p[l]) - p[j] * p[l] * (dw[l] - T);
      }
    }
  }
  return 0.5 * phi;
}
