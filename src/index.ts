/**
 * efflab: the library imported from notebook cells (`import { … } from 'efflab'`).
 * Each area is a namespace; the ops are also exported flat for convenience.
 *
 * Loading. `display` (and the rest of src/display) and the error classes load with the package;
 * every other area loads on first use of one of its names: the ops with their compute backends
 * (gpu.js), `data` (danfojs), `models` (tokenizers, GGUF), the methods, `widgets` and `train`. So a
 * cell that only displays does not pay for the rest (bench/kernel.bench.ts, kernel-first-import).
 * The types are exactly the areas' own: each lazy name is declared with its area's type.
 *
 * Adding an area: a type import, an `export declare const`, a `lazy(...)` line. Adding an op to
 * src/ops/index.ts: add its name to FLAT_OPS and an `export declare const` below
 * (tests/kernel/lazy-index.test.ts names any op that is missing).
 */
import type * as OpsArea from './ops';
import type * as DataArea from './data';
import type * as LorcArea from './methods/lorc';
import type * as PtlossArea from './methods/ptloss';
import type * as PrboostArea from './methods/prboost';
import type * as DormArea from './methods/dorm';
import type * as WidgetsArea from './widgets';
import type * as ModelsArea from './models';
import type * as TrainArea from './train';

export * from './display';
// The error taxonomy (src/errors.ts); ShapeError, NonFiniteError, BackendError and ValueError also
// come through ops.
export {
  BackendError,
  ConfigError,
  EfflabError,
  FileFormatError,
  NonFiniteError,
  NotFoundError,
  ShapeError,
  ValueError,
} from './errors';
export type * from './ops';
// danfojs's frame type, so `const news = data.readCsv(...)` in a cell can be named (tests/extension/nameable-results.test.ts).
export type { DataFrame } from './data';

export declare const ops: typeof OpsArea;
export declare const data: typeof DataArea;
export declare const lorc: typeof LorcArea;
export declare const ptloss: typeof PtlossArea;
export declare const prboost: typeof PrboostArea;
export declare const dorm: typeof DormArea;
export declare const widgets: typeof WidgetsArea;
export declare const models: typeof ModelsArea;
export declare const train: typeof TrainArea;

