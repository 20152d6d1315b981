/**
 * Loading a LLaMA from a Hugging Face folder (config.json + model.safetensors + tokenizer.json), also
 * through a hub-cache repo id: a tiny random model written in F32/F16/BF16 must give the logits of
 * the same weights held in memory (F16/BF16 weights compared after the same rounding).
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  LlamaModel,
  ModelConfigError,
  loadCausalLM,
  loadLlamaSafetensors,
  readSafetensor,
  readSafetensorsHeader,
} from '../../src/models';
import { bf16ToF32, f16ToF32 } from '../../src/models/half';
import { Tensor } from '../../src/ops/tensor';
import { tmpDir } from './helpers';
import { tinyLlama } from './tiny-model';

type Dtype = 'F32' | 'F16' | 'BF16';

function f32ToF16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  const mant = x & 0x7fffff;
  if (exp <= 0) return sign; // tiny values flush to zero (none in this test)
  let h = sign | (exp << 10) | (mant >>> 13);
  if (mant & 0x1000 && (mant & 0x2fff) !== 0) h++; // round to nearest even
  return h;
}

function encode(data: Float32Array, dtype: Dtype): Buffer {
  if (dtype === 'F32')
    return Buffer.from(new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice());
  const out = Buffer.alloc(2 * data.length);
  const u = new Uint32Array(Float32Array.from(data).buffer);
  for (let i = 0; i < data.length; i++)
    out.writeUInt16LE(dtype === 'F16' ? f32ToF16(data[i]) : u[i] >>> 16, 2 * i);
  return out;
}

function writeSafetensors(path: string, tensors: Record<string, { t: Tensor; dtype: Dtype }>): void {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const blobs: Buffer[] = [];
  let off = 0;
  for (const [name, { t, dtype }] of Object.entries(tensors)) {
    const b = encode(t.data, dtype);
    header[name] = { dtype, shape: t.shape, data_offsets: [off, off + b.length] };
    blobs.push(b);
    off += b.length;
  }
  const h = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(h.length));
  writeFileSync(path, Buffer.concat([len, h, ...blobs]));
}

function writeHfFolder(dir: string, m: LlamaModel, dtype: Dtype): void {
  const c = m.config;
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'config.json'),
    JSON.stringify({
      model_type: 'llama',
      hidden_size: c.hidden,
      intermediate_size: c.intermediate,
      num_hidden_layers: c.numLayers,
      num_attention_heads: c.numHeads,
      num_key_value_heads: c.numKvHeads,
      vocab_size: c.vocabSize,
      max_position_embeddings: c.contextLength,
      rms_norm_eps: c.rmsEps,
      rope_theta: c.ropeBase,
      tie_word_embeddings: c.tiedEmbeddings,
    }),
  );
  const w = m.weights;
  const t: Record<string, { t: Tensor; dtype: Dtype }> = {
    'model.embed_tokens.weight': { t: w.embed, dtype },
    'model.norm.weight': { t: w.outNorm, dtype: 'F32' },
  };
  if (!c.tiedEmbeddings) t['lm_head.weight'] = { t: w.output, dtype };
  w.layers.forEach((l, i) => {
    const p = `model.layers.${i}.`;
    t[p + 'input_layernorm.weight'] = { t: l.attnNorm, dtype: 'F32' };
    t[p + 'self_attn.q_proj.weight'] = { t: l.wq, dtype };
    t[p + 'self_attn.k_proj.weight'] = { t: l.wk, dtype };
    t[p + 'self_attn.v_proj.weight'] = { t: l.wv, dtype };
    t[p + 'self_attn.o_proj.weight'] = { t: l.wo, dtype };
    t[p + 'post_attention_layernorm.weight'] = { t: l.ffnNorm, dtype: 'F32' };
    t[p + 'mlp.gate_proj.weight'] = { t: l.wGate, dtype };
    t[p + 'mlp.up_proj.weight'] = { t: l.wUp, dtype };
    t[p + 'mlp.down_proj.weight'] = { t: l.wDown, dtype };
  });
  writeSafetensors(join(dir, 'model.safetensors'), t);
  // A minimal byte-level BPE tokenizer over the 40-token vocabulary (single characters).
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789 .,!';
  const vocab = Object.fromEntries([...chars].map((ch, i) => [ch === ' ' ? 'Ġ' : ch, i]));
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({
      version: '1.0',
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: null,
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        fuse_unk: false,
        byte_fallback: false,
        vocab,
        merges: [],
      },
    }),
  );
}

function maxAbs(a: Tensor, b: Tensor): number {
  let m = 0;
  for (let i = 0; i < a.size; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

test('a LLaMA saved as an HF folder (F32, tied and untied) loads to the same logits', () => {
  for (const tied of [true, false]) {
    const m = tinyLlama({ tied });
    const dir = join(tmpDir(), 'tiny');
    writeHfFolder(dir, m, 'F32');
    const lm = loadCausalLM(dir);
    assert.equal(lm.model.config.tiedEmbeddings, tied);
    const ids = lm.tokenizer.encode('hello world');
    assert.equal(ids.length, 11);
    assert.equal(lm.tokenizer.decode(ids), 'hello world');
    const a = m.forward(ids).logits as Tensor;
    const b = lm.model.forward(ids).logits as Tensor;
    assert.ok(maxAbs(a, b) < 1e-5, `tied=${tied}: ${maxAbs(a, b)}`);
  }
});

test('safetensors F16 and BF16 weights are widened exactly', () => {
  const m = tinyLlama({ tied: true });
  for (const dtype of ['F16', 'BF16'] as const) {
    const dir = join(tmpDir(), dtype);
    writeHfFolder(dir, m, dtype);
    const f = readSafetensorsHeader(join(dir, 'model.safetensors'));
    const wq = readSafetensor(f, 'model.layers.0.self_attn.q_proj.weight');
    const src = m.weights.layers[0].wq.data;
    for (let i = 0; i < src.length; i++) {
      // F16 keeps 11 significant bits (rounded: error ≤ 2^-11); BF16 8, truncated here (error < 2^-7).
      const tol = (dtype === 'F16' ? 2 ** -11 : 2 ** -7) * Math.abs(src[i]) + 1e-7;
      assert.ok(Math.abs(wq.data[i] - src[i]) <= tol, `${dtype}[${i}] ${wq.data[i]} vs ${src[i]}`);
    }
    if (dtype === 'BF16') {
      // BF16 is the upper half of float32: widening is exact truncation.
      const u = new Uint32Array(Float32Array.from(src).buffer);
      const back = new Uint32Array(Float32Array.from(wq.data).buffer);
      for (let i = 0; i < src.length; i++) assert.equal(back[i], ((u[i] >>> 16) << 16) >>> 0);
    }
    // The same model with its weights rounded in memory exactly as written (norms stay F32) must give
    // the loaded model's logits: any widening or layout error shows up far above float32 noise (1e-5).
    const lm = loadLlamaSafetensors(join(dir, 'config.json'), join(dir, 'model.safetensors'));
    const ref = tinyLlama({ tied: true });
    const round = (t: Tensor): void => {
      const bytes = encode(t.data, dtype);
      for (let i = 0; i < t.size; i++) {
        const h = bytes.readUInt16LE(2 * i);
        t.data[i] = dtype === 'F16' ? f16ToF32(h) : bf16ToF32(h);
      }
    };
    const w = ref.weights;
    round(w.embed);
    for (const l of w.layers) for (const t of [l.wq, l.wk, l.wv, l.wo, l.wGate, l.wUp, l.wDown]) round(t);
    const ids = [1, 2, 3, 17, 39];
    const got = lm.forward(ids).logits as Tensor;
    const want = ref.forward(ids).logits as Tensor;
    assert.ok(maxAbs(got, want) < 1e-5, `${dtype}: logits differ by ${maxAbs(got, want)}`);
    // …and rounding matters: the unrounded model differs by far more than that tolerance.
    assert.ok(maxAbs(got, m.forward(ids).logits as Tensor) > 1e-4, `${dtype}: rounding left no trace`);
  }
});

test('an HF folder in a hub-cache layout loads by repo id; a config/weights mismatch is named', () => {
  const cache = tmpDir();
  const commit = '0123456789abcdef0123456789abcdef01234567';
  const snap = join(cache, 'models--tiny-org--tiny-llama', 'snapshots', commit);
  const m = tinyLlama({ tied: true });
  writeHfFolder(snap, m, 'F32');
  mkdirSync(join(cache, 'models--tiny-org--tiny-llama', 'refs'), { recursive: true });
  writeFileSync(join(cache, 'models--tiny-org--tiny-llama', 'refs', 'main'), commit);
  const lm = loadCausalLM('tiny-org/tiny-llama', { cacheDir: cache });
  assert.ok(maxAbs(lm.model.forward([5, 6]).logits as Tensor, m.forward([5, 6]).logits as Tensor) < 1e-5);
  // Claim a larger hidden size than the weights have.
  writeFileSync(
    join(snap, 'config.json'),
    JSON.stringify({
      model_type: 'llama',
      hidden_size: 64,
      intermediate_size: 48,
      num_hidden_layers: 2,
      num_attention_heads: 4,
      num_key_value_heads: 2,
      vocab_size: 40,
    }),
  );
  assert.throws(
    () => loadCausalLM('tiny-org/tiny-llama', { cacheDir: cache }),
    (e: Error) =>
      e instanceof ModelConfigError &&
      /model\.safetensors: tensor 'model\.layers\.0\.input_layernorm\.weight' has shape \[32\] but the config implies \[64\]/.test(
        e.message,
      ),
  );
});
