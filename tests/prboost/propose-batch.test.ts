/**
 * Packed LM proposals (Eq. 2.4 for several rows per forward): the same words and probabilities as one
 * prompt at a time, with the real SmolLM2-135M-Instruct and with a model that cannot pack; and `lmWords`
 * fills its cache through the packed path.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadCausalLM } from '../../src/models';
import { loadAgNewsItems } from '../../src/data/agnews';
import {
  LM_BATCH_ROWS,
  lmWords,
  proposeWords,
  proposeWordsBatch,
  template,
  type NextTokenModel,
} from '../../src/methods/prboost';

const texts = loadAgNewsItems()
  .slice(100, 105)
  .map((r) => r.text);

test('packed proposals equal one-by-one proposals on SmolLM2 (words exact, probabilities within 1e-4)', () => {
  const lm = loadCausalLM('smollm2-135m-instruct');
  const t = template('category');
  let packedCalls = 0;
  const counting: NextTokenModel = {
    nextTokenTopK: (p, k) => lm.nextTokenTopK(p, k),
    nextTokenTopKBatch: (ps, k, o) => {
      packedCalls++;
      return lm.nextTokenTopKBatch(ps, k, o);
    },
  };
  const packed = proposeWordsBatch(counting, t, texts);
  assert.equal(packedCalls, 1);
  const single = texts.map((x) => proposeWords(lm, t, x));
  assert.equal(packed.length, texts.length);
  for (let i = 0; i < texts.length; i++) {
    assert.deepEqual(packed[i].words, single[i].words, `row ${i}`);
    assert.ok(packed[i].words.length > 0, `row ${i} proposes words`);
    // float32 sums in another order: probabilities agree to well under 1e-4 absolute.
    packed[i].probs.forEach((p, j) =>
      assert.ok(Math.abs(p - single[i].probs[j]) < 1e-4, `row ${i} word ${j}`),
    );
  }
});

test('a model without a packed path proposes one prompt at a time', () => {
  const seen: string[] = [];
  const fake: NextTokenModel = {
    nextTokenTopK: (p) => {
      seen.push(p);
      return [
        { text: ' markets', prob: 0.5 },
        { text: 'ing', prob: 0.2 },
        { text: ' sports', prob: 0.1 },
      ];
    },
  };
  const out = proposeWordsBatch(fake, template('category'), ['a b', 'c d']);
  assert.equal(seen.length, 2);
  assert.deepEqual(out[0].words, ['markets', 'sports']);
});

test('lmWords fills its cache in packed batches and reads it back', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-packed-'));
  const sizes: number[] = [];
  const fake: NextTokenModel = {
    nextTokenTopK: () => [],
    nextTokenTopKBatch: (ps) => {
      sizes.push(ps.length);
      return ps.map((p) => [{ text: ` w${p.length}`.replace(/\d/g, 'x') + 'yz', prob: 0.3 }]);
    },
  };
  const many = Array.from({ length: 30 }, (_, i) => `text number ${'z'.repeat(i)}`);
  const a = await lmWords(fake, 'fake', template('category'), many, { file: path.join(dir, 'w.jsonl') });
  assert.deepEqual(sizes, [LM_BATCH_ROWS, 30 - LM_BATCH_ROWS]);
  const b = await lmWords(fake, 'fake', template('category'), many, { file: path.join(dir, 'w.jsonl') });
  assert.deepEqual(sizes, [LM_BATCH_ROWS, 30 - LM_BATCH_ROWS], 'the second call reads the cache');
  assert.deepEqual(b, a);
  sizes.length = 0;
  const c = await lmWords(fake, 'fake', template('category'), many, {
    file: path.join(dir, 'w12.jsonl'),
    batchRows: 12,
  });
  assert.deepEqual(sizes, [12, 12, 6]);
  assert.deepEqual(c, a, 'the packing does not change the words');
  await assert.rejects(
    lmWords(fake, 'fake', template('category'), many, { file: path.join(dir, 'w0.jsonl'), batchRows: 0 }),
    /batchRows must be a positive integer, got 0/,
  );
  fs.rmSync(dir, { recursive: true, force: true });
});
