/**
 * WebAssembly SIMD text of the row and elementwise kernels (part of the module gen-wat.ts writes):
 * SiLU, SwiGLU, GELU (erf form), RMSNorm, LayerNorm and an in-place softmax of one row. Each runs
 * 4 lanes at a time with a scalar tail (the same expression on lane 0 of a `load32_zero`), on the
 * calling thread. Pointers are byte addresses in the shared memory, counts are elements.
 *
 * exp: Cephes `expf` (range reduction by ln 2 split in two constants, degree-6 polynomial, 2^n built
 * in the exponent bits); relative error ≤ 2 ulp on [-87.3, 88]; inputs below -87.3 (and -Infinity)
 * give exactly 0, inputs above 88 are clamped (exp(88) ≈ 1.65e38). erf: Abramowitz & Stegun 7.1.26
 * (|error| ≤ 1.5e-7), the same approximation as the js and gl kernels.
 */

const c4 = (c: number): string => `(v128.const f32x4 ${c} ${c} ${c} ${c})`;
const mul = (a: string, b: string): string => `(f32x4.mul ${a} ${b})`;
const addv = (a: string, b: string): string => `(f32x4.add ${a} ${b})`;
const sub = (a: string, b: string): string => `(f32x4.sub ${a} ${b})`;
const div = (a: string, b: string): string => `(f32x4.div ${a} ${b})`;
const EXP_LO = -87.33654;
const EXP_HI = 88;

/** $exp4: e^x lane-wise (see the module comment). */
function exp4(): string {
  const P = [
    1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1,
  ];
  let p = c4(P[0]);
  for (const k of P.slice(1)) p = addv(mul(p, '(local.get $r)'), c4(k));
  return `  (func $exp4 (param $x v128) (result v128) (local $lo v128) (local $n v128) (local $r v128)
    (local.set $lo (f32x4.lt (local.get $x) ${c4(EXP_LO)}))
    (local.set $x (f32x4.min (f32x4.max (local.get $x) ${c4(EXP_LO)}) ${c4(EXP_HI)}))
    (local.set $n (f32x4.nearest ${mul('(local.get $x)', c4(1.4426950408889634))}))
    (local.set $r ${sub('(local.get $x)', mul('(local.get $n)', c4(0.693359375)))})
    (local.set $r ${sub('(local.get $r)', mul('(local.get $n)', c4(-2.1219444e-4)))})
    (v128.andnot
      ${mul(
        addv(addv(mul(mul(p, '(local.get $r)'), '(local.get $r)'), '(local.get $r)'), c4(1)),
        '(i32x4.shl (i32x4.add (i32x4.trunc_sat_f32x4_s (local.get $n)) (i32x4.splat (i32.const 127))) (i32.const 23))',
      )}
      (local.get $lo)))`;
}

/**
 * A map over n elements: out[i] = f(in_0[i], in_1[i], …). `expr(v)` builds the vector expression from
 * the loaded inputs; the tail runs the same expression on lane 0.
 */
function mapFn(name: string, inputs: string[], expr: (v: string[]) => string): string {
  const params = [...inputs.map((p) => `(param $${p} i32)`), '(param $out i32) (param $n i32)'].join(' ');
  const at = (p: string): string => `(i32.add (local.get $${p}) (local.get $i))`;
  const vec = expr(inputs.map((p) => `(v128.load ${at(p)})`));
  const one = expr(inputs.map((p) => `(v128.load32_zero ${at(p)})`));
  return `  (func (export "${name}") ${params} (local $i i32) (local $end i32) (local $vend i32)
    (local.set $end (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vend (i32.and (local.get $end) (i32.const -16)))
    (block $done (loop $v
      (br_if $done (i32.ge_u (local.get $i) (local.get $vend)))
      (v128.store ${at('out')} ${vec})
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $v)))
    (block $done2 (loop $s
      (br_if $done2 (i32.ge_u (local.get $i) (local.get $end)))
      (f32.store ${at('out')} (f32x4.extract_lane 0 ${one}))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $s))))`;
}

/** x / (1 + e^(−x)) */
const silu = (x: string): string => div(x, addv(c4(1), `(call $exp4 (f32x4.neg ${x}))`));

