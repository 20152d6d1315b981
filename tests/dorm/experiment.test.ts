import assert from 'node:assert/strict';
import { test } from 'node:test';
import { betaSweep, makeSyntheticTask, runExperiment, trueLabels, splitTask } from '../../src/methods/dorm';

test('Table 3.2 analogue on the synthetic task (1,500 pairs, 2 seeds): ceilings on top, DORM above uniform, shares ranked', () => {
  const task = makeSyntheticTask({ pairs: 1500, seed: 0 });
  const r = runExperiment(task, { seeds: [0, 1], head: { hidden: 16 } });
  const acc = Object.fromEntries(r.table.map((row) => [row.method, row.mean]));
  for (const row of r.table)
    console.log(
      `METRIC dorm_table_synthetic ${row.method}: ${(100 * row.mean).toFixed(1)} ± ${(100 * row.sd).toFixed(1)}`,
    );
  for (const row of r.table) assert.equal(row.runs.length, 2);
  assert.ok(acc['ceiling: true labels'] > acc['uniform (SFT)']);
  assert.ok(acc['ceiling: flipped dropped'] > acc['uniform (SFT)']);
  assert.ok(acc['DORM'] > acc['uniform (SFT)'], `DORM ${acc['DORM']} vs uniform ${acc['uniform (SFT)']}`);
  assert.ok(acc['DORM'] > acc['control: w frozen at 1'] - 0.005);
  const dorm = r.shares.find((s) => s.method === 'DORM')!;
  assert.equal(dorm.rho, 1);
  assert.ok(dorm.end[3] < dorm.start[3]);
  assert.ok(dorm.auroc > 0.8);
  assert.equal(r.lengths, undefined);
});

test('β sweep: the weights end further from the prior as β falls; β = ∞ keeps them on it', () => {
  const task = makeSyntheticTask({ pairs: 800, seed: 3 });
  const s = betaSweep(task, [Infinity, 10, 1, 0], { head: { hidden: 8 }, bilevel: { epochs: 10 } });
  assert.equal(s[0].distance, 0);
  for (let k = 1; k < s.length; k++)
    assert.ok(s[k].distance > s[k - 1].distance, `β ${s[k].beta}: ${s[k].distance}`);
});

test('trueLabels undoes exactly the recorded flips', () => {
  const task = makeSyntheticTask({ pairs: 300, seed: 1 });
  const split = splitTask(task, { seed: 1 });
  const t = trueLabels(split.train);
  const clean = splitTask(task, { seed: 1, sources: split.sources.map((name) => ({ name, flipRate: 0 })) });
  assert.deepEqual(t.a, clean.train.a);
  assert.deepEqual(t.ratingsB, clean.train.ratingsB);
});
