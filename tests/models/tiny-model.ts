/** A small random LLaMA-shaped model for fast engine / cache tests. */
import { Tensor } from '../../src/ops/tensor';
import { LlamaModel, type LlamaConfig, type LlamaLayerWeights } from '../../src/models/llama';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

export function tinyLlama(opts: { tied?: boolean; seed?: number } = {}): LlamaModel {
  const r = rng(opts.seed ?? 7);
  const cfg: LlamaConfig = {
    arch: 'llama',
    numLayers: 2,
    hidden: 32,
    intermediate: 48,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    vocabSize: 40,
    contextLength: 64,
    rmsEps: 1e-5,
    ropeBase: 10000,
    ropeStyle: 'half',
    tiedEmbeddings: opts.tied ?? true,
  };
  const t = (shape: number[], scale = 0.3, offset = 0): Tensor => {
    const n = shape.reduce((a, b) => a * b, 1);
    return new Tensor(
      Float32Array.from({ length: n }, () => offset + scale * r()),
      shape,
    );
  };
  const qd = cfg.numHeads * cfg.headDim;
  const kd = cfg.numKvHeads * cfg.headDim;
  const layers: LlamaLayerWeights[] = [];
  for (let i = 0; i < cfg.numLayers; i++) {
    layers.push({
      attnNorm: t([cfg.hidden], 0.2, 1),
      wq: t([qd, cfg.hidden]),
      wk: t([kd, cfg.hidden]),
      wv: t([kd, cfg.hidden]),
      wo: t([cfg.hidden, qd]),
      ffnNorm: t([cfg.hidden], 0.2, 1),
      wGate: t([cfg.intermediate, cfg.hidden]),
      wUp: t([cfg.intermediate, cfg.hidden]),
      wDown: t([cfg.hidden, cfg.intermediate]),
    });
  }
  const embed = t([cfg.vocabSize, cfg.hidden], 1);
  const output = cfg.tiedEmbeddings ? embed : t([cfg.vocabSize, cfg.hidden], 1);
  return new LlamaModel(cfg, { embed, layers, outNorm: t([cfg.hidden], 0.2, 1), output }, 'tiny');
}
