/**
 * Attention with the value up-projection folded into the output projection (Eq. 5.9): for each query
 * head h (K/V head g = ⌊h/(Hq/Hkv)⌋, §5.4.3), p = softmax(q_t·k_s/√D, s ≤ offset + t),
 * y_h = Σ_s p_s·C_v[s] (d_c-dim, never reconstructed), out_t = Σ_h y_h·W_o'_h. The op lives in the
 * ops index (checks, float64 reference, kernels per backend); LoRC re-exports it here.
 */
export { foldedAttention, foldedAttentionReference } from '../../ops';
