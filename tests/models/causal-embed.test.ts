/**
 * `CausalLM.embed` (SmolLM2) is the mean over positions of the final, output-normed hidden states:
 * checked against the same states collected token by token through the KV cache (the decode path, a
 * different attention shape from the one-shot prefill) to float32 accuracy, and for meaning: a
 * paraphrase sits closer than an unrelated sentence.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCausalLM } from '../../src/models';

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

test('SmolLM2 embed() is the mean of the final hidden states, and its cosines carry meaning', () => {
  const lm = loadCausalLM('smollm2-135m-instruct');
  const text = 'Stocks fell sharply on Monday as investors worried about rising interest rates.';
  const e = lm.embed(text);
  const ids = lm.promptIds(text);
  const cache = lm.model.createCache();
  const H = lm.model.config.hidden;
  const mean = new Float64Array(H);
  for (const id of ids) {
    const r = lm.model.forward([id], cache, { logits: 'none' });
    assert.deepEqual(r.hidden.shape, [1, H]);
    for (let j = 0; j < H; j++) mean[j] += r.hidden.data[j] / ids.length;
  }
  let maxDiff = 0;
  let maxAbs = 0;
  for (let j = 0; j < H; j++) {
    maxDiff = Math.max(maxDiff, Math.abs(e[j] - mean[j]));
    maxAbs = Math.max(maxAbs, Math.abs(mean[j]));
  }
  // float32 prefill vs decode: the same sums in another order; 1e-4 of the largest component.
  assert.ok(
    maxDiff <= 1e-4 * maxAbs,
    `embed differs from the token-by-token mean by ${maxDiff} (max |h| ${maxAbs})`,
  );

  const para = lm.embed('Share prices dropped steeply at the start of the week over fears of higher rates.');
  const other = lm.embed('The recipe needs two eggs, flour and a pinch of salt.');
  const near = cosine(e, para);
  const far = cosine(e, other);
  assert.ok(near > far, `paraphrase ${near.toFixed(3)} should be closer than unrelated ${far.toFixed(3)}`);
});
