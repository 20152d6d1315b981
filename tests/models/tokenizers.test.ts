/** Tokenizers against the reference `tokenizers`/transformers ids (fixtures) and round trips. */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ModelInputError,
  ggufTokenizerJson,
  loadTokenizerJson,
  readGgufHeader,
  tokenizerFromGguf,
} from '../../src/models';
import { FIXTURES, MINILM_DIR, SMOLLM_PATH, tmpDir } from './helpers';

interface TokCase {
  text: string;
  ids: number[];
}
const SMOL = JSON.parse(readFileSync(join(FIXTURES, 'smollm2.json'), 'utf8')) as {
  tokenizer: TokCase[];
  prompt: string;
  ids: number[];
};
const MINI = JSON.parse(readFileSync(join(FIXTURES, 'minilm.json'), 'utf8')) as { tokenizer: TokCase[] };

test("byte-level BPE rebuilt from GGUF metadata gives transformers' ids and round-trips", () => {
  const tok = tokenizerFromGguf(readGgufHeader(SMOLLM_PATH()));
  assert.equal(tok.vocabSize, 49152);
  assert.equal(tok.eosId, 2);
  assert.equal(tok.bosId, 1);
  for (const c of SMOL.tokenizer) {
    assert.deepEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text));
    assert.equal(tok.decode(c.ids), c.text, 'round trip ' + JSON.stringify(c.text));
  }
  assert.deepEqual(tok.encode(SMOL.prompt).slice(0, 32), SMOL.ids);
  // Special tokens: <|im_start|> is one control token, dropped by skipSpecialTokens.
  const ids = tok.encode('<|im_start|>user');
  assert.equal(ids[0], 1);
  assert.equal(tok.decode(ids, { skipSpecialTokens: true }), 'user');
  assert.throws(() => tok.decode([49152]), ModelInputError);
});

test('WordPiece from tokenizer.json gives the reference ids ([CLS]/[SEP], lower-casing, accents)', () => {
  const dir = MINILM_DIR();
  const tok = loadTokenizerJson(join(dir, 'tokenizer.json'), join(dir, 'tokenizer_config.json'));
  assert.equal(tok.kind, 'wordpiece');
  for (const c of MINI.tokenizer) assert.deepEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text));
  assert.equal(
    tok.decode(tok.encode('hello world, again'), { skipSpecialTokens: true }),
    'hello world, again',
  );
  assert.deepEqual(tok.encode('hi', { addSpecialTokens: false }), [7632]);
});

test('byte-level BPE from a tokenizer.json file (HF layout) gives the same reference ids', () => {
  const dir = tmpDir();
  const file = join(dir, 'tokenizer.json');
  writeFileSync(file, JSON.stringify(ggufTokenizerJson(readGgufHeader(SMOLLM_PATH()))));
  writeFileSync(
    join(dir, 'tokenizer_config.json'),
    JSON.stringify({ bos_token: '<|im_start|>', eos_token: '<|im_end|>' }),
  );
  const tok = loadTokenizerJson(file, join(dir, 'tokenizer_config.json'));
  assert.equal(tok.kind, 'bpe');
  assert.equal(tok.eosId, 2);
  for (const c of SMOL.tokenizer) assert.deepEqual(tok.encode(c.text), c.ids, JSON.stringify(c.text));
});
