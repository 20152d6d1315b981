"""Reference proxy-teacher solver for efflab's PTLoss: scipy.optimize.fsolve per example.

Reads JSON {teacher: [[...]] (N x C probabilities), coefficients: [[[...]]] (T x C x M)} from the file
named on the command line (or stdin) and writes JSON {probs: T x N x C, ok: T x N, seconds: float}; with a
second argument it writes the probabilities (float64) and flags (uint8) there as raw bytes and prints a
summary (time, unsolved count, and with `labels` in the job the quality score of Eq. 4.20 per trial and the
best trial, as Algorithm 2 picks it).
The equations are the stationarity conditions of the PTLoss in the student's logits, last logit fixed
at 0, with the analytic Jacobian passed as fprime and the teacher's logits as x0 (thesis section
4.5.2); all other fsolve parameters are scipy's defaults.
"""

import json
import math
import sys
import time

import numpy as np
from scipy.optimize import fsolve


def weights(t, p, eps):
    """w_c = -t_c (1 + p_c h_c(p_c)) and dw_c/dp_c, h_c(p) = sum_m m eps_cm (1-p)^(m-1) (scalar Python:
    for a handful of classes this is several times faster than numpy on tiny arrays)."""
    w = []
    dw = []
    for tc, pc, row in zip(t, p, eps):
        q = 1.0 - pc
        h = 0.0
        dh = 0.0  # dh/dq
        for m in range(len(row), 0, -1):
            dh = dh * q + h
            h = h * q + m * row[m - 1]
        w.append(-tc * (1.0 + pc * h))
        dw.append(-tc * (h - pc * dh))
    return w, dw


def probs_of(z):
    full = list(z) + [0.0]
    mx = max(full)
    e = [math.exp(v - mx) for v in full]
    s = sum(e)
    return [v / s for v in e]


def residual(z, t, eps):
    p = probs_of(z)
    w, _ = weights(t, p, eps)
    S = sum(w)
    return [w[j] - p[j] * S for j in range(len(z))]


def jacobian(z, t, eps):
    p = probs_of(z)
    w, dw = weights(t, p, eps)
    S = sum(w)
    T = sum(a * b for a, b in zip(dw, p))
    k = len(z)
    return [
        [(dw[j] - S) * p[j] * ((1.0 if j == l else 0.0) - p[l]) - p[j] * p[l] * (dw[l] - T) for l in range(k)]
        for j in range(k)
    ]


def solve_all(teacher, coefficients):
    teacher = np.asarray(teacher, dtype=float)
    coefficients = np.asarray(coefficients, dtype=float)
    T = coefficients.shape[0]
    N, C = teacher.shape
    probs = np.zeros((T, N, C))
    ok = np.zeros((T, N), dtype=bool)
    logt = np.log(teacher)
    start = time.perf_counter()
    cpu_start = time.process_time()
    for tr in range(T):
        eps = coefficients[tr].tolist()
        for n in range(N):
            t = teacher[n].tolist()
            x0 = logt[n, :-1] - logt[n, -1]
            z, info, ier, _msg = fsolve(residual, x0, args=(t, eps), fprime=jacobian, full_output=True)
            probs[tr, n] = probs_of(z)
            ok[tr, n] = ier == 1
    seconds = time.perf_counter() - start
    solve_all.cpu_seconds = time.process_time() - cpu_start
    return probs, ok, seconds


def quality(probs, ok, labels):
    """Q-hat of Eq. 4.20 per trial over the solved examples (NaN when none solved)."""
    T, N, C = probs.shape
    onehot = np.eye(C)[labels]
    out = []
    for tr in range(T):
        m = ok[tr]
        if not m.any():
            out.append(float("nan"))
            continue
        p = probs[tr][m]
        dist = np.sqrt(((p - onehot[m]) ** 2).sum(axis=1)).mean() ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            plogp = np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
        out.append(float(dist + (plogp**2).mean()))
    return out


def main():
    src = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    job = json.load(src)
    probs, ok, seconds = solve_all(job["teacher"], job["coefficients"])
    if len(sys.argv) > 2:
        # Large runs: raw float64 probabilities then uint8 flags to a file, summary as JSON.
        with open(sys.argv[2], "wb") as f:
            f.write(probs.astype("<f8").tobytes())
            f.write(ok.astype(np.uint8).tobytes())
        summary = {"seconds": seconds, "cpu_seconds": solve_all.cpu_seconds, "unsolved": int((~ok).sum())}
        if "labels" in job:
            # Q-hat and the best pick are part of Algorithm 2 on both sides: timed too (numpy).
            q0, qc0 = time.perf_counter(), time.process_time()
            q = quality(probs, ok, np.asarray(job["labels"], dtype=int))
            eligible = [i for i in range(len(q)) if ok[i].all()]
            best = min(eligible, key=lambda i: q[i]) if eligible else None
            summary["quality_seconds"] = time.perf_counter() - q0
            summary["cpu_seconds"] += time.process_time() - qc0
            summary["quality"] = q
            summary["best"] = best
        json.dump(summary, sys.stdout)
    else:
        json.dump({"probs": probs.tolist(), "ok": ok.astype(int).tolist(), "seconds": seconds}, sys.stdout)


if __name__ == "__main__":
    main()
