/**
 * Layer sensitivity from condition numbers (thesis §5.4.2).
 *
 * κ(W) = σ_max/σ_min per projection (Eq. 5.10); the cumulative condition number of layer l is the
 * product over l..L of κ(W_k^j)·κ(W_v^j) (Eq. 5.12). Over 30 layers that product overflows nothing
 * in float64 here (≈1e68 for SmolLM2) but is meaningless as a raw number, so it is kept in log space:
 * logCumulative[l] = Σ_{j ≥ l} (ln κ_k^j + ln κ_v^j). Eq. 5.13 only uses differences of logs, so the
 * base does not matter; ln is used throughout.
 */
import { NonFiniteError, ValueError } from '../../errors';

export interface LayerKappa {
  /** κ(W_k) of the layer. Eq. 5.10. */
  kappaK: number;
  /** κ(W_v) of the layer. Eq. 5.10. */
  kappaV: number;
}

function checkKappas(kappas: readonly LayerKappa[]): void {
  if (!Array.isArray(kappas) || kappas.length === 0) throw new ValueError('sensitivity: no layers given');
  kappas.forEach((k, l) => {
    for (const [name, v] of [
      ['kappaK', k.kappaK],
      ['kappaV', k.kappaV],
    ] as const) {
      if (typeof v !== 'number' || !(v >= 1) || !Number.isFinite(v)) {
        const E = typeof v === 'number' && !Number.isFinite(v) ? NonFiniteError : ValueError;
        throw new E(
          `sensitivity: layer ${l} has ${name} = ${v}; a condition number must be finite and ≥ 1 (rank-deficient W?)`,
        );
      }
    }
  });
}

/** ln κ̃_l = Σ_{j=l}^{L} ln κ(W_k^j) + ln κ(W_v^j), for every layer (0-based). Eq. 5.12 in log space. */
export function logCumulativeKappa(kappas: readonly LayerKappa[]): number[] {
  checkKappas(kappas);
  const out = new Array<number>(kappas.length);
  let acc = 0;
  for (let l = kappas.length - 1; l >= 0; l--) {
    acc += Math.log(kappas[l].kappaK) + Math.log(kappas[l].kappaV);
    out[l] = acc;
  }
  return out;
}

/**
 * Normalised sensitivity s_l = (ln κ̃_l − min ln κ̃)/(max ln κ̃ − min ln κ̃) ∈ [0, 1]: the fraction of
 * Eq. 5.13's range a layer sits at (1 = most sensitive, keeps d_max). All zeros when every layer is equal.
 */
export function normalisedSensitivity(logCum: readonly number[]): number[] {
  if (!Array.isArray(logCum) || logCum.length === 0)
    throw new ValueError('normalisedSensitivity: no layers given');
  const max = Math.max(...logCum);
  const min = Math.min(...logCum);
  const span = max - min;
  return logCum.map((v) => (span === 0 ? 0 : (v - min) / span));
}
