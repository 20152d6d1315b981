import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropoutMaskReference } from '../../src/ops';
import { fillDropoutMask } from '../../src/train';

test('fillDropoutMask is bit-identical to the ops reference mask (same counters, seeds and streams)', () => {
  const cases: [number, number, number, number][] = [
    // [seed, stream, p, count]
    [0, 0, 0.1, 4096],
    [123, 16, 0.2, 999],
    [-7, 3, 0.5, 2048],
    [2 ** 40 + 17, 1, 0.1, 3000],
    [100003 * 41 + 7, 2 ** 26, 0.9, 1500],
    [5, 0, 0, 200],
  ];
  for (const [seed, stream, p, count] of cases) {
    const ref = dropoutMaskReference([count], p, seed, { stream }).data;
    const out = new Float32Array(count + 5).fill(-1);
    fillDropoutMask(out, 3, count, p, seed, stream);
    assert.equal(out[0], -1);
    assert.equal(out[count + 3], -1);
    let zeros = 0;
    for (let i = 0; i < count; i++) {
      assert.equal(out[3 + i], ref[i], `seed ${seed} stream ${stream} p ${p}: element ${i}`);
      if (ref[i] === 0) zeros++;
    }
    // not vacuous: the mask drops about p of the values
    assert.ok(Math.abs(zeros / count - p) < 0.05, `drop rate ${zeros / count} vs ${p}`);
  }
  // float64 buffers get the same (float32-rounded) values
  const d = new Float64Array(100);
  fillDropoutMask(d, 0, 100, 0.3, 9, 2);
  const ref = dropoutMaskReference([100], 0.3, 9, { stream: 2 }).data;
  d.forEach((v, i) => assert.equal(v, ref[i]));
});

test('fillDropoutMask refuses a bad rate, seed or range', () => {
  const b = new Float32Array(10);
  assert.throws(() => fillDropoutMask(b, 0, 10, 1, 0, 0), /p = 1/);
  assert.throws(() => fillDropoutMask(b, 0, 10, 0.1, 0.5, 0), /integers/);
  assert.throws(() => fillDropoutMask(b, 5, 10, 0.1, 0, 0), /do not fit/);
});