/** 0.5 · x · (1 + erf(x / √2)), erf by A&S 7.1.26 with the sign restored from the argument's bits. */
function gelu(x: string): string {
  const t = '(local.get $t)';
  const poly = mul(
    t,
    addv(
      c4(0.254829592),
      mul(
        t,
        addv(
          c4(-0.284496736),
          mul(t, addv(c4(1.421413741), mul(t, addv(c4(-1.453152027), mul(t, c4(1.061405429)))))),
        ),
      ),
    ),
  );
  return `(block (result v128)
      (local.set $x ${x})
      (local.set $a ${mul('(local.get $x)', c4(Math.SQRT1_2))})
      (local.set $z (f32x4.abs (local.get $a)))
      (local.set $t ${div(c4(1), addv(c4(1), mul(c4(0.3275911), '(local.get $z)')))})
      (local.set $e ${sub(c4(1), mul(poly, '(call $exp4 (f32x4.neg (f32x4.mul (local.get $z) (local.get $z))))'))})
      ${mul(
        mul(c4(0.5), '(local.get $x)'),
        addv(
          c4(1),
          '(v128.or (local.get $e) (v128.and (local.get $a) (v128.const i32x4 0x80000000 0x80000000 0x80000000 0x80000000)))',
        ),
      )})`;
}

/** Horizontal sum of a v128 of f32. */
const hsum = (v: string): string =>
  `(f32.add (f32.add (f32x4.extract_lane 0 ${v}) (f32x4.extract_lane 1 ${v})) (f32.add (f32x4.extract_lane 2 ${v}) (f32x4.extract_lane 3 ${v})))`;

/**
 * A loop over the columns of the row at $row: `vecBody` for 4 columns at byte offset $j, `oneBody`
 * for each remaining column.
 */
function colLoop(tag: string, vecBody: string, oneBody: string): string {
  return `(local.set $j (i32.const 0))
      (block $${tag}v (loop $${tag}vl
        (br_if $${tag}v (i32.gt_u (i32.add (local.get $j) (i32.const 16)) (local.get $rowb)))
        ${vecBody}
        (local.set $j (i32.add (local.get $j) (i32.const 16)))
        (br $${tag}vl)))
      (block $${tag}s (loop $${tag}sl
        (br_if $${tag}s (i32.ge_u (local.get $j) (local.get $rowb)))
        ${oneBody}
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $${tag}sl)))`;
}

const xj = '(i32.add (local.get $xr) (local.get $j))';
const oj = '(i32.add (local.get $or) (local.get $j))';
const pj = (p: string): string => `(i32.add (local.get $${p}) (local.get $j))`;

/** RMSNorm rows: out = x · (mean(x²) + eps)^(−1/2) · w (float32 sums in 4 lanes). */
function rmsnorm(): string {
  return `  (func (export "rmsnorm") (param $x i32) (param $w i32) (param $out i32) (param $rows i32) (param $cols i32) (param $eps f32)
    (local $r i32) (local $j i32) (local $rowb i32) (local $xr i32) (local $or i32) (local $acc v128) (local $s f32) (local $v f32) (local $inv v128)
    (local.set $rowb (i32.shl (local.get $cols) (i32.const 2)))
    (block $done (loop $rl
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowb))))
      (local.set $or (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $rowb))))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $s (f32.const 0))
      ${colLoop(
        'a',
        `(local.set $acc (f32x4.add (local.get $acc) (f32x4.mul (v128.load ${xj}) (v128.load ${xj}))))`,
        `(local.set $v (f32.load ${xj})) (local.set $s (f32.add (local.get $s) (f32.mul (local.get $v) (local.get $v))))`,
      )}
      (local.set $s (f32.add (local.get $s) ${hsum('(local.get $acc)')}))
      (local.set $inv (f32x4.splat (f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div (local.get $s) (f32.convert_i32_u (local.get $cols))) (local.get $eps))))))
      ${colLoop(
        'b',
        `(v128.store ${oj} (f32x4.mul (f32x4.mul (v128.load ${xj}) (local.get $inv)) (v128.load ${pj('w')})))`,
        `(f32.store ${oj} (f32.mul (f32.mul (f32.load ${xj}) (f32x4.extract_lane 0 (local.get $inv))) (f32.load ${pj('w')})))`,
      )}
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))`;
}

