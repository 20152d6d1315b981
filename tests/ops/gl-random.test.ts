/**
 * The GL generator compiles once per output size and mode, not once per seed: a dropout loop that draws a
 * fresh mask every step must not compile a shader every step. Each mask still equals the integer
 * implementation on the js backend bit for bit. Runs under the suite's X server (headless-gl on Mesa);
 * when GL cannot start here the test fails with the reason instead of skipping.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../src/ops';
import { compiledKernelCount } from '../../src/ops/gl/runtime';

test('GL dropout masks: new seeds reuse the compiled kernel and match the js backend exactly', () => {
  const reason = o.backendUnavailableReason('gl');
  assert.equal(reason, undefined, `the gl backend cannot start here: ${reason}`);
  const shape = [48, 40];
  const masks = (seed: number) => ({
    gl: o.withBackend('gl', () => Array.from(o.dropoutMask(shape, 0.3, seed).data)),
    js: o.withBackend('js', () => Array.from(o.dropoutMask(shape, 0.3, seed).data)),
  });
  const first = masks(1);
  const compiled = compiledKernelCount();
  const seen = new Set([first.gl.join(',')]);
  assert.deepEqual(first.gl, first.js);
  for (let seed = 2; seed <= 6; seed++) {
    const m = masks(seed);
    assert.deepEqual(m.gl, m.js, `seed ${seed}: gl and js masks differ`);
    seen.add(m.gl.join(','));
  }
  assert.equal(compiledKernelCount(), compiled, 'a new seed compiled a new GL kernel');
  assert.equal(seen.size, 6, 'every seed gives its own mask');
});
