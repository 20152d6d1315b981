/** IEEE half (f16) and bfloat16 bit patterns to float32. */

const F16_TABLE = buildF16Table();

function buildF16Table(): Float32Array {
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    if (exp === 0) t[h] = sign * frac * 2 ** -24;
    else if (exp === 31) t[h] = frac ? NaN : sign * Infinity;
    else t[h] = sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return t;
}

/** float32 value of an f16 bit pattern (table lookup). */
export function f16ToF32(bits: number): number {
  return F16_TABLE[bits & 0xffff];
}

const BF16_SCRATCH = new Uint32Array(1);
const BF16_VIEW = new Float32Array(BF16_SCRATCH.buffer);

/** float32 value of a bfloat16 bit pattern (the upper half of a float32). */
export function bf16ToF32(bits: number): number {
  BF16_SCRATCH[0] = (bits & 0xffff) << 16;
  return BF16_VIEW[0];
}
