/**
 * Perturbation coefficients ε_{c,m} of PTLoss (Eq. 4.7): one value per class c ∈ [0, C) and order
 * m ∈ [1, M], stored row-major as `values[c * M + (m - 1)]`.
 */
import { NonFiniteError, ShapeError, ValueError } from '../../errors';

export interface Coefficients {
  /** Number of classes C. */
  readonly classes: number;
  /** Perturbation order M (number of leading polynomial terms perturbed). */
  readonly order: number;
  /** ε_{c,m} at index c * order + (m - 1); length classes * order. */
  readonly values: Float64Array;
}

/** Build a coefficient set from nested rows `eps[c][m-1]` (Eq. 4.7). */
export function coefficients(eps: readonly (readonly number[])[]): Coefficients {
  if (eps.length === 0) throw new ValueError('coefficients: need at least one class row');
  const order = eps[0].length;
  const values = new Float64Array(eps.length * order);
  eps.forEach((row, c) => {
    if (row.length !== order) {
      throw new ShapeError(
        `coefficients: row ${c} has ${row.length} orders but row 0 has ${order} (rows must have equal length)`,
      );
    }
    row.forEach((v, m) => {
      if (!Number.isFinite(v)) throw new NonFiniteError(`coefficients: eps[${c}][${m}] = ${v} is not finite`);
      values[c * order + m] = v;
    });
  });
  return { classes: eps.length, order, values };
}

/** All-zero coefficients: PTLoss reduces to the KL loss. */
export function zeroCoefficients(classes: number, order: number): Coefficients {
  checkCount(classes, 'classes');
  if (!Number.isInteger(order) || order < 0)
    throw new ValueError(`zeroCoefficients: order ${order} must be an integer ≥ 0`);
  return { classes, order, values: new Float64Array(classes * order) };
}

/** Copy coefficients into a wider order (extra orders are zero), e.g. to batch trials of mixed M. */
export function padOrder(eps: Coefficients, order: number): Coefficients {
  if (order < eps.order) throw new ValueError(`padOrder: cannot shrink order ${eps.order} to ${order}`);
  const values = new Float64Array(eps.classes * order);
  for (let c = 0; c < eps.classes; c++) {
    for (let m = 0; m < eps.order; m++) values[c * order + m] = eps.values[c * eps.order + m];
  }
  return { classes: eps.classes, order, values };
}

/** Nested-array view `[c][m-1]` (for display and JSON). */
export function coefficientRows(eps: Coefficients): number[][] {
  const rows: number[][] = [];
  for (let c = 0; c < eps.classes; c++) {
    rows.push(Array.from(eps.values.subarray(c * eps.order, (c + 1) * eps.order)));
  }
  return rows;
}

function checkCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new ValueError(`${what} must be a positive integer, got ${n}`);
}
