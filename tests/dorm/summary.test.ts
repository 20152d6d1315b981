import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { FileFormatError } from '../../src/errors';
import {
  betaSweep,
  experimentSummary,
  makeSyntheticTask,
  readExperimentSummary,
  runExperiment,
  summaryMarkdown,
  writeExperimentSummary,
} from '../../src/methods/dorm';

test('results file: the Table 3.2 analogue, shares, ρ, AUROC and β sweep read back as the run gave them', () => {
  const task = makeSyntheticTask({ pairs: 400, seed: 2 });
  const opts = {
    seeds: [0, 1],
    head: { hidden: 8 },
    train: { epochs: 3 },
    bilevel: { epochs: 3 },
    prior: { passes: 5 },
    methods: ['uniform (SFT)', 'DORM'] as const,
  };
  const r = runExperiment(task, opts);
  const sweep = betaSweep(task, [Infinity, 1], opts);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-summary-'));
  try {
    const file = writeExperimentSummary(path.join(dir, 'results.json'), {
      synthetic: experimentSummary(r, sweep),
    });
    const back = readExperimentSummary(file).synthetic;
    assert.deepEqual(
      back.table.map((t) => t.method),
      ['uniform (SFT)', 'DORM'],
    );
    const dormRow = r.table.find((t) => t.method === 'DORM')!;
    assert.equal(back.table[1].mean, dormRow.mean);
    assert.deepEqual(back.table[1].runs, dormRow.runs);
    assert.deepEqual(back.seeds, [0, 1]);
    const dormShares = r.shares.find((s) => s.method === 'DORM')!;
    const got = back.shares.find((s) => s.method === 'DORM')!;
    assert.deepEqual(got.end, dormShares.end);
    assert.equal(got.auroc, dormShares.auroc);
    assert.equal(got.rho, dormShares.rho);
    assert.equal(back.sweep![0].beta, 'Infinity');
    assert.equal(back.sweep![1].accuracy, sweep[1].accuracy);
    const md = summaryMarkdown(back);
    assert.ok(
      md.includes(`| DORM | ${(100 * dormRow.mean).toFixed(1)} ± ${(100 * dormRow.sd).toFixed(1)} |`),
      md,
    );
    assert.ok(md.includes(`| ${dormShares.rho.toFixed(2)} | ${dormShares.auroc.toFixed(3)} |`), md);
    fs.writeFileSync(path.join(dir, 'bad.json'), '{"x": {"table": 3}}');
    assert.throws(
      () => readExperimentSummary(path.join(dir, 'bad.json')),
      (e: Error) => e instanceof FileFormatError && /entry "x"/.test(e.message),
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
