/** The `gl` backend's kernel table: gpu.js kernels on headless-gl (results resident as textures). */
import { proxySolveGl } from './proxy-solve';
import type { OpKernels } from '../kernel-types';
import { activationGl, swigluGl } from './activations';
import { attentionGl, attentionProbsGl } from './attention';
import { cosineGl } from './cosine';
import { binaryGl, unaryGl } from './elementwise';
import { reconstructRopeGl } from './lowrank';
import { linearGl, matmulGl } from './matmul';
import { layerNormGl, rmsNormGl } from './norm';
import { randomGl } from './random';
import { reduceGl } from './reduce';
import { ropeGl } from './rope';
import { rowSoftmaxGl } from './softmax';
import { topkGl } from './topk';

/** `foldedAttention` has no GL kernel: it falls back along gl → wasm → js (reported by the registry). */
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
  proxySolve: proxySolveGl,
};
