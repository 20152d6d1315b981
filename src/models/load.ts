/** One entry point per model kind: a registry id, a local path, or a Hugging Face repo id in the hub cache. */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { BertEncoder, loadBertEncoder } from './bert';
import { CausalLM } from './causal-lm';
import { readGgufHeader } from './gguf';
import { hubCacheDir, isRepoId, resolveHubSnapshot } from './hub-cache';
import { loadLlamaGguf, loadLlamaSafetensors } from './llama';
import { MODEL_REGISTRY, registryEntry, resolveModelPath } from './registry';
import { loadTokenizerJson, tokenizerFromGguf } from './tokenizer';
import { ConfigError, NotFoundError } from '../errors';

export interface LoadOptions {
  /** GGUF models: 'f32' (default) dequantises at load; 'quantized' keeps Q8_0 / Q4_1 blocks for decode. */
  weights?: 'f32' | 'quantized';
  /** Hub cache folder for repo ids (default from HF_HUB_CACHE / HF_HOME). */
  cacheDir?: string;
  revision?: string;
}

function localPath(ref: string, kind: 'llama-gguf' | 'bert', opts: LoadOptions): string {
  if (MODEL_REGISTRY.some((m) => m.id === ref)) {
    const e = registryEntry(ref);
    if (e.kind !== kind) throw new ConfigError(`model '${ref}' is a ${e.kind} model, not ${kind}`);
    return resolveModelPath(ref);
  }
  if (existsSync(ref)) return ref;
  if (looksLikePath(ref)) {
    throw new NotFoundError(
      `model file not found: '${ref}' (resolved to ${resolve(ref)}); pass an existing .gguf file or model folder, a registry id (${MODEL_REGISTRY.map((m) => m.id).join(', ')}) or a cached Hugging Face repo id`,
    );
  }
  if (isRepoId(ref))
    return resolveHubSnapshot(ref, { cacheDir: opts.cacheDir ?? hubCacheDir(), revision: opts.revision });
  return registryEntry(ref) && ref; // throws NotFoundError "unknown model id" listing the known ids
}

/** A reference written as a file path (absolute, ./ or ../, a backslash, or a weight-file extension). */
function looksLikePath(ref: string): boolean {
  return (
    isAbsolute(ref) ||
    /^\.{1,2}[\\/]/.test(ref) ||
    ref.includes('\\') ||
    /\.(gguf|safetensors|bin|json)$/i.test(ref) ||
    ref.split('/').length > 2
  );
}

/**
 * Load a causal LM: a registry id (`smollm2-135m-instruct`), a `.gguf` file, a folder with config.json +
 * model.safetensors + tokenizer.json, or a cached Hugging Face repo id.
 */
export function loadCausalLM(ref: string, opts: LoadOptions = {}): CausalLM {
  const p = localPath(ref, 'llama-gguf', opts);
  if (statSync(p).isDirectory()) {
    const model = loadLlamaSafetensors(join(p, 'config.json'), join(p, 'model.safetensors'));
    const tcfg = join(p, 'tokenizer_config.json');
    const tok = loadTokenizerJson(join(p, 'tokenizer.json'), existsSync(tcfg) ? tcfg : undefined);
    return new CausalLM(model, tok);
  }
  const model = loadLlamaGguf(p, { weights: opts.weights });
  return new CausalLM(model, tokenizerFromGguf(readGgufHeader(p)));
}

/** Load a BERT sentence encoder: a registry id (`all-minilm-l6-v2`), a folder, or a cached repo id. */
export function loadSentenceEncoder(ref: string, opts: LoadOptions = {}): BertEncoder {
  return loadBertEncoder(localPath(ref, 'bert', opts));
}
