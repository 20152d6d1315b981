/**
 * Export a LoRC configuration for PyTorch users: per-layer low-rank factors of the K/V projections as
 * safetensors (float32) plus a JSON config with the rank schedule, loaded by `scripts/lorc_load.py`.
 *
 * Factors, in PyTorch's Linear layout (weight [out, in], y = x·Wᵀ), per compressed layer l:
 *   model.layers.{l}.self_attn.k_proj.down  [r_k, D]   c_k = x·downᵀ   (the cached, pre-RoPE key)
 *   model.layers.{l}.self_attn.k_proj.up    [w, r_k]   k̃  = c_k·upᵀ   (so k_proj ≈ up·down)
 *   model.layers.{l}.self_attn.v_proj.down  [r_v, D]   c_v = x·downᵀ
 *   model.layers.{l}.self_attn.v_proj.up    [w, r_v]   ṽ  = c_v·upᵀ   (fold into o_proj per head: Eq. 5.9)
 * A side kept whole (rank = w) has no tensors. Thesis SVD: down = V_rᵀ·W, up = V_r (Eqs. 5.6, 5.8, in the
 * right-singular-vector form); whitened: the same with the data-aware bases of `whiten`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, ShapeError } from '../../errors';
import type { LlamaModel } from '../../models/llama';
import { Tensor, matmul } from '../../ops';
import { rightBasis } from './decompose';
import type { PlannedConfig } from './front';
import type { LorcAnalysis } from './model';
import { leadingColumns, type WhitenedAnalysis } from './whiten';

/** Extra facts written into the JSON config (evaluation text and result, calibration). */
export interface ExportNotes {
  /** e.g. { text, windowSize, ppl, refPpl, ratio, se } of our evaluation. */
  evaluation?: Record<string, unknown>;
  /** Hugging Face id or path of the base model the factors apply to. */
  baseModel?: string;
}

/** Files written by `exportLorc`. */
export interface ExportedLorc {
  safetensors: string;
  config: string;
  /** Names and shapes of the tensors written. */
  tensors: { name: string; shape: number[] }[];
}

/** Serialise float32 tensors as a safetensors file (8-byte little-endian header length, JSON, data). */
export function writeSafetensors(
  file: string,
  tensors: { name: string; t: Tensor }[],
  metadata: Record<string, string> = {},
): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const { name, t } of tensors) {
    const bytes = t.size * 4;
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  const parts = [head, Buffer.from(json)];
  for (const { t } of tensors) parts.push(Buffer.from(new Float32Array(t.data).buffer));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, Buffer.concat(parts));
}

/**
 * The four factors of one layer (see file comment), or null for a side held whole. `w` thesis-layout
 * projections [D, w]; `down` [w, r] is the cache's down basis, `up` [w, r] its read-back basis.
 */
function factors(weight: Tensor, down: Tensor, up: Tensor): { down: Tensor; up: Tensor } {
  return { down: matmul(weight, down).transpose(), up };
}

/** The low-rank factors of every compressed layer of a planned configuration, by tensor name. */
export function lorcFactors(
  analysis: LorcAnalysis,
  plan: PlannedConfig,
  whitened?: WhitenedAnalysis,
): { name: string; t: Tensor }[] {
  if (plan.bases === 'whitened' && !whitened)
    throw new ConfigError(`lorcFactors("${plan.name}"): whitened bases need a whiten(...) result`);
  if (plan.keyRanks.length !== analysis.layers.length)
    throw new ShapeError(`lorcFactors: ${plan.keyRanks.length} ranks for ${analysis.layers.length} layers`);
  const out: { name: string; t: Tensor }[] = [];
  analysis.layers.forEach((dec, l) => {
    const w = analysis.weights[l];
    const wl = plan.bases === 'whitened' ? whitened!.layers[l] : undefined;
    const p = `model.layers.${l}.self_attn`;
    const rk = plan.keyRanks[l];
    if (rk < analysis.dMax) {
      const basis = wl ? leadingColumns(wl.key.basis, rk) : rightBasis(dec.key, rk);
      const f = factors(w.wk, basis, basis);
      out.push({ name: `${p}.k_proj.down`, t: f.down }, { name: `${p}.k_proj.up`, t: f.up });
    }
    const rv = plan.valueRanks[l];
    if (rv < analysis.dMax) {
      const down = wl ? leadingColumns(wl.value.down, rv) : rightBasis(dec.value, rv);
      const up = wl ? leadingColumns(wl.value.upT, rv) : down;
      const f = factors(w.wv, down, up);
      out.push({ name: `${p}.v_proj.down`, t: f.down }, { name: `${p}.v_proj.up`, t: f.up });
    }
  });
  return out;
}

/**
 * Write `lorc.safetensors` and `lorc.json` into `dir` for a planned configuration (the thesis's or the
 * whitened bases). Models with K/V biases (Qwen2) are refused: the factors here cover weights only.
 */
export function exportLorc(
  model: LlamaModel,
  analysis: LorcAnalysis,
  plan: PlannedConfig,
  dir: string,
  whitened?: WhitenedAnalysis,
  notes: ExportNotes = {},
): ExportedLorc {
  if (model.weights.layers.some((l) => l.bk || l.bv))
    throw new ConfigError('exportLorc: the model has K/V biases; exporting them is not supported');
  const tensors = lorcFactors(analysis, plan, whitened);
  const st = path.join(dir, 'lorc.safetensors');
  writeSafetensors(st, tensors, { format: 'efflab-lorc', version: '1' });
  const c = model.config;
  const config = {
    format: 'efflab-lorc',
    version: 1,
    base_model: notes.baseModel ?? model.source,
    num_layers: c.numLayers,
    hidden_size: c.hidden,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    kv_width: analysis.dMax,
    method: {
      name: plan.name,
      bases: plan.bases,
      schedule: plan.schedule,
      key_ratio: plan.keyRatio,
      value_ratio: plan.valueRatio,
      skip: plan.skip ?? 'default (normalised ln κ̃ > 0.9)',
      calibration: whitened && plan.bases === 'whitened' ? whitened.calibration : null,
      value_objective: whitened && plan.bases === 'whitened' ? whitened.valueObjective : null,
    },
    key_ranks: plan.keyRanks,
    value_ranks: plan.valueRanks,
    kv_bytes_removed: plan.removed,
    tensor_names:
      'model.layers.{l}.self_attn.{k,v}_proj.{down [r, hidden], up [kv_width, r]}; absent = layer side kept whole',
    evaluation: notes.evaluation ?? null,
  };
  const cfgFile = path.join(dir, 'lorc.json');
  fs.writeFileSync(cfgFile, JSON.stringify(config, null, 1));
  return {
    safetensors: st,
    config: cfgFile,
    tensors: tensors.map(({ name, t }) => ({ name, shape: [...t.shape] })),
  };
}
