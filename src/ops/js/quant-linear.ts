/** Plain-TS quantized linear layer: each weight row decoded once into a float32 scratch, then 4-way dot products. */
import type { LinearPlan } from '../matmul';
import { dequantRow } from '../quant-linear';
import { Tensor } from '../tensor';
import type { QuantMatrix } from '../wasm';
import { gemmNT } from './matmul';

/** `quantLinear` kernel of the js backend. */
export function quantLinearJs(x: Tensor, w: QuantMatrix, bias: Tensor | undefined, p: LinearPlan): Tensor {
  const row = new Float32Array(p.K);
  const col = new Float32Array(p.M);
  const out = new Float32Array(p.M * p.N);
  for (let j = 0; j < p.N; j++) {
    dequantRow(w, j, row);
    // One weight row against every row of x: an [M, K]·[1, K]ᵀ product, scattered into column j.
    gemmNT(x.data, 0, row, 0, bias ? bias.data.subarray(j, j + 1) : undefined, col, 0, p.M, p.K, 1);
    for (let i = 0; i < p.M; i++) out[i * p.N + j] = col[i];
  }
  return new Tensor(out, p.shape);
}
