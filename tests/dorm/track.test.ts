import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  makeSyntheticTask,
  runBilevel,
  splitHistogram,
  splitTask,
  trackWeights,
  type HeadConfig,
} from '../../src/methods/dorm';

test('splitHistogram: common bins, counts per group add up', () => {
  const h = splitHistogram([0, 1, 2, 3, 4, 4], [0, 1, 0, 1, 0, 0], 4);
  assert.deepEqual(h.clean, [1, 0, 1, 2]);
  assert.deepEqual(h.flipped, [0, 1, 0, 1]);
  assert.deepEqual(h.centers, [0.5, 1.5, 2.5, 3.5]);
});

test('live tracking during Algorithm 1: shares sum to 1 each step, histograms and AUROC are streamed', () => {
  const task = makeSyntheticTask({ pairs: 600, seed: 2 });
  const split = splitTask(task, { seed: 2 });
  const cfg: HeadConfig = { dim: task.dim, hidden: 8, outputs: 1, dropout: 0.1, loss: 'bt' };
  const tr = trackWeights({ sources: split.sources, flipped: split.train.flipped });
  const r = runBilevel(cfg, split.train, split.validation, 4, {
    epochs: 4,
    seed: 1,
    onLog: (s) => tr.log(s),
  });
  tr.close();
  assert.equal(tr.steps.length, r.history.length);
  assert.ok(tr.steps.length >= 5);
  for (const s of tr.shareHistory) assert.ok(Math.abs(s.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  assert.equal(tr.detail.length(2), tr.steps.length); // at step 0 every weight ties: AUROC 0.5
  assert.equal(r.history[0].auroc, 0.5);
  assert.equal(tr.shares.plot.length(0), tr.steps.length);
  const bins = tr.detail.length(0);
  assert.equal(bins, 25);
  assert.throws(() => tr.log({ ...r.history[0], weights: new Float64Array(3) }), /3 weights/);
});
