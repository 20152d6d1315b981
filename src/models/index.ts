/** Models: weight readers (GGUF, safetensors), tokenizers, a LLaMA-family decoder, a BERT encoder. */
export * from './errors';
export * from './dequant';
export * from './gguf';
export * from './safetensors';
export * from './hf-config';
export * from './tokenizer';
export * from './kv-cache';
export * from './linear';
export * from './llama';
export * from './quant-weights';
export * from './bert';
export * from './causal-lm';
export * from './registry';
export * from './hub-cache';
export * from './load';
export {
  allocWeights,
  linearWasm,
  wasmLinearThreads,
  wasmLinearUnavailableReason,
  weightArena,
} from './wasm/linear-wasm';
export { THREADS_ENV, threadCount } from './wasm/pool';
