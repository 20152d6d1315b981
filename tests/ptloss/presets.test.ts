import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  choosePreset,
  chosenOrders,
  presetSettings,
  ptlossClaimLabel,
  searchedOrders,
  simplexLayout,
  type SeedResult,
} from '../../src/methods/ptloss';

test('presets: chosen in the notebook, overridden by the environment for CI', () => {
  assert.equal(choosePreset('default'), 'default');
  assert.equal(choosePreset('default', { PTLOSS_QUICK: '1' }), 'quick');
  assert.equal(choosePreset('thesis', { EFFLAB_PRESET: 'quick' }), 'quick');
  assert.equal(choosePreset('full'), 'thesis');
  assert.equal(choosePreset('ci'), 'quick');
  assert.throws(() => choosePreset('huge'), /unknown preset 'huge'/);
  const d = presetSettings('default');
  const t = presetSettings('thesis');
  // The default keeps the thesis data and search, with fewer epochs and sampled proxies.
  assert.deepEqual(
    [d.points, d.teacherSizes, d.seeds, d.maxOrder, d.trialsPerOrder],
    [t.points, t.teacherSizes, t.seeds, t.maxOrder, t.trialsPerOrder],
  );
  assert.deepEqual([t.teacherEpochs, t.studentEpochs, t.proxies], [100, 100, 10]);
  d.seeds.push(9);
  assert.deepEqual(presetSettings('default').seeds, [1, 2, 3], 'a copy');
});

test('labels come from the settings and results: searched orders, chosen orders, simplex title', () => {
  const fake = (orders: number[]) =>
    ({ teachers: orders.map((bestOrder) => ({ bestOrder })) }) as unknown as SeedResult;
  assert.equal(searchedOrders({ maxOrder: 1 }), 'order 1');
  assert.equal(searchedOrders({ maxOrder: 2 }), 'orders 1..2');
  assert.equal(chosenOrders([fake([2, 1]), fake([1, 1])]), '2, 1; 1, 1');
  assert.equal(
    ptlossClaimLabel(presetSettings('quick'), [fake([2, 1])]),
    'PTLoss (orders 1..2 × 10 draws searched; chosen order per teacher: 2, 1) beats the baselines',
  );
  assert.match(
    ptlossClaimLabel(presetSettings('thesis'), [fake([3, 1, 2])]),
    /^PTLoss \(orders 1\.\.3 × 100 draws/,
  );
  const lay = simplexLayout({ index: 17, order: 2 });
  assert.equal(lay.title.text, 'Teacher → proxy teacher (trial 17, order 2) vs p*, test points');
  // Title pinned to the top margin, the ternary (and its top-vertex label) below it.
  assert.ok(lay.title.yanchor === 'top' && lay.title.y > lay.ternary.domain.y[1] + 0.1);
});
