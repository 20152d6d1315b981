"""Reference proxy-teacher solver for efflab's PTLoss: scipy.optimize.fsolve per example.

Reads JSON {teacher: [[...]] (N x C probabilities), coefficients: [[[...]]] (T x C x M)} from the file
named on the command line (or stdin) and writes JSON {probs: T x N x C, ok: T x N, seconds: float}.
The equations are the stationarity conditions of the PTLoss in the student's logits, last logit fixed
at 0, with the analytic Jacobian passed as fprime and the teacher's logits as x0 (thesis section
4.5.2); all other fsolve parameters are scipy's defaults.
"""

import json
import sys
import time

import numpy as np
from scipy.optimize import fsolve


def weights(t, p, eps):
    """w_c = -t_c (1 + p_c h_c(p_c)) and dw_c/dp_c, with h_c(p) = sum_m m eps_cm (1-p)^(m-1)."""
    q = 1.0 - p
    M = eps.shape[1]
    m = np.arange(1, M + 1, dtype=float)
    h = (m * eps * q[:, None] ** (m - 1)).sum(axis=1)
    dh_dq = (m * (m - 1) * eps * np.where(m >= 2, q[:, None] ** np.maximum(m - 2, 0), 0.0)).sum(axis=1)
    w = -t * (1.0 + p * h)
    dw = -t * (h - p * dh_dq)
    return w, dw


def probs_of(z):
    full = np.append(z, 0.0)
    full = full - full.max()
    e = np.exp(full)
    return e / e.sum()


def residual(z, t, eps):
    p = probs_of(z)
    w, _ = weights(t, p, eps)
    return (w - p * w.sum())[:-1]


def jacobian(z, t, eps):
    p = probs_of(z)
    w, dw = weights(t, p, eps)
    S = w.sum()
    T = (dw * p).sum()
    k = len(z)
    pj = p[:k]
    J = (dw[:k] - S)[:, None] * pj[:, None] * (np.eye(k) - pj[None, :]) - pj[:, None] * pj[None, :] * (
        dw[:k] - T
    )[None, :]
    return J


def solve_all(teacher, coefficients):
    teacher = np.asarray(teacher, dtype=float)
    coefficients = np.asarray(coefficients, dtype=float)
    T = coefficients.shape[0]
    N, C = teacher.shape
    probs = np.zeros((T, N, C))
    ok = np.zeros((T, N), dtype=bool)
    logt = np.log(teacher)
    start = time.perf_counter()
    for tr in range(T):
        eps = coefficients[tr]
        for n in range(N):
            t = teacher[n]
            x0 = logt[n, :-1] - logt[n, -1]
            z, info, ier, _msg = fsolve(residual, x0, args=(t, eps), fprime=jacobian, full_output=True)
            probs[tr, n] = probs_of(z)
            ok[tr, n] = ier == 1
    seconds = time.perf_counter() - start
    return probs, ok, seconds


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    job = json.load(src)
    probs, ok, seconds = solve_all(job["teacher"], job["coefficients"])
    json.dump({"probs": probs.tolist(), "ok": ok.astype(int).tolist(), "seconds": seconds}, sys.stdout)


if __name__ == "__main__":
    main()
