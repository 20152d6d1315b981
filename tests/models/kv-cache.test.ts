/**
 * FullKVCache.reserve: room allocated up front so a decode loop never regrows (what the lorc-decode
 * benchmark gives both caches), with the same contents as a cache that grew by doubling.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FullKVCache } from '../../src/models';
import { ShapeError, Tensor, ValueError } from '../../src/ops';

const H = 2;
const D = 4;
const noRope = (k: Tensor): Tensor => k;

function entry(start: number, t: number, batch = 1) {
  const n = batch * t * H * D;
  const k = new Tensor(
    Float32Array.from({ length: n }, (_, i) => start * 100 + i),
    [batch, t, H, D],
  );
  const v = new Tensor(
    Float32Array.from({ length: n }, (_, i) => -(start * 100 + i)),
    [batch, t, H, D],
  );
  return { keysPreRope: k, values: v, positions: Array.from({ length: t }, (_, i) => start + i), hidden: k };
}

test('FullKVCache.reserve allocates once; appends up to the reservation never regrow; contents unchanged', () => {
  for (const reserveFirst of [true, false]) {
    const grown = new FullKVCache(1, noRope);
    const fixed = new FullKVCache(1, noRope);
    if (reserveFirst) fixed.reserve(1, 41);
    fixed.append(0, entry(0, 5));
    grown.append(0, entry(0, 5));
    if (!reserveFirst) fixed.reserve(1, 41);
    const cap = fixed.capacityBytes();
    assert.equal(cap, 2 * 4 * 41 * H * D, 'keys + values for 41 positions');
    for (let p = 5; p < 41; p++) {
      fixed.append(0, entry(p, 1));
      grown.append(0, entry(p, 1));
      assert.equal(fixed.capacityBytes(), cap, `regrew at position ${p}`);
    }
    assert.ok(grown.capacityBytes() !== cap, 'the unreserved cache grew by doubling (to 80 positions)');
    assert.deepEqual(fixed.read(0).keys.data, grown.read(0).keys.data);
    assert.deepEqual(fixed.read(0).values.data, grown.read(0).values.data);
    assert.equal(fixed.bytes(), grown.bytes());
  }
});

test('FullKVCache.reserve rejects bad sizes and a different batch', () => {
  const c = new FullKVCache(1, noRope);
  assert.throws(() => c.reserve(0, 10), ValueError);
  assert.throws(() => c.reserve(1, 2.5), ValueError);
  c.append(0, entry(0, 3, 2));
  assert.throws(() => c.reserve(1, 10), ShapeError);
});
