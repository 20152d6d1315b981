import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError, ValueError } from '../../src/errors';
import { cachedFeatures, defaultCacheDir, SMOLLM2_FEATURE_MODEL } from '../../src/methods/dorm';
import { loadCausalLM, loadSentenceEncoder } from '../../src/models';

test('feature cache: computed once, reused, resumable after a torn write, refuses another model and empty text', () => {
  const enc = loadSentenceEncoder('all-minilm-l6-v2');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-cache-'));
  const file = path.join(dir, 'minilm.features');
  const texts = [
    'Human: how do I bake bread?\n\nAssistant: Start with flour.',
    'Human: hi\n\nAssistant: hello',
    'Human: x\n\nAssistant: y',
  ];
  try {
    const first = cachedFeatures(texts, { cachePath: file, encoder: enc, progress: false });
    assert.equal(first.computed, 3);
    assert.equal(first.dim, 384);
    // The same vectors as the encoder gives directly, up to float32 rounding: the cache embeds in another
    // batch order (padding changes the engine's summation order), so 1e-5 on unit-norm vectors.
    const direct = enc.embed(texts);
    let maxDiff = 0;
    direct.data.forEach((x, k) => (maxDiff = Math.max(maxDiff, Math.abs(x - first.features[k]))));
    assert.ok(maxDiff < 1e-5, `max difference ${maxDiff}`);
    const again = cachedFeatures([texts[2], texts[0]], { cachePath: file, encoder: enc, progress: false });
    assert.equal(again.computed, 0);
    assert.deepEqual(again.features.subarray(384), first.features.subarray(0, 384));
    // A torn last record (crash mid-append) is cut off; only that text is computed again.
    const size = fs.statSync(file).size;
    fs.truncateSync(file, size - 100);
    const resumed = cachedFeatures(texts, { cachePath: file, encoder: enc, progress: false });
    assert.equal(resumed.computed, 1);
    assert.equal(resumed.reused, 2);
    let resumedDiff = 0;
    resumed.features.forEach(
      (x, k) => (resumedDiff = Math.max(resumedDiff, Math.abs(x - first.features[k]))),
    );
    assert.ok(resumedDiff < 1e-5, `resumed: max difference ${resumedDiff}`);
    assert.equal(fs.statSync(file).size, size);
    assert.throws(
      () => cachedFeatures(texts, { cachePath: file, model: 'smollm2-135m-instruct', progress: false }),
      (e: Error) =>
        e instanceof ConfigError && /all-minilm-l6-v2/.test(e.message) && /smollm2/.test(e.message),
    );
    assert.throws(
      () => cachedFeatures(['ok', '  '], { cachePath: file, encoder: enc }),
      (e: Error) => e instanceof ValueError && /text 1/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('SmolLM2 option: pooled final hidden states of a few rows, cached in their own file under EFFLAB_CACHE_DIR/dorm', () => {
  const lm = loadCausalLM(SMOLLM2_FEATURE_MODEL);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-cache-root-'));
  const saved = process.env.EFFLAB_CACHE_DIR;
  process.env.EFFLAB_CACHE_DIR = root;
  const texts = [
    'Human: hi\n\nAssistant: hello there',
    'Human: is the sky blue?\n\nAssistant: Usually, yes.',
  ];
  try {
    assert.equal(defaultCacheDir(), path.join(root, 'dorm'));
    const mean = cachedFeatures(texts, { model: SMOLLM2_FEATURE_MODEL, lm, progress: false });
    assert.equal(mean.model, 'smollm2-135m-instruct:mean-pool');
    assert.equal(mean.dim, 576);
    assert.equal(mean.computed, 2);
    assert.equal(mean.cachePath, path.join(root, 'dorm', 'smollm2-135m-instruct.mean.features'));
    const last = cachedFeatures(texts, {
      model: SMOLLM2_FEATURE_MODEL,
      lm,
      pooling: 'last',
      progress: false,
    });
    assert.notEqual(last.cachePath, mean.cachePath);
    // Independent reference: the model's final hidden states [T, 576] pooled here in float64.
    texts.forEach((t, i) => {
      const h = lm.model.forward(lm.tokenizer.encode(t), lm.model.createCache(), { logits: 'none' }).hidden;
      const [T, H] = h.shape;
      let maxMean = 0;
      for (let j = 0; j < H; j++) {
        let s = 0;
        for (let p = 0; p < T; p++) s += h.data[p * H + j];
        // float32 sums over T ≤ 20 positions of values |x| ≲ 10: 1e-4 absolute covers the summation order.
        maxMean = Math.max(maxMean, Math.abs(s / T - mean.features[i * H + j]));
        assert.equal(last.features[i * H + j], h.data[(T - 1) * H + j]);
      }
      assert.ok(maxMean < 1e-4, `text ${i}: mean-pooled features differ from the hand mean by ${maxMean}`);
    });
    // Reused from disk with the LM never consulted; a MiniLM cache in the same folder is a different file.
    const again = cachedFeatures(texts, { model: SMOLLM2_FEATURE_MODEL, progress: false });
    assert.equal(again.computed, 0);
    assert.deepEqual(again.features, mean.features);
    assert.throws(
      () =>
        cachedFeatures(texts, { cachePath: mean.cachePath, model: SMOLLM2_FEATURE_MODEL, pooling: 'last' }),
      (e: Error) => e instanceof ConfigError && /mean-pool/.test(e.message) && /last-pool/.test(e.message),
    );
    assert.throws(
      () => cachedFeatures(texts, { pooling: 'last', progress: false }),
      (e: Error) => e instanceof ConfigError && /sentence encoder/.test(e.message),
    );
  } finally {
    if (saved === undefined) delete process.env.EFFLAB_CACHE_DIR;
    else process.env.EFFLAB_CACHE_DIR = saved;
    fs.rmSync(root, { recursive: true, force: true });
  }
});
