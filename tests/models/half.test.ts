/**
 * f16 / bf16 widening (src/models/half.ts) against independent references: numpy's float16 for every one
 * of the 65,536 half patterns (subnormals, ±0, ±inf, NaN included), and the IEEE definitions of the edge
 * patterns for both formats. Widening to float32 is exact, so every finite value must match bit for bit.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { bf16ToF32, f16ToF32 } from '../../src/models/half';

const PY = path.resolve(__dirname, '..', '..', '.venv', 'bin', 'python');

/** float32 bit pattern of a number (after rounding to float32). */
function bitsOf(v: number): number {
  return new Uint32Array(new Float32Array([v]).buffer)[0];
}

test('f16ToF32 equals numpy float16 → float32 for all 65,536 bit patterns', () => {
  // numpy widens each half pattern to float32; we compare the float32 bit patterns (NaN payloads aside).
  const script =
    'import numpy as np,sys\n' +
    'h=np.arange(65536,dtype=np.uint32).astype(np.uint16).view(np.float16)\n' +
    'sys.stdout.buffer.write(h.astype(np.float32).view(np.uint32).astype("<u4").tobytes())';
  const buf = execFileSync(PY, ['-c', script], { maxBuffer: 1 << 20 });
  const want = new Uint32Array(buf.buffer, buf.byteOffset, 65536);
  let nan = 0;
  for (let h = 0; h < 65536; h++) {
    const got = f16ToF32(h);
    const w = want[h];
    const wantIsNan = (w & 0x7f800000) === 0x7f800000 && (w & 0x7fffff) !== 0;
    if (wantIsNan) {
      assert.ok(Number.isNaN(got), `pattern 0x${h.toString(16)}: numpy NaN, ours ${got}`);
      nan++;
      continue;
    }
    assert.equal(bitsOf(got), w, `pattern 0x${h.toString(16)}: ours ${got}`);
  }
  assert.equal(nan, 2 * 1023, 'every exponent-31 pattern with a non-zero fraction is NaN');
});

test('f16 edge patterns: subnormals, ±0, ±inf, NaN, largest finite', () => {
  assert.equal(f16ToF32(0x0001), 2 ** -24); // smallest subnormal
  assert.equal(f16ToF32(0x03ff), 1023 * 2 ** -24); // largest subnormal
  assert.equal(f16ToF32(0x0400), 2 ** -14); // smallest normal
  assert.equal(f16ToF32(0x7bff), 65504); // largest finite
  assert.equal(f16ToF32(0x7c00), Infinity);
  assert.equal(f16ToF32(0xfc00), -Infinity);
  assert.ok(Number.isNaN(f16ToF32(0x7e00)));
  assert.ok(Number.isNaN(f16ToF32(0xfc01)));
  assert.ok(Object.is(f16ToF32(0x8000), -0), '0x8000 is negative zero');
  assert.ok(Object.is(f16ToF32(0x0000), 0), '0x0000 is positive zero');
  assert.equal(f16ToF32(0x8001), -(2 ** -24));
  assert.equal(f16ToF32(0x3c00), 1);
  assert.equal(f16ToF32(0xc000), -2);
});

test('bf16ToF32 is the upper half of a float32: edge patterns and numpy for every pattern', () => {
  assert.equal(bf16ToF32(0x0001), 2 ** -133); // smallest bf16 subnormal (float32 subnormal 2^-149 · 2^16)
  assert.equal(bf16ToF32(0x007f), 127 * 2 ** -133); // largest subnormal
  assert.equal(bf16ToF32(0x0080), 2 ** -126); // smallest normal
  assert.equal(bf16ToF32(0x7f7f), (2 - 2 ** -7) * 2 ** 127); // largest finite
  assert.equal(bf16ToF32(0x7f80), Infinity);
  assert.equal(bf16ToF32(0xff80), -Infinity);
  assert.ok(Number.isNaN(bf16ToF32(0x7fc0)));
  assert.ok(Number.isNaN(bf16ToF32(0xff81)));
  assert.ok(Object.is(bf16ToF32(0x8000), -0), '0x8000 is negative zero');
  assert.equal(bf16ToF32(0x3f80), 1);
  assert.equal(bf16ToF32(0xc000), -2);
  // numpy reads the same 32-bit words as float32 (an implementation that does not share our code path).
  const script =
    'import numpy as np,sys\n' +
    'b=(np.arange(65536,dtype=np.uint32)<<16).view(np.float32)\n' +
    'sys.stdout.buffer.write(b.view(np.uint32).astype("<u4").tobytes())';
  const buf = execFileSync(PY, ['-c', script], { maxBuffer: 1 << 20 });
  const want = new Uint32Array(buf.buffer, buf.byteOffset, 65536);
  for (let h = 0; h < 65536; h++) {
    const got = bf16ToF32(h);
    if (Number.isNaN(got)) {
      assert.ok((want[h] & 0x7f800000) === 0x7f800000 && (want[h] & 0x7fffff) !== 0, `0x${h.toString(16)}`);
      continue;
    }
    assert.equal(bitsOf(got), want[h], `pattern 0x${h.toString(16)}`);
  }
});
