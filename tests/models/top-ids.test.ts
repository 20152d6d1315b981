/** `topIds` (CausalLM.nextTokenTopK's selection) against a full sort by (value desc, id asc). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topIds } from '../../src/models';

test('topIds equals a full sort by (value desc, id asc), ties included', () => {
  let s = 7;
  const rand = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
  for (const [n, k] of [
    [1, 1],
    [5, 10],
    [100, 10],
    [1000, 1],
    [49152, 10],
  ]) {
    // Values on a coarse grid so ties are common.
    const row = Float32Array.from({ length: n }, () => Math.round(rand() * 50) / 10 - 2);
    const want = Array.from({ length: n }, (_, i) => i)
      .sort((a, b) => row[b] - row[a] || a - b)
      .slice(0, k);
    assert.deepEqual(topIds(row, k), want, `n ${n}, k ${k}`);
  }
  assert.deepEqual(topIds([3, 1, 2], 0), []);
});