// The ops, flat.
export declare const decodeSolve: typeof OpsArea.decodeSolve;
export declare const padProblem: typeof OpsArea.padProblem;
export declare const dequantizeRows: typeof OpsArea.dequantizeRows;
export declare const nativeBlas: typeof OpsArea.nativeBlas;
export declare const mayDecline: typeof OpsArea.mayDecline;
export declare const BLAS_LIB_ENV: typeof OpsArea.BLAS_LIB_ENV;
export declare const nativeGemmCalls: typeof OpsArea.nativeGemmCalls;
export declare const packedEncoderLayers: typeof OpsArea.packedEncoderLayers;
export declare const MAX_POOLED_BYTES: typeof OpsArea.MAX_POOLED_BYTES;
export declare const clearOutputPool: typeof OpsArea.clearOutputPool;
export declare const outputBuffer: typeof OpsArea.outputBuffer;
export declare const pooledOutputBytes: typeof OpsArea.pooledOutputBytes;
export declare const recycle: typeof OpsArea.recycle;
export declare const sizeClass: typeof OpsArea.sizeClass;
export declare const backgroundBroken: typeof OpsArea.backgroundBroken;
export declare const backgroundIdle: typeof OpsArea.backgroundIdle;
export declare const postReconstructRope: typeof OpsArea.postReconstructRope;
export declare const settleBackground: typeof OpsArea.settleBackground;
export declare const warmBackground: typeof OpsArea.warmBackground;
export declare const checkFinite: typeof OpsArea.checkFinite;
export declare const deferInputChecks: typeof OpsArea.deferInputChecks;
export declare const residentEncoderAvailable: typeof OpsArea.residentEncoderAvailable;
export declare const nativeUnavailableReason: typeof OpsArea.nativeUnavailableReason;
export declare const ATTENTION_MASKED_SCORE: typeof OpsArea.ATTENTION_MASKED_SCORE;
export declare const BACKENDS: typeof OpsArea.BACKENDS;
export declare const BACKEND_ALIASES: typeof OpsArea.BACKEND_ALIASES;
export declare const BACKEND_ENV: typeof OpsArea.BACKEND_ENV;
export declare const BINARY_CODES: typeof OpsArea.BINARY_CODES;
export declare const BINARY_REF: typeof OpsArea.BINARY_REF;
export declare const COMPUTE_BACKENDS: typeof OpsArea.COMPUTE_BACKENDS;
export declare const DEFAULT_SOLVER: typeof OpsArea.DEFAULT_SOLVER;
export declare const F32_MAX: typeof OpsArea.F32_MAX;
export declare const FALLBACK: typeof OpsArea.FALLBACK;
export declare const MAX_RANDOM_ELEMENTS: typeof OpsArea.MAX_RANDOM_ELEMENTS;
export declare const OP_NAMES: typeof OpsArea.OP_NAMES;
export declare const PROXY_MAX_CLASSES: typeof OpsArea.PROXY_MAX_CLASSES;
export declare const PROXY_MAX_ORDER: typeof OpsArea.PROXY_MAX_ORDER;
export declare const PROXY_NEAR_TOLERANCE: typeof OpsArea.PROXY_NEAR_TOLERANCE;
export declare const QUANT_BLOCK_BYTES: typeof OpsArea.QUANT_BLOCK_BYTES;
export declare const THREADS_ENV: typeof OpsArea.THREADS_ENV;
export type Tensor = OpsArea.Tensor;
export declare const Tensor: typeof OpsArea.Tensor;
export declare const UNARY_CODES: typeof OpsArea.UNARY_CODES;
export declare const UNARY_REF: typeof OpsArea.UNARY_REF;
export declare const activation: typeof OpsArea.activation;
export declare const activationReference: typeof OpsArea.activationReference;
export declare const add: typeof OpsArea.add;
export declare const addMod24: typeof OpsArea.addMod24;
export declare const allocBytes: typeof OpsArea.allocBytes;
export declare const allocF32: typeof OpsArea.allocF32;
export declare const freeF32: typeof OpsArea.freeF32;
export declare const applyRope: typeof OpsArea.applyRope;
export declare const applyRopeRef: typeof OpsArea.applyRopeRef;
export declare const applyRopeReference: typeof OpsArea.applyRopeReference;
export declare const attention: typeof OpsArea.attention;
export declare const attentionDims: typeof OpsArea.attentionDims;
export declare const attentionProbs: typeof OpsArea.attentionProbs;
export declare const attentionProbsRef: typeof OpsArea.attentionProbsRef;
export declare const attentionRef: typeof OpsArea.attentionRef;
export declare const attentionReference: typeof OpsArea.attentionReference;
export declare const autoBackend: typeof OpsArea.autoBackend;
export declare const availableBackends: typeof OpsArea.availableBackends;
export declare const backendUnavailableReason: typeof OpsArea.backendUnavailableReason;
export declare const binary: typeof OpsArea.binary;
export declare const binaryRef: typeof OpsArea.binaryRef;
export declare const binaryReference: typeof OpsArea.binaryReference;
export declare const broadcastPlan: typeof OpsArea.broadcastPlan;
export declare const broadcastShapes: typeof OpsArea.broadcastShapes;
export declare const checkQuantMatrix: typeof OpsArea.checkQuantMatrix;
export declare const conditionNumber: typeof OpsArea.conditionNumber;
export declare const cosineRef: typeof OpsArea.cosineRef;
export declare const cosineSimilarity: typeof OpsArea.cosineSimilarity;
export declare const cosineSimilarityReference: typeof OpsArea.cosineSimilarityReference;
export declare const dequantRow: typeof OpsArea.dequantRow;
export declare const dequantizeQuant: typeof OpsArea.dequantizeQuant;
export declare const disposeBackends: typeof OpsArea.disposeBackends;
export declare const div: typeof OpsArea.div;
export declare const dropoutMask: typeof OpsArea.dropoutMask;
export declare const dropoutMaskReference: typeof OpsArea.dropoutMaskReference;
export declare const erfReference: typeof OpsArea.erfReference;
export declare const foldedAttention: typeof OpsArea.foldedAttention;
export declare const foldedAttentionRef: typeof OpsArea.foldedAttentionRef;
export declare const foldedAttentionReference: typeof OpsArea.foldedAttentionReference;
export declare const gelu: typeof OpsArea.gelu;
export declare const geluTanh: typeof OpsArea.geluTanh;
export declare const getBackend: typeof OpsArea.getBackend;
export declare const glIsHardware: typeof OpsArea.glIsHardware;
export declare const glRenderer: typeof OpsArea.glRenderer;
export declare const hasKernel: typeof OpsArea.hasKernel;
export declare const keyVisible: typeof OpsArea.keyVisible;
export declare const lastBackendRan: typeof OpsArea.lastBackendRan;
export declare const layerNorm: typeof OpsArea.layerNorm;
export declare const layerNormRef: typeof OpsArea.layerNormRef;
export declare const layerNormReference: typeof OpsArea.layerNormReference;
export declare const linear: typeof OpsArea.linear;
export declare const linearPlan: typeof OpsArea.linearPlan;
export declare const linearQ4_1: typeof OpsArea.linearQ4_1;
export declare const linearQ8_0: typeof OpsArea.linearQ8_0;
export declare const linearQuant: typeof OpsArea.linearQuant;
export declare const linearRef: typeof OpsArea.linearRef;
export declare const linearReference: typeof OpsArea.linearReference;
export declare const logSoftmax: typeof OpsArea.logSoftmax;
export declare const logSoftmaxReference: typeof OpsArea.logSoftmaxReference;
export declare const logSumExp: typeof OpsArea.logSumExp;
export declare const logSumExpReference: typeof OpsArea.logSumExpReference;
export declare const lowRankApprox: typeof OpsArea.lowRankApprox;
export declare const lstsq: typeof OpsArea.lstsq;
export declare const matmul: typeof OpsArea.matmul;
export declare const matmulAsync: typeof OpsArea.matmulAsync;
export declare const matmulPlan: typeof OpsArea.matmulPlan;
export declare const matmulRef: typeof OpsArea.matmulRef;
export declare const matmulReference: typeof OpsArea.matmulReference;
export declare const max: typeof OpsArea.max;
export declare const mean: typeof OpsArea.mean;
export declare const min: typeof OpsArea.min;
export declare const mixRound: typeof OpsArea.mixRound;
export declare const mul: typeof OpsArea.mul;
export declare const mulMod24: typeof OpsArea.mulMod24;
export declare const padCoefficients: typeof OpsArea.padCoefficients;
export declare const proxySolve: typeof OpsArea.proxySolve;
export declare const profileOps: typeof OpsArea.profileOps;
export declare const quantLinear: typeof OpsArea.quantLinear;
export declare const quantLinearRef: typeof OpsArea.quantLinearRef;
export declare const quantLinearReference: typeof OpsArea.quantLinearReference;
export declare const randomInt: typeof OpsArea.randomInt;
export declare const randomRef: typeof OpsArea.randomRef;
export declare const randomUniform: typeof OpsArea.randomUniform;
export declare const randomUniformReference: typeof OpsArea.randomUniformReference;
export declare const reconstructRope: typeof OpsArea.reconstructRope;
export declare const reconstructRopeRef: typeof OpsArea.reconstructRopeRef;
export declare const reconstructRopeReference: typeof OpsArea.reconstructRopeReference;
export declare const reduce: typeof OpsArea.reduce;
export declare const reduceRef: typeof OpsArea.reduceRef;
export declare const reduceReference: typeof OpsArea.reduceReference;
export declare const resolveKernelBackend: typeof OpsArea.resolveKernelBackend;
export declare const rmsNorm: typeof OpsArea.rmsNorm;
export declare const rmsNormRef: typeof OpsArea.rmsNormRef;
export declare const rmsNormReference: typeof OpsArea.rmsNormReference;
export declare const ropeInvFreq: typeof OpsArea.ropeInvFreq;
export declare const ropeTables: typeof OpsArea.ropeTables;
export declare const rot12: typeof OpsArea.rot12;
export declare const rowOutputShape: typeof OpsArea.rowOutputShape;
export declare const rowSoftmaxRef: typeof OpsArea.rowSoftmaxRef;
export declare const setBackend: typeof OpsArea.setBackend;
export declare const sgemm: typeof OpsArea.sgemm;
export declare const shapeSize: typeof OpsArea.shapeSize;
export declare const silu: typeof OpsArea.silu;
export declare const singularValues: typeof OpsArea.singularValues;
export declare const softmax: typeof OpsArea.softmax;
export declare const softmaxReference: typeof OpsArea.softmaxReference;
export declare const solve: typeof OpsArea.solve;
export declare const solveProxyExample: typeof OpsArea.solveProxyExample;
export declare const stridesOf: typeof OpsArea.stridesOf;
export declare const sub: typeof OpsArea.sub;
export declare const sum: typeof OpsArea.sum;
export declare const svd: typeof OpsArea.svd;
export declare const swiglu: typeof OpsArea.swiglu;
export declare const swigluRef: typeof OpsArea.swigluRef;
export declare const threadCount: typeof OpsArea.threadCount;
export declare const topk: typeof OpsArea.topk;
export declare const topkRef: typeof OpsArea.topkRef;
export declare const topkReference: typeof OpsArea.topkReference;
export declare const traceBackends: typeof OpsArea.traceBackends;
export declare const unary: typeof OpsArea.unary;
export declare const unaryReference: typeof OpsArea.unaryReference;
export declare const variance: typeof OpsArea.variance;
export declare const wasmArena: typeof OpsArea.wasmArena;
export declare const wasmKernels: typeof OpsArea.wasmKernels;
export declare const wasmThreads: typeof OpsArea.wasmThreads;
export declare const wasmUnavailableReason: typeof OpsArea.wasmUnavailableReason;
export declare const wasmUsesFma: typeof OpsArea.wasmUsesFma;
export declare const withBackend: typeof OpsArea.withBackend;

