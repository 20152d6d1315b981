/** CSV / JSONL(.gz) readers and the real datasets from ../shared/data. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
// The data area directly: under tsx the lazy package entry (src/index.ts) exposes no areas.
import * as data from '../../src/data';
import { FileFormatError, NotFoundError, ValueError } from '../../src/errors';

test('AG News test split: 7,600 rows, 1,900 per label, escapes cleaned', () => {
  const rows = data.loadAgNews();
  assert.equal(rows.length, 7600);
  const counts = [0, 0, 0, 0];
  for (const r of rows) counts[r.label - 1]++;
  assert.deepEqual(counts, [1900, 1900, 1900, 1900]);
  assert.ok(rows.every((r) => !/#\d+;/.test(r.description) && !r.description.includes('\\')));
  assert.equal(data.cleanAgNewsText('costs #36;5 a\\\\ day'), 'costs $5 a day');
  // Row contents pinned (read independently with Python's csv module): a column swap or an off-by-one
  // row would change them. The last row also shows the cleaned `\\$` escape.
  assert.deepEqual(rows[0], {
    label: 3,
    title: 'Fears for T N pension after talks',
    description:
      "Unions representing workers at Turner Newall say they are 'disappointed' after talks with stricken parent firm Federal Mogul.",
  });
  assert.equal(rows[7599].title, 'EBay gets into rentals');
  assert.match(
    rows[7599].description,
    /^EBay plans to buy the apartment .* Rent\.com for \$415 million, adding/,
  );
});

test('HH-RLHF harmless-base: 2,312 chosen/rejected dialogue pairs from gzip JSONL', () => {
  const pairs = data.loadHhRlhf();
  assert.equal(pairs.length, 2312);
  assert.ok(pairs[0].chosen.includes('Human:') && pairs[0].rejected.includes('Assistant:'));
  // The first pair pinned (read with Python's gzip + json): a chosen/rejected swap changes the endings.
  assert.ok(pairs[0].chosen.startsWith('\n\nHuman: what are some pranks with a pen i can do?'));
  assert.ok(pairs[0].chosen.endsWith('you can get funny results by doing pranks with pens.'));
  assert.ok(pairs[0].rejected.endsWith('unzip their zipper. It’s really funny.'));
});

test('readers into danfojs DataFrames', () => {
  const df = data.readCsv(data.dataPath('ag_news', 'test.csv'));
  assert.deepEqual(df.shape, [7600, 3]);
  assert.deepEqual(df.columns, ['label', 'title', 'description']);
  const hh = data.readJsonl(data.dataPath('hh_rlhf', 'harmless-base-test.jsonl.gz'));
  assert.deepEqual(hh.shape, [2312, 2]);
});

test('malformed files give errors naming the file and line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'efflab-data-'));
  const bad = path.join(dir, 'bad.jsonl.gz');
  fs.writeFileSync(bad, zlib.gzipSync('{"a": 1}\n{"a": \n'));
  assert.throws(() => data.readJsonlRows(bad), /bad\.jsonl\.gz: line 2 is not valid JSON/);
  const arr = path.join(dir, 'arr.jsonl');
  fs.writeFileSync(arr, '[1, 2]\n');
  assert.throws(() => data.readJsonlRows(arr), /line 1 is not a JSON object/);
  const csv = path.join(dir, 'bad.csv');
  fs.writeFileSync(csv, 'a,b\n1,2\n3,4,5\n');
  assert.throws(() => data.readCsvRows(csv), /bad\.csv: CSV row 3/);
  const gz = path.join(dir, 'broken.gz');
  fs.writeFileSync(gz, Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  assert.throws(() => data.readJsonlRows(gz), /cannot decompress gzip/);
  // The project's error classes: a malformed file is a FileFormatError (DataFormatError is its old name).
  assert.throws(() => data.readCsvRows(csv), FileFormatError);
  assert.throws(() => data.readJsonlRows(gz), data.DataFormatError);
  assert.throws(() => data.readCsv(path.join(dir, 'missing.csv')), NotFoundError);
  assert.throws(
    () => data.readCsv(path.join(dir, 'missing.csv')),
    /readCsvRows: file not found: .*missing\.csv/,
  );
  assert.throws(() => data.readJsonl(42 as unknown as string), ValueError);
});

test('the data directory follows EFFLAB_DATA_DIR, and a missing file names the variable', () => {
  const saved = process.env.EFFLAB_DATA_DIR;
  try {
    process.env.EFFLAB_DATA_DIR = '/nonexistent/efflab-data';
    assert.equal(data.dataDir(), '/nonexistent/efflab-data');
    assert.throws(
      () => data.loadAgNews(),
      /data file not found: \/nonexistent\/efflab-data\/ag_news\/test\.csv .*EFFLAB_DATA_DIR/,
    );
    assert.throws(() => data.loadAgNews(), NotFoundError);
  } finally {
    if (saved === undefined) delete process.env.EFFLAB_DATA_DIR;
    else process.env.EFFLAB_DATA_DIR = saved;
  }
});
