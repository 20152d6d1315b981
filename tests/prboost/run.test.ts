/**
 * The PRBoost loop end to end on real AG News rows with stand-in models (fast and deterministic): a
 * hashed bag-of-words "encoder" and an "LM" that proposes the instance's own longest words. Checks the
 * loop's bookkeeping, the exports (rules JSON round trip, weak-label CSV, the Python labeling functions
 * run by plain Python in .venv) and the bad-input errors.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot } from '../../src/data/paths';
import { FileFormatError, ValueError } from '../../src/errors';
import {
  baselines,
  candidatePreview,
  curvesFigure,
  ensembleProbs,
  hardMatchVotes,
  iterationRows,
  parseRules,
  prboostConfig,
  prepareWorkspace,
  PrboostRun,
  pythonLabelingFunctions,
  rulesDocument,
  weakLabelsCsv,
} from '../../src/methods/prboost';
import { hashingEncoder, longestWordsLM, useSharedData } from './helpers';

useSharedData();
const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'prb-run-'));
process.env.EFFLAB_PRBOOST_CACHE = cacheDir;

const encoder = hashingEncoder(64, true);
const lm = longestWordsLM;

test('the loop: iteration records, accepted rules with decisions, weak labels, baselines, exports', async () => {
  const cfg = prboostConfig('quick', {
    unlabelledLimit: 400,
    testLimit: 200,
    iterations: 2,
    topN: 5,
    weakModel: { epochs: 8, hidden: 32, batchSize: 32, selfTrainRounds: 1, selfTrainEpochs: 2 },
  });
  const ws = await prepareWorkspace(cfg, { lm, encoder });
  assert.equal(ws.labelled.length, 38);
  assert.equal(ws.validation.length, 38);
  assert.equal(ws.unlabelled.length, 400);
  const seen: number[] = [];
  const run = new PrboostRun(ws, { storeDir: cacheDir, onRecord: (r) => void seen.push(r.iteration) });
  const records = await run.run();
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal(records.length, 3);
  assert.equal(run.models.length, 3);
  assert.ok(Math.abs(run.weights.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  for (const r of records) {
    assert.ok(r.coverage > 0 && r.coverage <= 1);
    assert.ok(r.ensembleAccuracy >= 0 && r.ensembleAccuracy <= 1);
  }
  assert.equal(records[1].candidates, 5);
  assert.ok(records[2].rules >= records[1].rules);
  assert.ok(records[2].coverage >= records[0].coverage, 'new rules only add labels to uncovered rows');
  assert.ok(run.rules.every((r) => r.decisions.length === 3 && r.words.length > 0));
  assert.ok(Number.isFinite(records[1].kappa));
  assert.ok(records[1].secondsPerDecision >= 0, 'seconds per decision recorded');
  const rows = iterationRows(records);
  assert.equal(rows.length, 3);
  assert.equal(curvesFigure(records).data.length, 4);
  const base = baselines(run);
  assert.deepEqual(
    base.map((b) => b.name),
    ['rule majority vote', 'weak model, initial rules only', 'weak model, D_l only', 'model on D_l ∪ D_v'],
  );
  assert.ok(base.every((b) => b.accuracy >= 0 && b.accuracy <= 1));

  // Dataset and LM text is escaped where it is rendered.
  const evil = {
    ...(run.rules[0] ?? (await run.peekCandidates())[0]),
    words: ['<img src=x onerror=alert(1)>'],
  };
  const shown = (await candidatePreview(run, [evil])).data['text/html'] as string;
  assert.ok(!shown.includes('<img'), 'an LM word reached the page as markup');
  assert.ok(shown.includes('&#60;img'));

  // Rules JSON round trip.
  const doc = rulesDocument(run);
  const back = parseRules(JSON.stringify(doc), 'round trip');
  assert.equal(back.rules.length, run.rules.length);
  back.rules.forEach((r, i) => {
    assert.deepEqual(r.words, [...run.rules[i].words]);
    assert.equal(r.label, run.rules[i].label);
    assert.equal(r.template.text, run.rules[i].template.text);
    assert.equal(r.decisions.length, 3);
  });
  // Weak labels CSV: one line per D_u row, sources named.
  const csv = weakLabelsCsv(run).trim().split('\n');
  assert.equal(csv.length, 401);
  assert.ok(csv.slice(1).every((l) => /^\d+,-?\d,[^,]*,(keyword|prboost|none)$/.test(l)));

  // The Python module, run by plain Python on the same texts: the same votes as the TS hard match.
  if (run.rules.length > 0) {
    const py = path.join(cacheDir, 'prboost_lfs.py');
    fs.writeFileSync(py, pythonLabelingFunctions(back.rules, ws.classNames));
    const texts = ws.unlabelled.slice(0, 50).map((p) => ws.items[p].text);
    const script =
      'import json, sys; sys.path.insert(0, sys.argv[1]); import prboost_lfs as m; ' +
      'rows = [{"text": t} for t in json.load(open(sys.argv[2]))]; print(json.dumps(m.apply_lfs(rows)))';
    fs.writeFileSync(path.join(cacheDir, 'texts.json'), JSON.stringify(texts));
    const r = spawnSync(
      path.join(repoRoot(), '.venv', 'bin', 'python'),
      ['-c', script, cacheDir, path.join(cacheDir, 'texts.json')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(
      JSON.parse(r.stdout),
      texts.map((t) => hardMatchVotes(back.rules, t)),
    );
  }
});

test('bad rule JSON: malformed, empty rule, unknown label, template without its slot — each named', () => {
  const good = {
    format: 'efflab-prboost-rules',
    version: 1,
    classes: ['World', 'Sports'],
    rules: [
      {
        id: 'r1',
        label: 'Sports',
        words: ['nfl'],
        template: { name: 'category', text: '[Input]\nCategory: [Mask]' },
      },
    ],
  };
  assert.equal(parseRules(JSON.stringify(good)).rules.length, 1);
  assert.throws(
    () => parseRules('{"format": ', 'f.json'),
    (e: Error) => e instanceof FileFormatError && /f\.json: not valid JSON/.test(e.message),
  );
  const bad = (patch: object): string => JSON.stringify({ ...good, rules: [{ ...good.rules[0], ...patch }] });
  assert.throws(
    () => parseRules(bad({ words: [] })),
    (e: Error) => e instanceof ValueError && /"r1" has no words/.test(e.message),
  );
  assert.throws(
    () => parseRules(bad({ label: 'Weather' })),
    (e: Error) => e instanceof ValueError && /"r1" has unknown label "Weather"/.test(e.message),
  );
  assert.throws(
    () => parseRules(bad({ template: { name: 't', text: '[Input] no slot' } })),
    (e: Error) => e instanceof ValueError && /\[Mask\]/.test(e.message),
  );
  assert.throws(() => parseRules(JSON.stringify({ ...good, version: 9 })), FileFormatError);
});

test('Eq. 2.11: α-weighted and equal-weight ensembles', () => {
  const a = { data: [0.9, 0.1, 0.2, 0.8], shape: [2, 2] };
  const b = { data: [0.3, 0.7, 0.6, 0.4], shape: [2, 2] };
  const eq = ensembleProbs([a, b], [3, 1], 'equal');
  assert.deepEqual(
    [...eq.data].map((v) => +v.toFixed(12)),
    [0.6, 0.4, 0.4, 0.6],
  );
  const al = ensembleProbs([a, b], [3, 1], 'alpha');
  assert.deepEqual(
    [...al.data].map((v) => +v.toFixed(12)),
    [0.75, 0.25, 0.3, 0.7],
  );
});

test.after(() => fs.rmSync(cacheDir, { recursive: true, force: true }));
