import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../src/errors';
import {
  fitProjection,
  makeSyntheticTask,
  pairAccuracy,
  pairSet,
  splitTask,
  trainWeighted,
  type HeadConfig,
} from '../../src/methods/dorm';

test('Eq. 3.1 on the synthetic task: a regression head on 3 rated attributes, projected by λ fitted on validation', () => {
  const task = makeSyntheticTask({ pairs: 2000, seed: 21, attributes: 3 });
  const split = splitTask(task, { seed: 21, sources: [{ name: 'all', flipRate: 0 }] });
  const cfg: HeadConfig = { dim: task.dim, hidden: 32, outputs: 3, dropout: 0.1, loss: 'regression' };
  const fit = trainWeighted(cfg, split.train, { seed: 1 });
  assert.ok(fit.losses[fit.losses.length - 1] < 0.5 * fit.losses[0], `loss ${fit.losses}`);
  const lam = fitProjection(fit.head, fit.params, split.validation);
  fit.head.projection = lam;
  const acc = pairAccuracy(fit.head, fit.params, split.test);
  // The same head with the true projection λ*: the fitted λ should be about as good.
  const truth = { ...fit.head, projection: task.trueProjection! };
  const accTrue = pairAccuracy(truth, fit.params, split.test);
  console.log(
    `METRIC dorm_regression_synthetic acc ${acc.toFixed(3)} (true λ ${accTrue.toFixed(3)}) λ ${Array.from(lam, (x) => x.toFixed(2))}`,
  );
  assert.ok(acc > 0.85, `accuracy ${acc}`);
  assert.ok(acc > accTrue - 0.03);
  lam.forEach((x) => assert.ok(x > 0));
  // A Bradley–Terry head on the same pairs for comparison (same code path, m = 1).
  const bt = trainWeighted({ ...cfg, outputs: 1, loss: 'bt' }, split.train, { seed: 1 });
  assert.ok(pairAccuracy(bt.head, bt.params, split.test) > 0.85);
  const noRatings = pairSet(
    { ...task, attributes: undefined, ratingsChosen: undefined, ratingsRejected: undefined },
    [0, 1],
  );
  assert.throws(() => trainWeighted(cfg, noRatings), ConfigError);
});
