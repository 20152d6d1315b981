/**
 * The shared wasm memory's explicit release (`freeF32`, src/ops/wasm/arena.ts): a synchronous loop that
 * makes and drops resident arrays never lets the collector's callbacks run, so without it the memory
 * would only grow.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as o from '../../src/ops';

const arena = o.wasmArena();

test('freeF32 hands a range back at once: 64 rounds of 8 MB arrays do not grow the memory', () => {
  const a = arena;
  const n = (8 << 20) / 4;
  o.freeF32(o.allocF32(n)); // the first range may grow the memory
  const before = a.reservedBytes;
  for (let i = 0; i < 64; i++) {
    const x = o.allocF32(n);
    x.fill(i);
    assert.equal(o.freeF32(x), true);
  }
  assert.equal(a.reservedBytes, before, 'the freed ranges were reused');
});

test('freeF32 refuses what it did not allocate or already freed; a freed range is handed out zeroed', () => {
  assert.equal(o.freeF32(new Float32Array(16)), false, 'plain memory');
  const x = o.allocF32(1000);
  assert.equal(o.freeF32(x.subarray(10)), false, 'a view of an arena array');
  x.fill(7);
  assert.equal(o.freeF32(x), true);
  assert.equal(o.freeF32(x), false, 'second free');
  const y = o.allocF32(1000);
  assert.ok(
    y.every((v) => v === 0),
    'fresh ranges are zeroed',
  );
  assert.equal(o.freeF32(y), true);
});
