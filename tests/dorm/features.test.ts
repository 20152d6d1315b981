import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ConfigError, ValueError } from '../../src/errors';
import { cachedFeatures } from '../../src/methods/dorm';
import { loadSentenceEncoder } from '../../src/models';

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