/** The values of src/ops exported flat (its error classes come from src/errors above). */
const FLAT_OPS = [
  'decodeSolve',
  'padProblem',
  'dequantizeRows',
  'nativeBlas',
  'mayDecline',
  'BLAS_LIB_ENV',
  'nativeGemmCalls',
  'packedEncoderLayers',
  'MAX_POOLED_BYTES',
  'clearOutputPool',
  'outputBuffer',
  'pooledOutputBytes',
  'recycle',
  'sizeClass',
  'backgroundBroken',
  'backgroundIdle',
  'postReconstructRope',
  'settleBackground',
  'warmBackground',
  'checkFinite',
  'deferInputChecks',
  'residentEncoderAvailable',
  'nativeUnavailableReason',
  'ATTENTION_MASKED_SCORE',
  'BACKENDS',
  'BACKEND_ALIASES',
  'BACKEND_ENV',
  'BINARY_CODES',
  'BINARY_REF',
  'COMPUTE_BACKENDS',
  'DEFAULT_SOLVER',
  'F32_MAX',
  'FALLBACK',
  'MAX_RANDOM_ELEMENTS',
  'OP_NAMES',
  'PROXY_MAX_CLASSES',
  'PROXY_MAX_ORDER',
  'PROXY_NEAR_TOLERANCE',
  'QUANT_BLOCK_BYTES',
  'THREADS_ENV',
  'Tensor',
  'UNARY_CODES',
  'UNARY_REF',
  'activation',
  'activationReference',
  'add',
  'addMod24',
  'allocBytes',
  'allocF32',
  'applyRope',
  'applyRopeRef',
  'applyRopeReference',
  'attention',
  'attentionDims',
  'attentionProbs',
  'attentionProbsRef',
  'attentionRef',
  'attentionReference',
  'autoBackend',
  'availableBackends',
  'backendUnavailableReason',
  'binary',
  'binaryRef',
  'binaryReference',
  'broadcastPlan',
  'broadcastShapes',
  'checkQuantMatrix',
  'conditionNumber',
  'cosineRef',
  'cosineSimilarity',
  'cosineSimilarityReference',
  'dequantRow',
  'dequantizeQuant',
  'disposeBackends',
  'div',
  'dropoutMask',
  'dropoutMaskReference',
  'erfReference',
  'foldedAttention',
  'foldedAttentionRef',
  'foldedAttentionReference',
  'freeF32',
  'gelu',
  'geluTanh',
  'getBackend',
  'glIsHardware',
  'glRenderer',
  'hasKernel',
  'keyVisible',
  'lastBackendRan',
  'layerNorm',
  'layerNormRef',
  'layerNormReference',
  'linear',
  'linearPlan',
  'linearQ4_1',
  'linearQ8_0',
  'linearQuant',
  'linearRef',
  'linearReference',
  'logSoftmax',
  'logSoftmaxReference',
  'logSumExp',
  'logSumExpReference',
  'lowRankApprox',
  'lstsq',
  'matmul',
  'matmulAsync',
  'matmulPlan',
  'matmulRef',
  'matmulReference',
  'max',
  'mean',
  'min',
  'mixRound',
  'mul',
  'mulMod24',
  'padCoefficients',
  'proxySolve',
  'profileOps',
  'quantLinear',
  'quantLinearRef',
  'quantLinearReference',
  'randomInt',
  'randomRef',
  'randomUniform',
  'randomUniformReference',
  'reconstructRope',
  'reconstructRopeRef',
  'reconstructRopeReference',
  'reduce',
  'reduceRef',
  'reduceReference',
  'resolveKernelBackend',
  'rmsNorm',
  'rmsNormRef',
  'rmsNormReference',
  'ropeInvFreq',
  'ropeTables',
  'rot12',
  'rowOutputShape',
  'rowSoftmaxRef',
  'setBackend',
  'sgemm',
  'shapeSize',
  'silu',
  'singularValues',
  'softmax',
  'softmaxReference',
  'solve',
  'solveProxyExample',
  'stridesOf',
  'sub',
  'sum',
  'svd',
  'swiglu',
  'swigluRef',
  'threadCount',
  'topk',
  'topkRef',
  'topkReference',
  'traceBackends',
  'unary',
  'unaryReference',
  'variance',
  'wasmArena',
  'wasmKernels',
  'wasmThreads',
  'wasmUnavailableReason',
  'wasmUsesFma',
  'withBackend',
] as const satisfies readonly (keyof typeof OpsArea)[];

