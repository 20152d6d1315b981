/** The `reference` backend's kernel table: the float64 oracle defined beside each op. Complete by type. */
import { activationReference, swigluRef } from './activations';
import { attentionProbsRef, attentionRef } from './attention';
import { cosineRef } from './cosine';
import { binaryRef, unaryReference } from './elementwise';
import { proxySolveJs } from './js/proxy-solve';
import { quantLinearRef } from './quant-linear';
import type { OpKernels } from './kernel-types';
import { foldedAttentionRef, reconstructRopeRef } from './lowrank';
import { linearRef, matmulRef } from './matmul';
import { layerNormRef, rmsNormRef } from './norm';
import { randomRef } from './random';
import { reduceRef } from './reduce';
import { applyRopeRef } from './rope';
import { rowSoftmaxRef } from './softmax';
import { topkRef } from './topk';

export const REFERENCE_KERNELS: OpKernels = {
  matmul: matmulRef,
  linear: linearRef,
  attention: attentionRef,
  attentionProbs: attentionProbsRef,
  rowSoftmax: rowSoftmaxRef,
  rmsNorm: rmsNormRef,
  layerNorm: layerNormRef,
  activation: activationReference,
  swiglu: swigluRef,
  rope: applyRopeRef,
  binary: binaryRef,
  unary: unaryReference,
  reduce: reduceRef,
  topk: topkRef,
  cosine: cosineRef,
  random: randomRef,
  reconstructRope: reconstructRopeRef,
  foldedAttention: foldedAttentionRef,
  // The float64 closed-form iteration is both the CPU kernel and the oracle (PTLoss tests it against
  // the general Cholesky solver).
  proxySolve: proxySolveJs,
  quantLinear: quantLinearRef,
};
