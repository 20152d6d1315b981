/** all-MiniLM-L6-v2 against sentence-transformers on 20 real AG News texts (fixture). */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadAgNews } from '../../src/data';
import { ModelInputError, loadSentenceEncoder } from '../../src/models';
import { FIXTURES } from './helpers';

interface MiniFixture {
  rows: [number, number];
  ids: number[][];
  embeddings: number[][];
}
const FX = JSON.parse(readFileSync(join(FIXTURES, 'minilm.json'), 'utf8')) as MiniFixture;

test('MiniLM embeddings: per-element |Δ| ≤ 1e-4 to sentence-transformers on 20 AG News texts (batched)', () => {
  const enc = loadSentenceEncoder('all-minilm-l6-v2');
  const rows = loadAgNews().slice(FX.rows[0], FX.rows[1]);
  const texts = rows.map((r) => `${r.title}. ${r.description}`);
  texts.forEach((t, i) => assert.deepEqual(enc.encodeText(t), FX.ids[i], `token ids of text ${i}`));
  const emb = enc.embed(texts, 8);
  const H = 384;
  let worst = 1;
  let maxDiff = 0;
  for (let i = 0; i < texts.length; i++) {
    let dot = 0;
    let n1 = 0;
    let n2 = 0;
    for (let j = 0; j < H; j++) {
      const a = emb.data[i * H + j];
      const b = FX.embeddings[i][j];
      dot += a * b;
      n1 += a * a;
      n2 += b * b;
      maxDiff = Math.max(maxDiff, Math.abs(a - b));
    }
    worst = Math.min(worst, dot / Math.sqrt(n1 * n2));
    assert.ok(Math.abs(Math.sqrt(n1) - 1) < 1e-5, 'L2-normalised');
  }
  console.log(
    `MiniLM vs sentence-transformers over 20 texts: max |Δ| ${maxDiff.toExponential(2)}, worst cosine ${worst.toFixed(7)}`,
  );
  // Unit vectors of 384 entries (typical |x| ≈ 0.05): float32 on both sides, differing in summation
  // order through 6 layers, plus the fixture's rounding to 1e-6. 1e-4 per element is ~2e-3 of a
  // typical entry; a wrong ε, GELU or pooling moves entries by ≥ 1e-3.
  assert.ok(maxDiff <= 1e-4, `max |Δ| ${maxDiff}`);
  // Batching and padding do not change a text's embedding.
  const single = enc.embed([texts[3]]);
  let d = 0;
  for (let j = 0; j < H; j++) d = Math.max(d, Math.abs(single.data[j] - emb.data[3 * H + j]));
  assert.ok(d < 1e-5, `batched vs single ${d}`);
  // Over-long input is truncated to max_seq_length (256) tokens, keeping [SEP].
  const long = enc.encodeText('word '.repeat(400));
  assert.equal(long.length, 256);
  assert.equal(long[255], 102);
  assert.throws(() => enc.embed([]), ModelInputError);
});

test('MiniLM packed batches: padded hidden states equal the packed rows; embed keeps the caller order', () => {
  const enc = loadSentenceEncoder('all-minilm-l6-v2');
  const rows = loadAgNews().slice(FX.rows[0], FX.rows[0] + 6);
  const texts = rows.map((r) => `${r.title}. ${r.description}`);
  const ids = texts.map((t) => enc.encodeText(t));
  const { hidden: packed, offsets } = enc.packedHiddenStates(ids);
  const { hidden, mask } = enc.hiddenStates(ids);
  const [B, S, H] = hidden.shape;
  assert.equal(B, 6);
  for (let b = 0; b < B; b++) {
    const n = ids[b].length;
    assert.equal(offsets[b + 1] - offsets[b], n);
    for (let s = 0; s < S; s++) {
      assert.equal(mask.data[b * S + s], s < n ? 1 : 0);
      for (let j = 0; j < H; j++) {
        const want = s < n ? packed.data[(offsets[b] + s) * H + j] : 0;
        assert.equal(hidden.data[(b * S + s) * H + j], want);
      }
    }
  }
  // Sorting by length inside embed is invisible: reversing the input reverses the rows (within 1e-6:
  // a text's rows do not depend on its batch neighbours, only the GEMM's row blocking may differ).
  const fwd = enc.embed(texts, 4);
  const rev = enc.embed([...texts].reverse(), 4);
  for (let i = 0; i < 6; i++)
    for (let j = 0; j < H; j++)
      assert.ok(Math.abs(fwd.data[i * H + j] - rev.data[(5 - i) * H + j]) < 1e-6, `text ${i} entry ${j}`);
  assert.throws(() => enc.embed(texts, 0), ModelInputError);
});