type Area = Record<string, unknown>;

/** Defines export `name` as a getter, so its module is required on first use, not here. */
function lazy(name: string, get: () => unknown): void {
  // `module.exports`, not `exports`: under tsx/esbuild the module's exports object is replaced before
  // this body runs, so names defined on the original `exports` would be lost (tsc: the same object).
  Object.defineProperty(module.exports, name, { enumerable: true, configurable: true, get });
}

/* eslint-disable @typescript-eslint/no-require-imports -- required on first use (see above) */
const area = (load: () => Area): (() => Area) => {
  let loaded: Area | undefined;
  return () => (loaded ??= load());
};
const opsArea = area(() => require('./ops') as Area);
lazy('ops', opsArea);
lazy(
  'data',
  area(() => require('./data') as Area),
);
lazy(
  'lorc',
  area(() => require('./methods/lorc') as Area),
);
lazy(
  'ptloss',
  area(() => require('./methods/ptloss') as Area),
);
lazy(
  'prboost',
  area(() => require('./methods/prboost') as Area),
);
lazy(
  'dorm',
  area(() => require('./methods/dorm') as Area),
);
lazy(
  'widgets',
  area(() => require('./widgets') as Area),
);
lazy(
  'models',
  area(() => require('./models') as Area),
);
lazy(
  'train',
  area(() => require('./train') as Area),
);
/* eslint-enable @typescript-eslint/no-require-imports */
for (const name of FLAT_OPS) lazy(name, () => opsArea()[name]);

// Keep FLAT_OPS and the declarations above in step with src/ops/index.ts:
// tests/kernel/lazy-index.test.ts fails, naming the op, when one is missing from either.
