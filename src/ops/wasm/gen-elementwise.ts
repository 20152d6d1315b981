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
  return `  (func $softmaxRow (export "softmaxRow") (param $p i32) (param $n i32)
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

/**
 * The softmax rows of attention scores for `heads` heads of T rows each, ld floats apart, in place: row t
 * (of every head) takes the softmax of its first lim = min(lim0 + t·step, ld) scores (`softmaxRow`;
 * causal: lim0 = offset + 1, step 1; all keys: lim0 = ld, step 0), then min(zpad, ld − lim) zeros
 * after them, so a product over the row's block of keys reads exactly 0 past its own limit.
 */
function softmaxRowsCausal(): string {
  return `  (func (export "softmaxRowsCausal") (param $p i32) (param $heads i32) (param $T i32) (param $ld i32) (param $lim0 i32) (param $step i32) (param $zpad i32)
    (local $h i32) (local $t i32) (local $row i32) (local $lim i32) (local $z i32) (local $j i32)
    (local.set $row (local.get $p))
    (block $hd (loop $hl
      (br_if $hd (i32.ge_u (local.get $h) (local.get $heads)))
      (local.set $t (i32.const 0))
      (block $td (loop $tl
        (br_if $td (i32.ge_u (local.get $t) (local.get $T)))
        (local.set $lim (i32.add (local.get $lim0) (i32.mul (local.get $t) (local.get $step))))
        (if (i32.gt_u (local.get $lim) (local.get $ld)) (then (local.set $lim (local.get $ld))))
        (call $softmaxRow (local.get $row) (local.get $lim))
        (local.set $z (i32.add (local.get $lim) (local.get $zpad)))
        (if (i32.gt_u (local.get $z) (local.get $ld)) (then (local.set $z (local.get $ld))))
        (local.set $j (local.get $lim))
        (block $zd (loop $zl
          (br_if $zd (i32.ge_u (local.get $j) (local.get $z)))
          (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $zl)))
        (local.set $row (i32.add (local.get $row) (i32.shl (local.get $ld) (i32.const 2))))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tl)))
      (local.set $h (i32.add (local.get $h) (i32.const 1)))
      (br $hl))))`;
}

/**
 * Attention of one query position over S held keys, query heads h0 ≤ h < h1 (Eq. 2.3; decode): for
 * head h (K/V head kh = ⌊h / (Hq/Hkv)⌋) scores s_j = scale · q_h · k[j, kh] into `sc` (S floats of
 * scratch), the SIMD softmax of the row, then out_h = Σ_j p_j · v[j] over dv values per head. q is
 * Hq·D floats, key row j at k + j·ldk (+ kh·D·4), value row j at v + j·ldv + kh·vhs (vhs = 0: one value
 * row shared by every head, the folded values of Eq. 5.9), out is Hq·dv floats. Four keys per step
 * (four independent float32 sums of 4 lanes each, then a scalar tail), so the dot products are not one
 * dependent chain; the value sum also takes four rows per step.
 */
function attnRows(): string {
  const L = (n: string): string => `(local.get $${n})`;
  const at = (base: string, off?: string): string =>
    off ? `(i32.add (i32.add ${L(base)} ${L(off)}) ${L('j')})` : `(i32.add ${L(base)} ${L('j')})`;
  const kAt = (i: number): string => at('kp', i === 0 ? undefined : `k${i}`);
  const vAt = (i: number): string => at('vp', i === 0 ? undefined : `v${i}`);
  const scAt = (i: number): string =>
    `(i32.add ${L('sc')} (i32.shl (i32.add ${L('s')} (i32.const ${i})) (i32.const 2)))`;
  const step = (v: string, n: number): string => `(local.set $${v} (i32.add ${L(v)} (i32.const ${n})))`;
  const loop = (tag: string, cond: string, body: string): string =>
    `(block $${tag} (loop $${tag}l (br_if $${tag} ${cond}) ${body} (br $${tag}l)))`;
  const geu = (a: string, b: string): string => `(i32.ge_u ${L(a)} ${L(b)})`;
  // Scores, four keys at a time.
  const dot4 = [0, 1, 2, 3]
    .map((i) => `(local.set $a${i} (f32x4.add ${L(`a${i}`)} (f32x4.mul ${L('qv')} (v128.load ${kAt(i)}))))`)
    .join(' ');
  const dot4s = [0, 1, 2, 3]
    .map((i) => `(local.set $t${i} (f32.add ${L(`t${i}`)} (f32.mul ${L('qf')} (f32.load ${kAt(i)}))))`)
    .join(' ');
  const zero4 = [0, 1, 2, 3]
    .map((i) => `(local.set $a${i} (v128.const i32x4 0 0 0 0)) (local.set $t${i} (f32.const 0))`)
    .join(' ');
  const store4 = [0, 1, 2, 3]
    .map((i) => `(f32.store ${scAt(i)} (f32.mul (f32.add ${L(`t${i}`)} ${hsum(L(`a${i}`))}) ${L('scale')}))`)
    .join(' ');
  const scores4 = loop(
    'sq',
    `(i32.gt_u (i32.add ${L('s')} (i32.const 4)) ${L('S')})`,
    `${zero4} (local.set $j (i32.const 0))
        ${loop('dq', geu('j', 'Db4'), `(local.set $qv (v128.load ${at('qh')})) ${dot4} ${step('j', 16)}`)}
        ${loop('ds', geu('j', 'Db'), `(local.set $qf (f32.load ${at('qh')})) ${dot4s} ${step('j', 4)}`)}
        ${store4}
        (local.set $kp (i32.add ${L('kp')} ${L('k4')})) ${step('s', 4)}`,
  );
  const scores1 = loop(
    's1',
    geu('s', 'S'),
    `(local.set $a0 (v128.const i32x4 0 0 0 0)) (local.set $t0 (f32.const 0)) (local.set $j (i32.const 0))
        ${loop('d1', geu('j', 'Db4'), `(local.set $a0 (f32x4.add ${L('a0')} (f32x4.mul (v128.load ${at('qh')}) (v128.load ${kAt(0)})))) ${step('j', 16)}`)}
        ${loop('e1', geu('j', 'Db'), `(local.set $t0 (f32.add ${L('t0')} (f32.mul (f32.load ${at('qh')}) (f32.load ${kAt(0)})))) ${step('j', 4)}`)}
        (f32.store ${scAt(0)} (f32.mul (f32.add ${L('t0')} ${hsum(L('a0'))}) ${L('scale')}))
        (local.set $kp (i32.add ${L('kp')} ${L('ldk')})) ${step('s', 1)}`,
  );
  // Values, four rows at a time.
  const oj = at('oh');
  const pv4 = `(v128.store ${oj} (f32x4.add (f32x4.add (v128.load ${oj}) (f32x4.add (f32x4.mul ${L('p0')} (v128.load ${vAt(0)})) (f32x4.mul ${L('p1')} (v128.load ${vAt(1)})))) (f32x4.add (f32x4.mul ${L('p2')} (v128.load ${vAt(2)})) (f32x4.mul ${L('p3')} (v128.load ${vAt(3)})))))`;
  const lane = (v: string): string => `(f32x4.extract_lane 0 ${L(v)})`;
  const pv4s = `(f32.store ${oj} (f32.add (f32.add (f32.load ${oj}) (f32.add (f32.mul ${lane('p0')} (f32.load ${vAt(0)})) (f32.mul ${lane('p1')} (f32.load ${vAt(1)})))) (f32.add (f32.mul ${lane('p2')} (f32.load ${vAt(2)})) (f32.mul ${lane('p3')} (f32.load ${vAt(3)})))))`;
  const values4 = loop(
    'pq',
    `(i32.gt_u (i32.add ${L('s')} (i32.const 4)) ${L('S')})`,
    `${[0, 1, 2, 3].map((i) => `(local.set $p${i} (v128.load32_splat ${scAt(i)}))`).join(' ')}
        (local.set $j (i32.const 0))
        ${loop('vq', geu('j', 'dvb4'), `${pv4} ${step('j', 16)}`)}
        ${loop('vs', geu('j', 'dvb'), `${pv4s} ${step('j', 4)}`)}
        (local.set $vp (i32.add ${L('vp')} ${L('v4')})) ${step('s', 4)}`,
  );
  const values1 = loop(
    'p1',
    geu('s', 'S'),
    `(local.set $p0 (v128.load32_splat ${scAt(0)})) (local.set $j (i32.const 0))
        ${loop('w1', geu('j', 'dvb4'), `(v128.store ${oj} (f32x4.add (v128.load ${oj}) (f32x4.mul ${L('p0')} (v128.load ${vAt(0)})))) ${step('j', 16)}`)}
        ${loop('x1', geu('j', 'dvb'), `(f32.store ${oj} (f32.add (f32.load ${oj}) (f32.mul ${lane('p0')} (f32.load ${vAt(0)})))) ${step('j', 4)}`)}
        (local.set $vp (i32.add ${L('vp')} ${L('ldv')})) ${step('s', 1)}`,
  );
  return `  (func (export "attnRows") (param $q i32) (param $k i32) (param $v i32) (param $out i32) (param $sc i32) (param $S i32) (param $Hq i32) (param $Hkv i32) (param $D i32) (param $ldk i32) (param $ldv i32) (param $vhs i32) (param $dv i32) (param $scale f32) (param $h0 i32) (param $h1 i32)
    (local $h i32) (local $G i32) (local $kh i32) (local $qh i32) (local $kp i32) (local $vp i32) (local $oh i32) (local $s i32) (local $j i32)
    (local $Db i32) (local $Db4 i32) (local $dvb i32) (local $dvb4 i32) (local $k1 i32) (local $k2 i32) (local $k3 i32) (local $k4 i32) (local $v1 i32) (local $v2 i32) (local $v3 i32) (local $v4 i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $qv v128) (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $p3 v128)
    (local $t0 f32) (local $t1 f32) (local $t2 f32) (local $t3 f32) (local $qf f32)
    (local.set $G (i32.div_u ${L('Hq')} ${L('Hkv')}))
    (local.set $Db (i32.shl ${L('D')} (i32.const 2)))
    (local.set $Db4 (i32.and ${L('Db')} (i32.const -16)))
    (local.set $dvb (i32.shl ${L('dv')} (i32.const 2)))
    (local.set $dvb4 (i32.and ${L('dvb')} (i32.const -16)))
    (local.set $k1 ${L('ldk')}) (local.set $k2 (i32.shl ${L('ldk')} (i32.const 1))) (local.set $k3 (i32.mul ${L('ldk')} (i32.const 3))) (local.set $k4 (i32.shl ${L('ldk')} (i32.const 2)))
    (local.set $v1 ${L('ldv')}) (local.set $v2 (i32.shl ${L('ldv')} (i32.const 1))) (local.set $v3 (i32.mul ${L('ldv')} (i32.const 3))) (local.set $v4 (i32.shl ${L('ldv')} (i32.const 2)))
    (local.set $h ${L('h0')})
    ${loop(
      'hd',
      geu('h', 'h1'),
      `(local.set $kh (i32.div_u ${L('h')} ${L('G')}))
      (local.set $qh (i32.add ${L('q')} (i32.mul ${L('h')} ${L('Db')})))
      (local.set $kp (i32.add ${L('k')} (i32.mul ${L('kh')} ${L('Db')})))
      (local.set $s (i32.const 0))
      ${scores4}
      ${scores1}
      (call $softmaxRow ${L('sc')} ${L('S')})
      (local.set $oh (i32.add ${L('out')} (i32.mul ${L('h')} ${L('dvb')})))
      (local.set $j (i32.const 0))
      ${loop('zd', geu('j', 'dvb'), `(f32.store ${oj} (f32.const 0)) ${step('j', 4)}`)}
      (local.set $vp (i32.add ${L('v')} (i32.mul ${L('kh')} ${L('vhs')})))
      (local.set $s (i32.const 0))
      ${values4}
      ${values1}
      ${step('h', 1)}`,
    )})`;
}

/**
 * Rotary embedding, 'half' pairing (dimension i with i + D/2; Eq. 2.5), of `rows` rows of H heads × D:
 * row r uses the D/2 cos/sin values at cos + r·D/2·4 (its position's table row). out may equal x.
 */
function ropeHalf(): string {
  const at = (b: string, off = ''): string =>
    off
      ? `(i32.add (i32.add (local.get $${b}) (local.get $j)) (local.get $${off}))`
      : `(i32.add (local.get $${b}) (local.get $j))`;
  return `  (func (export "ropeHalf") (param $x i32) (param $cos i32) (param $sin i32) (param $out i32) (param $rows i32) (param $H i32) (param $D i32)
    (local $r i32) (local $h i32) (local $j i32) (local $hb i32) (local $hb4 i32) (local $cr i32) (local $sr i32) (local $xp i32) (local $op i32)
    (local $a v128) (local $b v128) (local $c v128) (local $s v128) (local $af f32) (local $bf f32) (local $cf f32) (local $sf f32)
    (local.set $hb (i32.shl (local.get $D) (i32.const 1)))
    (local.set $hb4 (i32.and (local.get $hb) (i32.const -16)))
    (local.set $xp (local.get $x))
    (local.set $op (local.get $out))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $cr (i32.add (local.get $cos) (i32.mul (local.get $r) (local.get $hb))))
      (local.set $sr (i32.add (local.get $sin) (i32.mul (local.get $r) (local.get $hb))))
      (local.set $h (i32.const 0))
      (block $hd (loop $hl
        (br_if $hd (i32.ge_u (local.get $h) (local.get $H)))
        (local.set $j (i32.const 0))
        (block $vd (loop $vl (br_if $vd (i32.ge_u (local.get $j) (local.get $hb4)))
          (local.set $a (v128.load ${at('xp')})) (local.set $b (v128.load ${at('xp', 'hb')}))
          (local.set $c (v128.load ${at('cr')})) (local.set $s (v128.load ${at('sr')}))
          (v128.store ${at('op')} (f32x4.sub (f32x4.mul (local.get $a) (local.get $c)) (f32x4.mul (local.get $b) (local.get $s))))
          (v128.store ${at('op', 'hb')} (f32x4.add (f32x4.mul (local.get $b) (local.get $c)) (f32x4.mul (local.get $a) (local.get $s))))
          (local.set $j (i32.add (local.get $j) (i32.const 16))) (br $vl)))
        (block $sd (loop $sl (br_if $sd (i32.ge_u (local.get $j) (local.get $hb)))
          (local.set $af (f32.load ${at('xp')})) (local.set $bf (f32.load ${at('xp', 'hb')}))
          (local.set $cf (f32.load ${at('cr')})) (local.set $sf (f32.load ${at('sr')}))
          (f32.store ${at('op')} (f32.sub (f32.mul (local.get $af) (local.get $cf)) (f32.mul (local.get $bf) (local.get $sf))))
          (f32.store ${at('op', 'hb')} (f32.add (f32.mul (local.get $bf) (local.get $cf)) (f32.mul (local.get $af) (local.get $sf))))
          (local.set $j (i32.add (local.get $j) (i32.const 4))) (br $sl)))
        (local.set $xp (i32.add (local.get $xp) (i32.shl (local.get $hb) (i32.const 1))))
        (local.set $op (i32.add (local.get $op) (i32.shl (local.get $hb) (i32.const 1))))
        (local.set $h (i32.add (local.get $h) (i32.const 1)))
        (br $hl)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl))))`;
}

/**
 * Decode-step activations for the int16 quantized products: for each 32-value block of x (blocks of
 * consecutive rows back to back, n blocks) the pair (s, Σx) into `ss` (8 bytes per block: the scale
 * s = max|x| / 32767 and the sum, Q4_1's offset term), and q = round(x / s) as int16 into `q` (0 when
 * s = 0), so |x − q·s| ≤ s/2.
 */
function quantI16(): string {
  const v = (i: number): string => `(local.get $v${i})`;
  const ld = [0, 1, 2, 3, 4, 5, 6, 7]
    .map((i) => `(local.set $v${i} (v128.load offset=${16 * i} (local.get $xp)))`)
    .join(' ');
  const sum = `(f32x4.add (f32x4.add (f32x4.add ${v(0)} ${v(1)}) (f32x4.add ${v(2)} ${v(3)})) (f32x4.add (f32x4.add ${v(4)} ${v(5)}) (f32x4.add ${v(6)} ${v(7)})))`;
  const ab = (i: number): string => `(f32x4.abs ${v(i)})`;
  const mx = `(f32x4.max (f32x4.max (f32x4.max ${ab(0)} ${ab(1)}) (f32x4.max ${ab(2)} ${ab(3)})) (f32x4.max (f32x4.max ${ab(4)} ${ab(5)}) (f32x4.max ${ab(6)} ${ab(7)})))`;
  const r = (i: number): string =>
    `(i32x4.trunc_sat_f32x4_s (f32x4.nearest (f32x4.mul ${v(i)} (local.get $inv))))`;
  const st = [0, 1, 2, 3]
    .map(
      (i) =>
        `(v128.store offset=${16 * i} (local.get $qp) (i16x8.narrow_i32x4_s ${r(2 * i)} ${r(2 * i + 1)}))`,
    )
    .join(' ');
  return `  (func (export "quantI16") (param $x i32) (param $n i32) (param $q i32) (param $ss i32)
    (local $i i32) (local $xp i32) (local $qp i32) (local $a v128) (local $m f32) (local $s f32) (local $inv v128)
    ${[0, 1, 2, 3, 4, 5, 6, 7].map((i) => `(local $v${i} v128)`).join(' ')}
    (local.set $xp (local.get $x))
    (local.set $qp (local.get $q))
    (block $done (loop $bl
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      ${ld}
      (f32.store offset=4 (i32.add (local.get $ss) (i32.shl (local.get $i) (i32.const 3))) ${hsum(sum)})
      (local.set $a ${mx})
      (local.set $m (f32.max (f32.max (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
        (f32.max (f32x4.extract_lane 2 (local.get $a)) (f32x4.extract_lane 3 (local.get $a)))))
      (local.set $s (f32.div (local.get $m) (f32.const 32767)))
      (f32.store (i32.add (local.get $ss) (i32.shl (local.get $i) (i32.const 3))) (local.get $s))
      (local.set $inv (f32x4.splat (select (f32.div (f32.const 1) (local.get $s)) (f32.const 0) (f32.gt (local.get $s) (f32.const 0)))))
      ${st}
      (local.set $xp (i32.add (local.get $xp) (i32.const 128)))
      (local.set $qp (i32.add (local.get $qp) (i32.const 64)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $bl))))`;
}

/**
 * The counter-based generator of src/ops/random.ts on 32-bit integer lanes, four counters per step:
 * for counter i0 + i (0 ≤ i < n) the 24-bit value x = hash(i0 + i) of seed words s0, s1 (the rounds
 * (x·a mod 2^24 + c) mod 2^24 then a 12-bit rotation; x·a mod 2^24 is the low 24 bits of i32x4.mul),
 * written as x / 2^24 (mode 0, exact in float32) or as the dropout keep value (mode 1: 0 when
 * x < thr = ⌈p·2^24⌉, else `scale`). Bit-identical to `randomRef`; the scalar tail repeats the rounds.
 */
function rng24(): string {
  const A = [0x9e3779, 0x85ebcb, 0xc2b2ad, 0x27d4eb];
  const C = [0x7f4a7c, 0x165667, 0xd3a2e1, 0x5bd1e9];
  const M = 0xffffff;
  const vRound = (r: number): string =>
    `(local.set $x (v128.and (i32x4.add (v128.and (i32x4.mul (local.get $x) (i32x4.splat (i32.const ${A[r]}))) (local.get $m)) (i32x4.splat (i32.const ${C[r]}))) (local.get $m)))
      (local.set $x (v128.or (i32x4.shl (v128.and (local.get $x) (i32x4.splat (i32.const 4095))) (i32.const 12)) (i32x4.shr_u (local.get $x) (i32.const 12))))`;
  const sRound = (r: number): string =>
    `(local.set $y (i32.and (i32.add (i32.and (i32.mul (local.get $y) (i32.const ${A[r]})) (i32.const ${M})) (i32.const ${C[r]})) (i32.const ${M})))
      (local.set $y (i32.or (i32.shl (i32.and (local.get $y) (i32.const 4095)) (i32.const 12)) (i32.shr_u (local.get $y) (i32.const 12))))`;
  return `  (func (export "rng24") (param $out i32) (param $i0 i32) (param $n i32) (param $s0 i32) (param $s1 i32) (param $mode i32) (param $thr i32) (param $scale f32)
    (local $i i32) (local $y i32) (local $x v128) (local $ctr v128) (local $m v128) (local $v v128)
    (local.set $m (i32x4.splat (i32.const ${M})))
    (local.set $ctr (i32x4.add (i32x4.splat (local.get $i0)) (v128.const i32x4 0 1 2 3)))
    (block $vd (loop $vl
      (br_if $vd (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $n)))
      (local.set $x (v128.and (i32x4.add (local.get $ctr) (i32x4.splat (local.get $s0))) (local.get $m)))
      ${vRound(0)}
      (local.set $x (v128.and (i32x4.add (local.get $x) (i32x4.splat (local.get $s1))) (local.get $m)))
      ${vRound(1)}
      ${vRound(2)}
      ${vRound(3)}
      (if (local.get $mode)
        (then (local.set $v (v128.and (i32x4.ge_u (local.get $x) (i32x4.splat (local.get $thr))) (f32x4.splat (local.get $scale)))))
        (else (local.set $v (f32x4.mul (f32x4.convert_i32x4_u (local.get $x)) (f32x4.splat (f32.const 0x1p-24))))))
      (v128.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (local.get $v))
      (local.set $ctr (i32x4.add (local.get $ctr) (i32x4.splat (i32.const 4))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $vl)))
    (block $sd (loop $sl
      (br_if $sd (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $y (i32.and (i32.add (i32.add (local.get $i0) (local.get $i)) (local.get $s0)) (i32.const ${M})))
      ${sRound(0)}
      (local.set $y (i32.and (i32.add (local.get $y) (local.get $s1)) (i32.const ${M})))
      ${sRound(1)}
      ${sRound(2)}
      ${sRound(3)}
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
        (if (result f32) (local.get $mode)
          (then (select (local.get $scale) (f32.const 0) (i32.ge_u (local.get $y) (local.get $thr))))
          (else (f32.mul (f32.convert_i32_u (local.get $y)) (f32.const 0x1p-24)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $sl))))`;
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
    softmaxRowsCausal(),
    attnRows(),
    ropeHalf(),
    quantI16(),
    rng24(),
  ];
}
