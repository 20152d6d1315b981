/**
 * Prompt templates and whole-word filtering (Eq. 2.4), and the on-disk caches: round trip, a cache from
 * another model or template refused by name, and an interrupt in the middle of caching that loses no row.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, EfflabError, ValueError } from '../../src/errors';
import { Tensor } from '../../src/ops';
import {
  embeddings,
  fillCache,
  fillTemplate,
  lmWords,
  RowCache,
  template,
  TEMPLATES,
  wholeWordCandidates,
  type NextTokenModel,
} from '../../src/methods/prboost';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'prb-cache-'));

test('templates: slot last, one [Input]; bad templates are named', () => {
  assert.equal(fillTemplate(template('category'), 'Stocks fell.'), 'Stocks fell.\nCategory of this news:');
  assert.equal(fillTemplate(template('topic'), 'A $1 deal'), 'News: A $1 deal\nTopic:');
  assert.ok(TEMPLATES.length >= 3);
  assert.throws(
    () => template('[Input] has no slot'),
    (e: Error) => e instanceof ValueError && /\[Mask\]/.test(e.message),
  );
  assert.throws(
    () => template('[Mask] comes first [Input]'),
    (e: Error) => e instanceof ValueError && /must come last/.test(e.message),
  );
  assert.throws(
    () => template('nonesuch'),
    (e: Error) => e instanceof ValueError && /unknown prompt template "nonesuch"/.test(e.message),
  );
});

test('whole-word candidates: sub-word pieces, stop words, punctuation, numbers dropped; top-k kept', () => {
  const toks = [
    ' The',
    ' Business',
    'ing',
    ' 2004',
    ' ,',
    ' Sports',
    ' business',
    ' Pe',
    ' NFL',
    ' Tech',
    ' Wall',
  ].map((text, i) => ({ text, prob: 1 / (i + 2) }));
  const w = wholeWordCandidates(toks, 3);
  assert.deepEqual(w.words, ['business', 'sports', 'nfl']);
  assert.deepEqual(w.probs, [1 / 3, 1 / 7, 1 / 10]);
});

test('row cache: round trip, header mismatch → ConfigError naming both, partial last line dropped', async () => {
  const dir = tmp();
  const file = path.join(dir, 'c.jsonl');
  const h = { kind: 'prboost-lm-words', version: 1, model: 'm1', template: 'T1' };
  const c = RowCache.open<number[]>(h, file);
  c.put('hello', [1, 2]);
  assert.deepEqual(RowCache.open<number[]>(h, file).get('hello'), [1, 2]);
  assert.throws(
    () => RowCache.open({ ...h, model: 'm2' }, file),
    (e: Error) =>
      e instanceof ConfigError && /model = "m1"/.test(e.message) && /model = "m2"/.test(e.message),
  );
  assert.throws(() => RowCache.open({ ...h, template: 'T2' }, file), ConfigError);
  fs.appendFileSync(file, '{"key":"abc","val'); // killed mid-write
  const again = RowCache.open<number[]>(h, file);
  assert.equal(again.size, 1);
  again.put('world', [3]);
  assert.deepEqual(RowCache.open<number[]>(h, file).get('world'), [3]);
  fs.rmSync(dir, { recursive: true });
});

test('interrupt mid-caching: rows computed so far stay on disk; the next call computes only the rest', async () => {
  const dir = tmp();
  const file = path.join(dir, 'lm.jsonl');
  let calls = 0;
  const fake: NextTokenModel = {
    nextTokenTopK: (prompt) => {
      calls++;
      return [
        { text: ` word${prompt.length % 7 === 0 ? 'x' : ''}`, prob: 0.5 },
        { text: ' market', prob: 0.2 },
      ];
    },
  };
  const texts = Array.from({ length: 10 }, (_, i) => `row number ${i}`);
  const ac = new AbortController();
  await assert.rejects(
    lmWords(fake, 'fake-lm', template('category'), texts, {
      file,
      signal: ac.signal,
      onBatch: (n) => {
        if (n === 4) ac.abort();
      },
    }),
    (e: Error) =>
      e instanceof EfflabError && /interrupted after 4 of 10/.test(e.message) && e.message.includes(file),
  );
  assert.equal(calls, 4);
  const out = await lmWords(fake, 'fake-lm', template('category'), texts, { file });
  assert.equal(calls, 10, 'only the 6 missing rows were computed');
  assert.equal(out.length, 10);
  assert.ok(out.every((p) => p.words.includes('market')));
  await assert.rejects(lmWords(fake, 'other-lm', template('category'), texts, { file }), ConfigError);
  await assert.rejects(lmWords(fake, 'fake-lm', template('topic'), texts, { file }), ConfigError);
  fs.rmSync(dir, { recursive: true });
});

test('embedding cache stores float32 rows exactly and batches the encoder', async () => {
  const dir = tmp();
  const file = path.join(dir, 'e.jsonl');
  const seen: number[] = [];
  const enc = {
    embed: (texts: readonly string[]): Tensor => {
      seen.push(texts.length);
      return new Tensor(Float32Array.from(texts.flatMap((t) => [t.length, 1 / 3])), [texts.length, 2]);
    },
  };
  const texts = Array.from({ length: 20 }, (_, i) => 'x'.repeat(i + 1));
  const e = await embeddings(enc, 'fake-enc', texts, { file });
  assert.deepEqual(e.shape, [20, 2]);
  assert.equal(e.data[2 * 5], 6);
  assert.equal(e.data[1], Math.fround(1 / 3));
  assert.deepEqual(seen, [16, 4]);
  const again = await embeddings(enc, 'fake-enc', texts, { file });
  assert.deepEqual([...again.data], [...e.data]);
  assert.deepEqual(seen, [16, 4], 'warm cache: no encoder call');
  await assert.rejects(
    fillCache(RowCache.open<number>({ kind: 'x' }, path.join(dir, 'x.jsonl')), ['a'], () => []),
    EfflabError,
  );
  fs.rmSync(dir, { recursive: true });
});

test('SmolLM2-135M-Instruct proposes topical whole words for a sports headline', async () => {
  const { loadCausalLM } = await import('../../src/models');
  const lm = loadCausalLM('smollm2-135m-instruct');
  const dir = tmp();
  const [p] = await lmWords(
    lm,
    'smollm2-135m-instruct',
    template('category'),
    ['Yankees beat Red Sox 5-3 in extra innings. The New York Yankees won the baseball game on Sunday.'],
    { file: path.join(dir, 'lm.jsonl') },
  );
  assert.equal(p.words.length, 10);
  assert.ok(p.words.every((w) => /^[a-z][a-z-]*[a-z]$/.test(w)));
  assert.ok(p.words.includes('sports') || p.words.includes('baseball'), p.words.join(', '));
  for (let i = 1; i < p.probs.length; i++) assert.ok(p.probs[i] <= p.probs[i - 1]);
  fs.rmSync(dir, { recursive: true });
});
