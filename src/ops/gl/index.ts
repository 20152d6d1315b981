/** The `gl` backend's kernel table: gpu.js kernels on headless-gl (results resident as textures). */
import { proxySolveGl } from './proxy-solve';
import type { OpKernels } from '../kernel-types';
import { activationGl, swigluGl } from './activations';
import { attentionGl, attentionProbsGl } from './attention';
import { cosineGl } from './cosine';
import { binaryGl, unaryGl } from './elementwise';
import { foldedAttentionGl, reconstructRopeGl } from './lowrank';
import { linearGl, matmulGl } from './matmul';
import { layerNormGl, rmsNormGl } from './norm';
import { randomGl } from './random';
import { reduceGl } from './reduce';
import { ropeGl } from './rope';
import { rowSoftmaxGl } from './softmax';
import { topkGl } from './topk';

/** `quantLinear` has no GL kernel (byte-level block decoding): it falls back along gl → wasm → js (reported). */
export const GL_KERNELS: Partial<OpKernels> = {
  matmul: matmulGl,
  linear: linearGl,
  attention: attentionGl,
  attentionProbs: attentionProbsGl,
  rowSoftmax: rowSoftmaxGl,
  rmsNorm: rmsNormGl,
  layerNorm: layerNormGl,
  activation: activationGl,
  swiglu: swigluGl,
  rope: ropeGl,
  binary: binaryGl,
  unary: unaryGl,
  reduce: reduceGl,
  topk: topkGl,
  cosine: cosineGl,
  random: randomGl,
  reconstructRope: reconstructRopeGl,
  foldedAttention: foldedAttentionGl,
  proxySolve: proxySolveGl,
};
