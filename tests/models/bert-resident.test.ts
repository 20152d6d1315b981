/**
 * MiniLM's resident path (`packedEncoderLayers`: one call for all layers on wasm / native, activations in
 * the wasm arena) against the same encoder run op by op on the plain-TypeScript `js` backend, on packed
 * batches of real AG News texts with very different lengths (a 2-token input, a text truncated at
 * 256 tokens). Tolerance 1e-4 per element of the last hidden states (LayerNorm outputs of size ~1): the
 * two paths sum the 384/1536-long products in different orders in float32 (observed ~1e-6).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadAgNews } from '../../src/data';
import { loadSentenceEncoder } from '../../src/models';
import {
  ShapeError,
  availableBackends,
  packedEncoderLayers,
  residentEncoderAvailable,
  withBackend,
  type BackendName,
} from '../../src/ops';

const enc = loadSentenceEncoder('all-minilm-l6-v2');

function batch(): number[][] {
  const rows = loadAgNews().slice(40, 46);
  const ids = rows.map((r) => enc.encodeText(`${r.title}. ${r.description}`));
  const long = enc.encodeText(rows.map((r) => r.description).join(' '));
  assert.equal(long.length, enc.config.maxSeqLength, 'the long input is truncated to maxSeqLength');
  return [...ids, long, enc.encodeText('')];
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of ['native', 'wasm'] as BackendName[]) {
  test(`MiniLM resident layers on ${backend} equal the op-by-op js path (|Δ| ≤ 1e-4)`, (t) => {
    if (!availableBackends().includes(backend)) {
      t.diagnostic(`${backend} is not available here: nothing to compare`);
      assert.equal(residentEncoderAvailable(), false);
      return;
    }
    const b = batch();
    assert.equal(b[b.length - 1].length, 2, 'an empty text is [CLS] [SEP]');
    const ref = withBackend('js', () => {
      assert.equal(residentEncoderAvailable(), false, 'js runs op by op');
      return enc.packedHiddenStates(b);
    });
    const got = withBackend(backend, () => {
      assert.equal(residentEncoderAvailable(), true);
      return enc.packedHiddenStates(b);
    });
    assert.deepEqual(got.offsets, ref.offsets);
    const d = maxDiff(got.hidden.data, ref.hidden.data);
    t.diagnostic(`${backend}: max |Δ| ${d.toExponential(2)} over ${got.hidden.size} hidden values`);
    assert.ok(d <= 1e-4, `max |Δ| ${d}`);
    // Batch composition does not change a text's rows (no state leaks between texts or calls).
    const alone = withBackend(backend, () => enc.packedHiddenStates([b[3]]));
    const rows = got.hidden.data.subarray(got.offsets[3] * 384, got.offsets[4] * 384);
    assert.ok(maxDiff(alone.hidden.data, rows) <= 1e-5);
  });
}

test('packedEncoderLayers refuses inconsistent shapes with ShapeError', (t) => {
  if (!residentEncoderAvailable()) {
    t.diagnostic('no wasm kernels here: the resident path is not used');
    return;
  }
  const dims = { hidden: 8, heads: 3, intermediate: 16, eps: 1e-12 };
  assert.throws(() => packedEncoderLayers(new Float32Array(16), [0, 2], [], dims), ShapeError);
  const ok = { ...dims, heads: 2 };
  assert.throws(() => packedEncoderLayers(new Float32Array(15), [0, 2], [], ok), ShapeError);
  assert.throws(() => packedEncoderLayers(new Float32Array(16), [0, 2, 2], [], ok), ShapeError);
  assert.deepEqual(
    [...packedEncoderLayers(new Float32Array(16).fill(0.5), [0, 2], [], ok)],
    new Array(16).fill(0.5),
  );
});

test('embed cuts a batch at maxTokens: the same embeddings as one large pass (|Δ| ≤ 1e-5), bad maxTokens refused', () => {
  const texts = loadAgNews()
    .slice(60, 72)
    .map((r) => `${r.title}. ${r.description}`);
  const whole = enc.embed(texts, 64);
  // ~40–60 tokens per text: a 100-token cap packs one or two texts per pass.
  const cut = enc.embed(texts, 64, 100);
  assert.deepEqual(cut.shape, whole.shape);
  const d = maxDiff(cut.data, whole.data);
  assert.ok(d <= 1e-5, `max |Δ| ${d}`);
  // A single text longer than the cap still runs (one text per pass at least).
  assert.equal(enc.embed([texts[0]], 8, 1).shape[0], 1);
  assert.throws(() => enc.embed(texts, 8, 0), /maxTokens must be a positive integer, got 0/);
});
