/** The `js` backend's kernel table: plain TypeScript, contiguous inner loops. */
import { proxySolveJs } from './proxy-solve';
import { quantLinearJs } from './quant-linear';
import type { OpKernels } from '../kernel-types';
import { randomInt } from '../random';
import { activationJs, swigluJs } from './activations';
import { attentionJs, attentionProbsJs } from './attention';
import { cosineJs } from './cosine';
import { binaryJs, unaryJs } from './elementwise';
import { foldedAttentionJs, reconstructRopeJs } from './lowrank';
import { linearJs, matmulJs } from './matmul';
import { layerNormJs, rmsNormJs } from './norm';
import { reduceJs } from './reduce';
import { ropeJs } from './rope';
import { rowSoftmaxJs } from './softmax';
import { topkJs } from './topk';

export const JS_KERNELS: OpKernels = {
  matmul: matmulJs,
  linear: linearJs,
  attention: attentionJs,
  attentionProbs: attentionProbsJs,
  rowSoftmax: rowSoftmaxJs,
  rmsNorm: rmsNormJs,
  layerNorm: layerNormJs,
  activation: activationJs,
  swiglu: swigluJs,
  rope: ropeJs,
  binary: binaryJs,
  unary: unaryJs,
  reduce: reduceJs,
  topk: topkJs,
  cosine: cosineJs,
  // The generator's exact integer rounds are already a plain loop: the same code serves both tables.
  random: randomInt,
  reconstructRope: reconstructRopeJs,
  foldedAttention: foldedAttentionJs,
  proxySolve: proxySolveJs,
  quantLinear: quantLinearJs,
};