/** LayerNorm rows, two-pass variance: out = (x − mean) · (var + eps)^(−1/2) · g + b. */
function layernorm(): string {
  const cen = `(f32x4.sub (v128.load ${xj}) (local.get $mean))`;
  const cen1 = `(f32.sub (f32.load ${xj}) (f32x4.extract_lane 0 (local.get $mean)))`;
  return `  (func (export "layernorm") (param $x i32) (param $g i32) (param $b i32) (param $out i32) (param $rows i32) (param $cols i32) (param $eps f32)
    (local $r i32) (local $j i32) (local $rowb i32) (local $xr i32) (local $or i32) (local $acc v128) (local $s f32) (local $v f32) (local $mean v128) (local $inv v128)
    (local.set $rowb (i32.shl (local.get $cols) (i32.const 2)))
    (block $done (loop $rl
      (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $xr (i32.add (local.get $x) (i32.mul (local.get $r) (local.get $rowb))))
      (local.set $or (i32.add (local.get $out) (i32.mul (local.get $r) (local.get $rowb))))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $s (f32.const 0))
      ${colLoop(
        'a',
        `(local.set $acc (f32x4.add (local.get $acc) (v128.load ${xj})))`,
        `(local.set $s (f32.add (local.get $s) (f32.load ${xj})))`,
      )}
      (local.set $mean (f32x4.splat (f32.div (f32.add (local.get $s) ${hsum('(local.get $acc)')}) (f32.convert_i32_u (local.get $cols)))))
      (local.set $acc (v128.const i32x4 0 0 0 0))
      (local.set $s (f32.const 0))
      ${colLoop(
        'c',
        `(local.set $acc (f32x4.add (local.get $acc) (f32x4.mul ${cen} ${cen})))`,
        `(local.set $v ${cen1}) (local.set $s (f32.add (local.get $s) (f32.mul (local.get $v) (local.get $v))))`,
      )}
      (local.set $s (f32.add (local.get $s) ${hsum('(local.get $acc)')}))
      (local.set $inv (f32x4.splat (f32.div (f32.const 1) (f32.sqrt (f32.add (f32.div (local.get $s) (f32.convert_i32_u (local.get $cols))) (local.get $eps))))))
      ${colLoop(
        'b',
        `(v128.store ${oj} (f32x4.add (f32x4.mul (f32x4.mul ${cen} (local.get $inv)) (v128.load ${pj('g')})) (v128.load ${pj('b')})))`,
        `(f32.store ${oj} (f32.add (f32.mul (f32.mul ${cen1} (f32x4.extract_lane 0 (local.get $inv))) (f32.load ${pj('g')})) (f32.load ${pj('b')})))`,
      )}
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))`;
}

/** Softmax of n floats at $p in place: max, exp(x − max) with the sum, then scale by 1 / sum. */
function softmaxRow(): string {
  const xj1 = '(i32.add (local.get $xr) (local.get $j))';
  return `  (func (export "softmaxRow") (param $p i32) (param $n i32)
    (local $j i32) (local $rowb i32) (local $xr i32) (local $or i32) (local $acc v128) (local $s f32) (local $m f32) (local $mx v128) (local $e v128)
    (local.set $xr (local.get $p))
    (local.set $or (local.get $p))
    (local.set $rowb (i32.shl (local.get $n) (i32.const 2)))
    (local.set $acc (f32x4.splat (f32.const -inf)))
    (local.set $m (f32.const -inf))
    ${colLoop(
      'a',
      `(local.set $acc (f32x4.max (local.get $acc) (v128.load ${xj1})))`,
      `(local.set $m (f32.max (local.get $m) (f32.load ${xj1})))`,
    )}
    (local.set $m (f32.max (f32.max (local.get $m) (f32.max (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc))))
      (f32.max (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
    (local.set $mx (f32x4.splat (local.get $m)))
    (local.set $acc (v128.const i32x4 0 0 0 0))
    (local.set $s (f32.const 0))
    ${colLoop(
      'b',
      `(local.set $e (call $exp4 (f32x4.sub (v128.load ${xj1}) (local.get $mx)))) (v128.store ${oj} (local.get $e)) (local.set $acc (f32x4.add (local.get $acc) (local.get $e)))`,
      `(local.set $e (call $exp4 (f32x4.sub (v128.load32_zero ${xj1}) (local.get $mx)))) (f32.store ${oj} (f32x4.extract_lane 0 (local.get $e))) (local.set $s (f32.add (local.get $s) (f32x4.extract_lane 0 (local.get $e))))`,
    )}
    (local.set $mx (f32x4.splat (f32.div (f32.const 1) (f32.add (local.get $s) ${hsum('(local.get $acc)')}))))
    ${colLoop(
      'c',
      `(v128.store ${oj} (f32x4.mul (v128.load ${oj}) (local.get $mx)))`,
      `(f32.store ${oj} (f32.mul (f32.load ${oj}) (f32x4.extract_lane 0 (local.get $mx))))`,
    )})`;
}

/** The elementwise and row kernels' WAT functions (inside the kernels module). */
export function elementwiseWat(): string[] {
  const geluFn = mapFn('gelu', ['src'], (v) => gelu(v[0])).replace(
    '(local $i i32)',
    '(local $i i32) (local $x v128) (local $a v128) (local $z v128) (local $t v128) (local $e v128)',
  );
  return [
    exp4(),
    mapFn('silu', ['x'], (v) => silu(v[0])),
    mapFn('swiglu', ['g', 'u'], (v) => mul(silu(v[0]), v[1])),
    geluFn,
    rmsnorm(),
    layernorm(),
    softmaxRow(),
  ];
}
