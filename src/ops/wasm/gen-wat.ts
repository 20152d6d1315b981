/**
 * Generates the WebAssembly text of the CPU kernels (gemm.wat): the unrolled micro-kernel and the
 * packing loops are easier to read and change here than as hand-written text. Two variants come from
 * one source: `fma` uses relaxed-SIMD `f32x4.relaxed_madd` (one fused multiply-add where the CPU has
 * one), the other `f32x4.mul` + `f32x4.add` (portable WebAssembly SIMD).
 *
 * Conventions of every exported function: pointers and strides are byte offsets into the imported
 * shared memory, matrices are float32, "rs"/"cs" are the byte distances between rows / columns.
 */

import { elementwiseWat } from './gen-elementwise';

/** Micro-kernel shape: MR rows × (4·NRV) columns of C kept in MR·NRV f32x4 accumulators. */
export interface GemmShape {
  mr: number;
  nrv: number;
  /** k-loop unroll factor (1, 2, 4). */
  ku?: number;
}

/**
 * Chosen by measurement (bench/README.md, "Choice of the CPU path"): 4 × 8, k not unrolled, for both
 * variants. V8's TurboFan (Node 20) schedules every load of a loop iteration before its arithmetic, so
 * all loaded values (two B vectors and MR splats of A per k step, times the unroll) are live together
 * with the MR·NRV accumulators; 4 × 8 × 1 needs 2 + 4 + 8 = 14 of the 15 allocatable xmm registers
 * (+ the mul + add temporary = 15), where 6 × 8 unrolled ×4 (the earlier choice) needs 44 and spills
 * about one value per FMA (28 against 47 GFLOP per CPU-second).
 */
export const DEFAULT_SHAPE: GemmShape = { mr: 4, nrv: 2, ku: 1 };
export const MUL_ADD_SHAPE: GemmShape = { mr: 4, nrv: 2, ku: 1 };

const g = (n: string): string => `(local.get $${n})`;
const set = (n: string, v: string): string => `(local.set $${n} ${v})`;
const i32 = (v: number): string => `(i32.const ${v})`;
const add = (a: string, b: string): string => `(i32.add ${a} ${b})`;
const mul = (a: string, b: string): string => `(i32.mul ${a} ${b})`;

function madd(fma: boolean, a: string, b: string, acc: string): string {
  return fma ? `(f32x4.relaxed_madd ${a} ${b} ${acc})` : `(f32x4.add ${acc} (f32x4.mul ${a} ${b}))`;
}

/**
 * C[mr × nr] (+)= alpha · Σ_k A[:, k] ⊗ B[k, :] for one tile. A is a packed MR-row panel (`packA`: for
 * each k, MR contiguous floats; splats at immediate offsets; rows ≥ mrows repeat the last valid row and
 * are not stored); B rows are nr contiguous floats ldb bytes apart (a packed panel or B itself).
 * Columns ≥ ncols are computed into `tile` and dropped. `acc` = 0: C = result; 1: C += result.
 */
function kernel(s: GemmShape, fma: boolean): string {
  const { mr, nrv } = s;
  const nr = 4 * nrv;
  const L: string[] = [];
  const locals: string[] = [];
  for (let r = 0; r < mr; r++) for (let v = 0; v < nrv; v++) locals.push(`(local $c${r}_${v} v128)`);
  for (let v = 0; v < nrv; v++) locals.push(`(local $b${v} v128)`);
  locals.push('(local $av v128) (local $cr i32) (local $i i32) (local $j i32)');
  L.push(
    '  (func $kern (param $a i32) (param $mrows i32) (param $b i32) (param $ldb i32) (param $kc i32) (param $c i32) (param $ldc i32) (param $alpha f32) (param $ncols i32) (param $tile i32) (param $acc i32)',
  );
  L.push('    ' + locals.join(' '));
  const step: string[] = [];
  for (let v = 0; v < nrv; v++) step.push(set(`b${v}`, `(v128.load offset=${16 * v} ${g('b')})`));
  for (let r = 0; r < mr; r++) {
    step.push(set('av', `(v128.load32_splat offset=${4 * r} ${g('a')})`));
    for (let v = 0; v < nrv; v++)
      step.push(set(`c${r}_${v}`, madd(fma, g('av'), g(`b${v}`), g(`c${r}_${v}`))));
  }
  step.push(set('a', add(g('a'), i32(4 * mr))));
  step.push(set('b', add(g('b'), g('ldb'))));
  const ku = s.ku ?? 1;
  if (ku > 1) {
    L.push('    (block $done2 (loop $k2');
    L.push(`      (br_if $done2 (i32.lt_u ${g('kc')} ${i32(ku)}))`);
    for (let u = 0; u < ku; u++) for (const x of step) L.push('      ' + x);
    L.push('      ' + set('kc', `(i32.sub ${g('kc')} ${i32(ku)})`));
    L.push('      (br $k2)))');
  }
  L.push('    (block $done (loop $k');
  L.push(`      (br_if $done (i32.eqz ${g('kc')}))`);
  for (const x of step) L.push('      ' + x);
  L.push('      ' + set('kc', `(i32.sub ${g('kc')} ${i32(1)})`));
  L.push('      (br $k)))');
  // alpha = 1 (every call but scaled attention scores) skips the multiply
  L.push(`    (if (f32.ne ${g('alpha')} (f32.const 1)) (then`);
  L.push('      ' + set('av', `(f32x4.splat ${g('alpha')})`));
  for (let r = 0; r < mr; r++)
    for (let v = 0; v < nrv; v++)
      L.push('      ' + set(`c${r}_${v}`, `(f32x4.mul ${g(`c${r}_${v}`)} ${g('av')})`));
  L.push('    ))');
  // Full tile: vector stores, rows < mrows; C is read only when accumulating.
  L.push(`    (if (i32.eq ${g('ncols')} ${i32(nr)}) (then`);
  for (const accumulate of [true, false]) {
    L.push(accumulate ? `      (if ${g('acc')} (then` : '      (else');
    for (let r = 0; r < mr; r++) {
      const body: string[] = [set('cr', add(g('c'), mul(i32(r), g('ldc'))))];
      for (let v = 0; v < nrv; v++) {
        const c = g(`c${r}_${v}`);
        const val = accumulate ? `(f32x4.add (v128.load offset=${16 * v} ${g('cr')}) ${c})` : c;
        body.push(`(v128.store offset=${16 * v} ${g('cr')} ${val})`);
      }
      L.push(`        (if (i32.lt_u ${i32(r)} ${g('mrows')}) (then ${body.join(' ')}))`);
    }
    L.push(accumulate ? '      )' : '      ))');
  }
  L.push('      (return)))');
  // Partial tile: spill to `tile`, then copy the valid corner.
  for (let r = 0; r < mr; r++)
    for (let v = 0; v < nrv; v++)
      L.push(`    (v128.store offset=${16 * (r * nrv + v)} ${g('tile')} ${g(`c${r}_${v}`)})`);
  L.push(`    (block $id (loop $il (br_if $id (i32.ge_u ${g('i')} ${g('mrows')}))`);
  L.push(`      ${set('cr', add(g('c'), mul(g('i'), g('ldc'))))} ${set('j', i32(0))}`);
  L.push(`      (block $jd (loop $jl (br_if $jd (i32.ge_u ${g('j')} ${g('ncols')}))`);
  const tileAt = `(f32.load ${add(g('tile'), `(i32.shl ${add(mul(g('i'), i32(nr)), g('j'))} ${i32(2)})`)})`;
  const cAt = add(g('cr'), `(i32.shl ${g('j')} ${i32(2)})`);
  L.push(`        (f32.store ${cAt} (select (f32.add (f32.load ${cAt}) ${tileAt}) ${tileAt} ${g('acc')}))`);
  L.push(`        ${set('j', add(g('j'), i32(1)))} (br $jl)))`);
  L.push(`      ${set('i', add(g('i'), i32(1)))} (br $il))))`);
  return L.join('\n');
}

/** 4×4 transpose of f32 lanes: rows v0..v3 → columns, via byte shuffles. */
function shuf(a: string, b: string, lanes: number[]): string {
  const bytes = lanes.flatMap((l) => [0, 1, 2, 3].map((k) => 4 * l + k));
  return `(i8x16.shuffle ${bytes.join(' ')} ${a} ${b})`;
}

/**
 * Packs B[k × n] (element (p, j) at src + p·rs + j·cs) into panels of nr columns: panel q holds rows
 * p = 0..k-1 of columns q·nr .. q·nr+nr-1 as k·nr contiguous floats, zero-padded past column n.
 * Fast paths: rows contiguous (cs = 4: vector copies) and columns contiguous (rs = 4: 4×4 transposes).
 */
function packB(s: GemmShape): string {
  const nr = 4 * s.nrv;
  const L: string[] = [];
  L.push(
    '  (func $packB (export "packB") (param $src i32) (param $rs i32) (param $cs i32) (param $k i32) (param $n i32) (param $dst i32)',
  );
  L.push(
    '    (local $q i32) (local $nb i32) (local $s i32) (local $d i32) (local $p i32) (local $j i32) (local $x f32) (local $cg i32) (local $sp i32) (local $dp i32)',
  );
  L.push(
    '    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)',
  );
  L.push(`    (block $qd (loop $ql (br_if $qd (i32.ge_u ${g('q')} ${g('n')}))`);
  L.push(
    `      ${set('nb', `(select (i32.sub ${g('n')} ${g('q')}) ${i32(nr)} (i32.lt_u (i32.sub ${g('n')} ${g('q')}) ${i32(nr)}))`)}`,
  );
  L.push(`      ${set('s', add(g('src'), mul(g('q'), g('cs'))))} ${set('p', i32(0))}`);
  // rows contiguous: copy nrv vectors per row
  L.push(`      (if (i32.and (i32.eq ${g('nb')} ${i32(nr)}) (i32.eq ${g('cs')} ${i32(4)})) (then`);
  L.push(`        (block $pd (loop $pl (br_if $pd (i32.ge_u ${g('p')} ${g('k')}))`);
  const row = [
    set('sp', add(g('s'), mul(g('p'), g('rs')))),
    set('dp', add(g('dst'), mul(g('p'), i32(4 * nr)))),
  ];
  for (let v = 0; v < s.nrv; v++)
    row.push(`(v128.store offset=${16 * v} ${g('dp')} (v128.load offset=${16 * v} ${g('sp')}))`);
  L.push('          ' + row.join(' '));
  L.push(`          ${set('p', add(g('p'), i32(1)))} (br $pl))))`);
  // columns contiguous: 4 k × 4 columns transposes
  L.push(`      (else (if (i32.and (i32.eq ${g('nb')} ${i32(nr)}) (i32.eq ${g('rs')} ${i32(4)})) (then`);
  L.push(`        (block $pd (loop $pl (br_if $pd (i32.gt_u (i32.add ${g('p')} ${i32(4)}) ${g('k')}))`);
  L.push(`          ${set('dp', add(g('dst'), mul(g('p'), i32(4 * nr))))}`);
  for (let cg = 0; cg < s.nrv; cg++) {
    const base = add(g('s'), `(i32.shl ${g('p')} ${i32(2)})`);
    L.push(`          ${set('sp', add(base, mul(i32(4 * cg), g('cs'))))}`);
    for (let i = 0; i < 4; i++)
      L.push(
        `          ${set(`v${i}`, `(v128.load ${i === 0 ? g('sp') : add(g('sp'), mul(i32(i), g('cs')))})`)}`,
      );
    L.push(
      `          ${set('t0', shuf(g('v0'), g('v1'), [0, 4, 1, 5]))} ${set('t1', shuf(g('v0'), g('v1'), [2, 6, 3, 7]))}`,
    );
    L.push(
      `          ${set('t2', shuf(g('v2'), g('v3'), [0, 4, 1, 5]))} ${set('t3', shuf(g('v2'), g('v3'), [2, 6, 3, 7]))}`,
    );
    const outs = [
      shuf(g('t0'), g('t2'), [0, 1, 4, 5]),
      shuf(g('t0'), g('t2'), [2, 3, 6, 7]),
      shuf(g('t1'), g('t3'), [0, 1, 4, 5]),
      shuf(g('t1'), g('t3'), [2, 3, 6, 7]),
    ];
    for (let t = 0; t < 4; t++)
      L.push(`          (v128.store offset=${4 * nr * t + 16 * cg} ${g('dp')} ${outs[t]})`);
  }
  L.push(`          ${set('p', add(g('p'), i32(4)))} (br $pl)))))`);
  L.push('      ))');
  // generic (and the rows the fast paths left): scalar, zero past column n
  L.push(`      (block $pd (loop $pl (br_if $pd (i32.ge_u ${g('p')} ${g('k')}))`);
  L.push(
    `        ${set('sp', add(g('s'), mul(g('p'), g('rs'))))} ${set('dp', add(g('dst'), mul(g('p'), i32(4 * nr))))} ${set('j', i32(0))}`,
  );
  L.push(`        (block $jd (loop $jl (br_if $jd (i32.ge_u ${g('j')} ${i32(nr)}))`);
  L.push(
    `          (if (i32.lt_u ${g('j')} ${g('nb')}) (then ${set('x', `(f32.load ${add(g('sp'), mul(g('j'), g('cs')))})`)}) (else ${set('x', '(f32.const 0)')}))`,
  );
  L.push(`          (f32.store ${add(g('dp'), `(i32.shl ${g('j')} ${i32(2)})`)} ${g('x')})`);
  L.push(`          ${set('j', add(g('j'), i32(1)))} (br $jl)))`);
  L.push(`        ${set('p', add(g('p'), i32(1)))} (br $pl)))`);
  L.push(`      ${set('dst', add(g('dst'), mul(g('k'), i32(4 * nr))))}`);
  L.push(`      ${set('q', add(g('q'), i32(nr)))} (br $ql))))`);
  return L.join('\n');
}

/**
 * Packs A[m × k] (element (i, p) at src + i·rs + p·cs) into panels of MR rows: panel q holds, for each
 * p, rows q·MR .. q·MR+MR-1 as MR contiguous floats (rows past m repeat the last row; they are never
 * stored). Fast path for rows contiguous (cs = 4, MR = 4 or 6): 4 × 4 transposes (+ pair interleaves).
 */
function packA(s: GemmShape): string {
  const { mr } = s;
  const L: string[] = [];
  L.push(
    '  (func $packA (param $src i32) (param $rs i32) (param $cs i32) (param $m i32) (param $k i32) (param $dst i32)',
  );
  L.push(
    '    (local $q i32) (local $p i32) (local $r i32) (local $sp i32) (local $dp i32) (local $full i32)',
  );
  L.push(
    '    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)',
  );
  L.push(`    (block $qd (loop $ql (br_if $qd (i32.ge_u ${g('q')} ${g('m')}))`);
  L.push(`      ${set('full', `(i32.le_u ${add(g('q'), i32(mr))} ${g('m')})`)} ${set('p', i32(0))}`);
  if (mr === 4 || mr === 6) {
    L.push(`      (if (i32.and ${g('full')} (i32.eq ${g('cs')} ${i32(4)})) (then`);
    L.push(`        (block $pd (loop $pl (br_if $pd (i32.gt_u ${add(g('p'), i32(4))} ${g('k')}))`);
    L.push(
      `          ${set('sp', add(add(g('src'), mul(g('q'), g('rs'))), `(i32.shl ${g('p')} ${i32(2)})`))}`,
    );
    L.push(`          ${set('dp', add(g('dst'), mul(g('p'), i32(4 * mr))))}`);
    for (let i = 0; i < 4; i++)
      L.push(
        `          ${set(`v${i}`, `(v128.load ${i === 0 ? g('sp') : add(g('sp'), mul(i32(i), g('rs')))})`)}`,
      );
    L.push(
      `          ${set('t0', shuf(g('v0'), g('v1'), [0, 4, 1, 5]))} ${set('t1', shuf(g('v0'), g('v1'), [2, 6, 3, 7]))}`,
    );
    L.push(
      `          ${set('t2', shuf(g('v2'), g('v3'), [0, 4, 1, 5]))} ${set('t3', shuf(g('v2'), g('v3'), [2, 6, 3, 7]))}`,
    );
    const outs = [
      shuf(g('t0'), g('t2'), [0, 1, 4, 5]),
      shuf(g('t0'), g('t2'), [2, 3, 6, 7]),
      shuf(g('t1'), g('t3'), [0, 1, 4, 5]),
      shuf(g('t1'), g('t3'), [2, 3, 6, 7]),
    ];
    for (let t = 0; t < 4; t++) L.push(`          (v128.store offset=${4 * mr * t} ${g('dp')} ${outs[t]})`);
    if (mr === 6) {
      // rows 4 and 5: interleave their 4 k-values into (row 4, row 5) pairs, one 8-byte store per k
      for (let i = 4; i < 6; i++)
        L.push(`          ${set(`v${i - 4}`, `(v128.load ${add(g('sp'), mul(i32(i), g('rs')))})`)}`);
      L.push(
        `          ${set('t0', shuf(g('v0'), g('v1'), [0, 4, 1, 5]))} ${set('t1', shuf(g('v0'), g('v1'), [2, 6, 3, 7]))}`,
      );
      for (let t = 0; t < 4; t++)
        L.push(
          `          (v128.store64_lane offset=${4 * mr * t + 16} ${t % 2} ${g('dp')} ${g(t < 2 ? 't0' : 't1')})`,
        );
    }
    L.push(`          ${set('p', add(g('p'), i32(4)))} (br $pl)))))`);
  }
  L.push(`      (block $pd (loop $pl (br_if $pd (i32.ge_u ${g('p')} ${g('k')}))`);
  L.push(`        ${set('dp', add(g('dst'), mul(g('p'), i32(4 * mr))))} ${set('r', i32(0))}`);
  L.push(`        (block $rd (loop $rl (br_if $rd (i32.ge_u ${g('r')} ${i32(mr)}))`);
  const row = `(select ${add(g('q'), g('r'))} (i32.sub ${g('m')} ${i32(1)}) (i32.lt_u ${add(g('q'), g('r'))} ${g('m')}))`;
  L.push(
    `          (f32.store ${add(g('dp'), `(i32.shl ${g('r')} ${i32(2)})`)} (f32.load ${add(add(g('src'), mul(row, g('rs'))), mul(g('p'), g('cs')))}))`,
  );
  L.push(`          ${set('r', add(g('r'), i32(1)))} (br $rl)))`);
  L.push(`        ${set('p', add(g('p'), i32(1)))} (br $pl)))`);
  L.push(`      ${set('dst', add(g('dst'), mul(g('k'), i32(4 * mr))))}`);
  L.push(`      ${set('q', add(g('q'), i32(mr)))} (br $ql))))`);
  return L.join('\n');
}

/**
 * gemm: C[M × N] (+)= alpha · A[M × K] · B[K × N] for one thread's share, blocked for the caches:
 * K in blocks of kcMax (a packed B block of kcMax × N sits in L2), M in blocks of mcMax (the A rows
 * stay in L1/L2 while the B panels stream past), the micro-kernel over MR × NR tiles. `pack` is this
 * thread's scratch: the packed B block, one tile, then the packed A block (MC × KC). A is always packed
 * per (K, M) block into MR-row panels (immediate-offset splats: faster than strided reads of A in
 * place at every width measured). packMode bit 0: pack B per K block (else B rows are read in place,
 * cs = 4, and only a partial last column panel is packed); other bits are ignored. The first K block
 * stores C (acc = 0), later ones add, unless accumulate = 1 (C += …).
 */
function gemm(s: GemmShape): string {
  const { mr } = s;
  const kargs = `(select (i32.sub (local.get $mb) (local.get $ir)) (i32.const ${mr}) (i32.lt_u (i32.sub (local.get $mb) (local.get $ir)) (i32.const ${mr})))
                (local.get $bp) (local.get $ldb) (local.get $kb)
                (i32.add (i32.add (local.get $C) (i32.mul (i32.add (local.get $ic) (local.get $ir)) (local.get $ldc))) (i32.shl (local.get $jr) (i32.const 2)))
                (local.get $ldc) (local.get $alpha) (local.get $nb) (local.get $tile) (local.get $acc)`;
  const nr = 4 * s.nrv;
  return `  (func $gemm1 (param $A i32) (param $rsa i32) (param $csa i32) (param $B i32) (param $rsb i32) (param $csb i32)
      (param $C i32) (param $ldc i32) (param $M i32) (param $N i32) (param $K i32) (param $alpha f32)
      (param $pack i32) (param $packMode i32) (param $kcMax i32) (param $mcMax i32) (param $accumulate i32)
    (local $pc i32) (local $kb i32) (local $ic i32) (local $mb i32) (local $jr i32) (local $nb i32) (local $ir i32)
    (local $bp i32) (local $ldb i32) (local $tile i32) (local $acc i32) (local $apk i32)
    (local.set $tile (i32.add (local.get $pack) (i32.mul (i32.mul (local.get $kcMax) (i32.const 4))
      (i32.mul (i32.div_u (i32.add (local.get $N) (i32.const ${nr - 1})) (i32.const ${nr})) (i32.const ${nr})))))
    (local.set $acc (local.get $accumulate))
    (local.set $apk (i32.add (local.get $tile) (i32.const ${4 * mr * nr})))
    (block $pd (loop $pl (br_if $pd (i32.ge_u (local.get $pc) (local.get $K)))
      (local.set $kb (select (i32.sub (local.get $K) (local.get $pc)) (local.get $kcMax)
        (i32.lt_u (i32.sub (local.get $K) (local.get $pc)) (local.get $kcMax))))
      (if (i32.and (local.get $packMode) (i32.const 1)) (then
        (call $packB (i32.add (local.get $B) (i32.mul (local.get $pc) (local.get $rsb))) (local.get $rsb) (local.get $csb)
          (local.get $kb) (local.get $N) (local.get $pack))))
      (local.set $ic (i32.const 0))
      (block $icd (loop $icl (br_if $icd (i32.ge_u (local.get $ic) (local.get $M)))
        (local.set $mb (select (i32.sub (local.get $M) (local.get $ic)) (local.get $mcMax)
          (i32.lt_u (i32.sub (local.get $M) (local.get $ic)) (local.get $mcMax))))
        (call $packA (i32.add (i32.add (local.get $A) (i32.mul (local.get $ic) (local.get $rsa))) (i32.mul (local.get $pc) (local.get $csa)))
          (local.get $rsa) (local.get $csa) (local.get $mb) (local.get $kb) (local.get $apk))
        (local.set $jr (i32.const 0))
        (block $jd (loop $jl (br_if $jd (i32.ge_u (local.get $jr) (local.get $N)))
          (local.set $nb (select (i32.sub (local.get $N) (local.get $jr)) (i32.const ${nr})
            (i32.lt_u (i32.sub (local.get $N) (local.get $jr)) (i32.const ${nr}))))
          (if (i32.and (local.get $packMode) (i32.const 1))
            (then
              (local.set $bp (i32.add (local.get $pack) (i32.mul (local.get $jr) (i32.mul (local.get $kb) (i32.const 4)))))
              (local.set $ldb (i32.const ${4 * nr})))
            (else (if (i32.eq (local.get $nb) (i32.const ${nr}))
              (then
                (local.set $bp (i32.add (i32.add (local.get $B) (i32.mul (local.get $pc) (local.get $rsb))) (i32.shl (local.get $jr) (i32.const 2))))
                (local.set $ldb (local.get $rsb)))
              (else
                (call $packB (i32.add (i32.add (local.get $B) (i32.mul (local.get $pc) (local.get $rsb))) (i32.mul (local.get $jr) (local.get $csb)))
                  (local.get $rsb) (local.get $csb) (local.get $kb) (local.get $nb) (local.get $pack))
                (local.set $bp (local.get $pack))
                (local.set $ldb (i32.const ${4 * nr}))))))
          (local.set $ir (i32.const 0))
          (block $ird (loop $irl (br_if $ird (i32.ge_u (local.get $ir) (local.get $mb)))
            (call $kern
              (i32.add (local.get $apk) (i32.mul (local.get $ir) (i32.shl (local.get $kb) (i32.const 2))))
              ${kargs})
            (local.set $ir (i32.add (local.get $ir) (i32.const ${mr})))
            (br $irl)))
          (local.set $jr (i32.add (local.get $jr) (i32.const ${nr})))
          (br $jl)))
        (local.set $ic (i32.add (local.get $ic) (local.get $mcMax)))
        (br $icl)))
      (local.set $acc (i32.const 1))
      (local.set $pc (i32.add (local.get $pc) (local.get $kcMax)))
      (br $pl))))
  ;; batched: \`batch\` independent products, operand starts \`sa\`/\`sb\`/\`sc\` bytes apart
  (func (export "gemm") (param $A i32) (param $rsa i32) (param $csa i32) (param $B i32) (param $rsb i32) (param $csb i32)
      (param $C i32) (param $ldc i32) (param $M i32) (param $N i32) (param $K i32) (param $alpha f32)
      (param $pack i32) (param $packMode i32) (param $kcMax i32) (param $mcMax i32) (param $accumulate i32)
      (param $batch i32) (param $sa i32) (param $sb i32) (param $sc i32)
    (block $d (loop $l (br_if $d (i32.eqz (local.get $batch)))
      (call $gemm1 (local.get $A) (local.get $rsa) (local.get $csa) (local.get $B) (local.get $rsb) (local.get $csb)
        (local.get $C) (local.get $ldc) (local.get $M) (local.get $N) (local.get $K) (local.get $alpha)
        (local.get $pack) (local.get $packMode) (local.get $kcMax) (local.get $mcMax) (local.get $accumulate))
      (local.set $A (i32.add (local.get $A) (local.get $sa)))
      (local.set $B (i32.add (local.get $B) (local.get $sb)))
      (local.set $C (i32.add (local.get $C) (local.get $sc)))
      (local.set $batch (i32.sub (local.get $batch) (i32.const 1)))
      (br $l))))`;
}

/** Horizontal sum of an f32x4 local. */
function hsum(v: string): string {
  const lane = (i: number): string => `(f32x4.extract_lane ${i} ${g(v)})`;
  return `(f32.add (f32.add ${lane(0)} ${lane(1)}) (f32.add ${lane(2)} ${lane(3)}))`;
}

/**
 * dotNT: C[M × N] (+)= alpha · A[M × K] · B[N × K]ᵀ with rows of A and of B contiguous (K % 4 = 0):
 * dot products of rows, for few rows of A (decode, small batches) where packing B would cost as much
 * as the product, and for single products up to a few hundred rows (no packing of the weights). Blocks of R rows × CC columns share every load; rows/columns past the edge are
 * clamped to the last one and not stored.
 */
function dotBlock(fma: boolean, R: number, CC: number): string {
  const L: string[] = [];
  const locals: string[] = ['(local $kb i32) (local $i i32) (local $j i32) (local $x f32)'];
  for (let r = 0; r < R; r++) locals.push(`(local $xr${r} i32) (local $xp${r} i32) (local $xv${r} v128)`);
  for (let c = 0; c < CC; c++) locals.push(`(local $wr${c} i32) (local $wp${c} i32) (local $wv${c} v128)`);
  for (let r = 0; r < R; r++) for (let c = 0; c < CC; c++) locals.push(`(local $s${r}_${c} v128)`);
  L.push(
    `  (func $dot${R}x${CC} (param $A i32) (param $lda i32) (param $B i32) (param $ldb i32) (param $C i32) (param $ldc i32) (param $M i32) (param $N i32) (param $K i32) (param $alpha f32) (param $accumulate i32)`,
  );
  L.push('    ' + locals.join(' '));
  L.push(`    (block $id (loop $il (br_if $id (i32.ge_u ${g('i')} ${g('M')}))`);
  for (let r = 0; r < R; r++) {
    const row = `(select ${add(g('i'), i32(r))} (i32.sub ${g('M')} ${i32(1)}) (i32.lt_u ${add(g('i'), i32(r))} ${g('M')}))`;
    L.push(`      ${set(`xr${r}`, add(g('A'), mul(row, g('lda'))))}`);
  }
  L.push(`      ${set('j', i32(0))}`);
  L.push(`      (block $jd (loop $jl (br_if $jd (i32.ge_u ${g('j')} ${g('N')}))`);
  for (let c = 0; c < CC; c++) {
    const col = `(select ${add(g('j'), i32(c))} (i32.sub ${g('N')} ${i32(1)}) (i32.lt_u ${add(g('j'), i32(c))} ${g('N')}))`;
    L.push(`        ${set(`wr${c}`, add(g('B'), mul(col, g('ldb'))))}`);
  }
  for (let r = 0; r < R; r++)
    for (let c = 0; c < CC; c++) L.push(`        ${set(`s${r}_${c}`, '(v128.const i32x4 0 0 0 0)')}`);
  // Each row pointer steps by one vector per iteration and the trip count runs down: a load is then
  // one address register (`base + kb` per load left TurboFan short of general registers: it
  // reloaded spilled bases inside the loop, 28 against 44 GFLOP per CPU-second).
  for (let r = 0; r < R; r++) L.push(`        ${set(`xp${r}`, g(`xr${r}`))}`);
  for (let c = 0; c < CC; c++) L.push(`        ${set(`wp${c}`, g(`wr${c}`))}`);
  L.push(`        ${set('kb', `(i32.shr_u ${g('K')} ${i32(2)})`)}`);
  L.push(`        (block $kd (loop $kl (br_if $kd (i32.eqz ${g('kb')}))`);
  for (let c = 0; c < CC; c++) L.push(`          ${set(`wv${c}`, `(v128.load ${g(`wp${c}`)})`)}`);
  for (let r = 0; r < R; r++) {
    L.push(`          ${set(`xv${r}`, `(v128.load ${g(`xp${r}`)})`)}`);
    for (let c = 0; c < CC; c++)
      L.push(`          ${set(`s${r}_${c}`, madd(fma, g(`xv${r}`), g(`wv${c}`), g(`s${r}_${c}`)))}`);
  }
  for (let r = 0; r < R; r++) L.push(`          ${set(`xp${r}`, add(g(`xp${r}`), i32(16)))}`);
  for (let c = 0; c < CC; c++) L.push(`          ${set(`wp${c}`, add(g(`wp${c}`), i32(16)))}`);
  L.push(`          ${set('kb', `(i32.sub ${g('kb')} ${i32(1)})`)} (br $kl)))`);
  for (let r = 0; r < R; r++)
    for (let c = 0; c < CC; c++) {
      const cAt = add(
        add(g('C'), mul(add(g('i'), i32(r)), g('ldc'))),
        `(i32.shl ${add(g('j'), i32(c))} ${i32(2)})`,
      );
      const val = `(f32.mul ${hsum(`s${r}_${c}`)} ${g('alpha')})`;
      L.push(
        `        (if (i32.and (i32.lt_u ${add(g('i'), i32(r))} ${g('M')}) (i32.lt_u ${add(g('j'), i32(c))} ${g('N')})) (then ${set('x', val)} (f32.store ${cAt} (select (f32.add (f32.load ${cAt}) ${g('x')}) ${g('x')} ${g('accumulate')}))))`,
      );
    }
  L.push(`        ${set('j', add(g('j'), i32(CC)))} (br $jl)))`);
  L.push(`      ${set('i', add(g('i'), i32(R)))} (br $il))))`);
  return L.join('\n');
}

function dotNT(fma: boolean): string {
  const call = (name: string, m: number): string =>
    `(call $${name} (i32.add (local.get $A) (i32.mul (local.get $i) (local.get $lda))) (local.get $lda) (local.get $bj) (local.get $ldb)
            (i32.add (local.get $cj) (i32.mul (local.get $i) (local.get $ldc))) (local.get $ldc) (i32.const ${m}) (local.get $n) (local.get $K)
            (local.get $alpha) (local.get $accumulate))
          (local.set $i (i32.add (local.get $i) (i32.const ${m})))`;
  return [
    dotBlock(fma, 1, 4),
    dotBlock(fma, 2, 4),
    dotBlock(fma, 4, 2),
    // columns in blocks of nb (0: all), so that a block of B stays in L2 while every row group
    // streams it; within a block, rows in groups of 4, then 2, then 1 (each group streams B once)
    `  (func (export "dotNT") (param $A i32) (param $lda i32) (param $B i32) (param $ldb i32) (param $C i32) (param $ldc i32) (param $M i32) (param $N i32) (param $K i32) (param $alpha f32) (param $accumulate i32) (param $nb i32)
    (local $i i32) (local $r i32) (local $j0 i32) (local $n i32) (local $bj i32) (local $cj i32)
    (if (i32.eqz (local.get $nb)) (then (local.set $nb (local.get $N))))
    (block $cd (loop $cl
      (br_if $cd (i32.ge_u (local.get $j0) (local.get $N)))
      (local.set $n (select (i32.sub (local.get $N) (local.get $j0)) (local.get $nb)
        (i32.lt_u (i32.sub (local.get $N) (local.get $j0)) (local.get $nb))))
      (local.set $bj (i32.add (local.get $B) (i32.mul (local.get $j0) (local.get $ldb))))
      (local.set $cj (i32.add (local.get $C) (i32.shl (local.get $j0) (i32.const 2))))
      (local.set $i (i32.const 0))
      (block $d (loop $l
        (local.set $r (i32.sub (local.get $M) (local.get $i)))
        (br_if $d (i32.eqz (local.get $r)))
        (if (i32.ge_u (local.get $r) (i32.const 4))
          (then ${call('dot4x2', 4)})
          (else (if (i32.ge_u (local.get $r) (i32.const 2))
            (then ${call('dot2x4', 2)})
            (else ${call('dot1x4', 1)}))))
        (br $l)))
      (local.set $j0 (i32.add (local.get $j0) (local.get $nb)))
      (br $cl))))`,
  ].join('\n');
}

/** f16 bits (an i32 local) → f32: exact for normal and subnormal values (the scales of GGUF blocks). */
function f16(h: string): string {
  return `(f32.reinterpret_i32 (i32.or (i32.shl (i32.and ${g(h)} ${i32(0x8000)}) ${i32(16)}) (i32.reinterpret_f32 (f32.mul (f32.reinterpret_i32 (i32.shl (i32.and ${g(h)} ${i32(0x7fff)}) ${i32(13)})) (f32.const 0x1p+112)))))`;
}

/** Set w0..w7 to the 32 weights of the block at local `p` as f32x4 (quants only, before scaling). */
function decodeBlock(kind: 'q8_0' | 'q4_1'): string[] {
  const L: string[] = [];
  const widen = (h: string, sign: 's' | 'u', out: number): void => {
    L.push(set(`w${out}`, `(f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_${sign} ${g(h)}))`));
    L.push(set(`w${out + 1}`, `(f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_${sign} ${g(h)}))`));
  };
  if (kind === 'q8_0') {
    L.push(set('q0', `(v128.load offset=2 ${g('p')})`), set('q1', `(v128.load offset=18 ${g('p')})`));
    L.push(set('h', `(i16x8.extend_low_i8x16_s ${g('q0')})`));
    widen('h', 's', 0);
    L.push(set('h', `(i16x8.extend_high_i8x16_s ${g('q0')})`));
    widen('h', 's', 2);
    L.push(set('h', `(i16x8.extend_low_i8x16_s ${g('q1')})`));
    widen('h', 's', 4);
    L.push(set('h', `(i16x8.extend_high_i8x16_s ${g('q1')})`));
    widen('h', 's', 6);
  } else {
    L.push(set('q1', `(v128.load offset=4 ${g('p')})`));
    L.push(
      set('q0', `(v128.and ${g('q1')} (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))`),
    );
    L.push(set('q1', `(i8x16.shr_u ${g('q1')} ${i32(4)})`));
    L.push(set('h', `(i16x8.extend_low_i8x16_u ${g('q0')})`));
    widen('h', 'u', 0);
    L.push(set('h', `(i16x8.extend_high_i8x16_u ${g('q0')})`));
    widen('h', 'u', 2);
    L.push(set('h', `(i16x8.extend_low_i8x16_u ${g('q1')})`));
    widen('h', 'u', 4);
    L.push(set('h', `(i16x8.extend_high_i8x16_u ${g('q1')})`));
    widen('h', 'u', 6);
  }
  return L;
}

const BLOCK_BYTES = { q8_0: 34, q4_1: 20 } as const;

/**
 * Quantized x · Wᵀ without dequantizing W to memory (as ggml's vec_dot): out[m, j] for rows j0 ≤ j < j1
 * of W (GGUF blocks of 32 weights, row after row) and rows m < M of X (float32, ldx bytes apart).
 * Each block is widened to eight f32x4 in registers and multiplied with X; the block scale d multiplies
 * the block's partial sums, and Q4_1's offset m enters as m · Σ x over the block, read from `xs`
 * (M rows of K/32 block sums, precomputed by the caller; unused for Q8_0).
 */
function quantDot(fma: boolean, kind: 'q8_0' | 'q4_1'): string {
  const bb = BLOCK_BYTES[kind];
  const L: string[] = [];
  L.push(
    `  (func $${kind}_1 (param $X i32) (param $ldx i32) (param $M i32) (param $K i32) (param $W i32) (param $j0 i32) (param $j1 i32) (param $out i32) (param $ldo i32) (param $xs i32)`,
  );
  L.push(
    '    (local $nb i32) (local $rowBytes i32) (local $j i32) (local $m i32) (local $b i32) (local $p i32) (local $xp i32) (local $sp i32) (local $hb i32) (local $d f32) (local $ms f32)',
  );
  L.push(
    '    (local $acc v128) (local $s0 v128) (local $s1 v128) (local $h v128) (local $q0 v128) (local $q1 v128)',
  );
  L.push('    ' + [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `(local $w${i} v128)`).join(' '));
  L.push(`    ${set('nb', `(i32.shr_u ${g('K')} ${i32(5)})`)} ${set('rowBytes', mul(g('nb'), i32(bb)))}`);
  L.push(`    ${set('j', g('j0'))}`);
  L.push(`    (block $jd (loop $jl (br_if $jd (i32.ge_u ${g('j')} ${g('j1')}))`);
  L.push(`      ${set('m', i32(0))}`);
  L.push(`      (block $md (loop $ml (br_if $md (i32.ge_u ${g('m')} ${g('M')}))`);
  L.push(
    `        ${set('p', add(g('W'), mul(g('j'), g('rowBytes'))))} ${set('xp', add(g('X'), mul(g('m'), g('ldx'))))} ${set('sp', add(g('xs'), `(i32.shl ${mul(g('m'), g('nb'))} ${i32(2)})`))}`,
  );
  L.push(
    `        ${set('acc', '(v128.const i32x4 0 0 0 0)')} ${set('ms', '(f32.const 0)')} ${set('b', g('nb'))}`,
  );
  L.push(`        (block $bd (loop $bl (br_if $bd (i32.eqz ${g('b')}))`);
  for (const x of decodeBlock(kind)) L.push('          ' + x);
  const xv = (i: number): string => `(v128.load offset=${16 * i} ${g('xp')})`;
  L.push(
    `          ${set('s0', `(f32x4.mul ${g('w0')} ${xv(0)})`)} ${set('s1', `(f32x4.mul ${g('w1')} ${xv(1)})`)}`,
  );
  for (let i = 2; i < 8; i++) {
    const sv = i % 2 === 0 ? 's0' : 's1';
    L.push(`          ${set(sv, madd(fma, g(`w${i}`), xv(i), g(sv)))}`);
  }
  L.push(`          ${set('hb', '(i32.load16_u (local.get $p))')} ${set('d', f16('hb'))}`);
  L.push(
    `          ${set('acc', madd(fma, `(f32x4.splat ${g('d')})`, `(f32x4.add ${g('s0')} ${g('s1')})`, g('acc')))}`,
  );
  if (kind === 'q4_1') {
    L.push(`          ${set('hb', '(i32.load16_u offset=2 (local.get $p))')}`);
    L.push(`          ${set('ms', `(f32.add ${g('ms')} (f32.mul ${f16('hb')} (f32.load ${g('sp')})))`)}`);
    L.push(`          ${set('sp', add(g('sp'), i32(4)))}`);
  }
  L.push(`          ${set('p', add(g('p'), i32(bb)))} ${set('xp', add(g('xp'), i32(128)))}`);
  L.push(`          ${set('b', `(i32.sub ${g('b')} ${i32(1)})`)} (br $bl)))`);
  L.push(
    `        (f32.store ${add(g('out'), add(mul(g('m'), g('ldo')), `(i32.shl ${g('j')} ${i32(2)})`))} (f32.add ${hsum('acc')} ${g('ms')}))`,
  );
  L.push(`        ${set('m', add(g('m'), i32(1)))} (br $ml)))`);
  L.push(`      ${set('j', add(g('j'), i32(1)))} (br $jl))))`);
  return L.join('\n');
}

/**
 * The same product for 2..R rows of X at once (R = 4): each block is widened and scaled once and feeds
 * R rows (rows past M are clamped to the last one and not stored).
 */
/** Set w0..w3 to weights 16·half .. 16·half+15 of the block at local `p` (quants only, before scaling). */
function decodeHalf(kind: 'q8_0' | 'q4_1', half: number): string[] {
  const L: string[] = [];
  const sign = kind === 'q8_0' ? 's' : 'u';
  if (kind === 'q8_0') L.push(set('q0', `(v128.load offset=${2 + 16 * half} ${g('p')})`));
  else {
    L.push(set('q0', `(v128.load offset=4 ${g('p')})`));
    L.push(
      set(
        'q0',
        half === 0
          ? `(v128.and ${g('q0')} (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))`
          : `(i8x16.shr_u ${g('q0')} ${i32(4)})`,
      ),
    );
  }
  for (const [hl, out] of [
    ['low', 0],
    ['high', 2],
  ] as const) {
    L.push(set('h', `(i16x8.extend_${hl}_i8x16_${sign} ${g('q0')})`));
    L.push(set(`w${out}`, `(f32x4.convert_i32x4_s (i32x4.extend_low_i16x8_${sign} ${g('h')}))`));
    L.push(set(`w${out + 1}`, `(f32x4.convert_i32x4_s (i32x4.extend_high_i16x8_${sign} ${g('h')}))`));
  }
  return L;
}

function quantDotRows(fma: boolean, kind: 'q8_0' | 'q4_1', R: number): string {
  const bb = BLOCK_BYTES[kind];
  const rows = [...Array(R).keys()];
  const L: string[] = [];
  L.push(
    `  (func $${kind}_${R} (param $X i32) (param $ldx i32) (param $M i32) (param $K i32) (param $W i32) (param $j0 i32) (param $j1 i32) (param $out i32) (param $ldo i32) (param $xs i32)`,
  );
  L.push(
    '    (local $nb i32) (local $rowBytes i32) (local $j i32) (local $i i32) (local $b i32) (local $p i32) (local $hb i32) (local $mm f32) (local $dv v128)',
  );
  L.push('    (local $h v128) (local $q0 v128) ' + [0, 1, 2, 3].map((i) => `(local $w${i} v128)`).join(' '));
  L.push(
    '    ' +
      rows
        .map(
          (r) =>
            `(local $xp${r} i32) (local $sp${r} i32) (local $ms${r} f32) (local $acc${r} v128) (local $bcc${r} v128)`,
        )
        .join(' '),
  );
  L.push(`    ${set('nb', `(i32.shr_u ${g('K')} ${i32(5)})`)} ${set('rowBytes', mul(g('nb'), i32(bb)))}`);
  L.push(`    ${set('j', g('j0'))}`);
  L.push(`    (block $jd (loop $jl (br_if $jd (i32.ge_u ${g('j')} ${g('j1')}))`);
  L.push(`      ${set('i', i32(0))}`);
  L.push(`      (block $id (loop $il (br_if $id (i32.ge_u ${g('i')} ${g('M')}))`);
  for (const r of rows) {
    const row = `(select ${add(g('i'), i32(r))} (i32.sub ${g('M')} ${i32(1)}) (i32.lt_u ${add(g('i'), i32(r))} ${g('M')}))`;
    L.push(
      `        ${set(`xp${r}`, add(g('X'), mul(row, g('ldx'))))} ${set(`sp${r}`, add(g('xs'), `(i32.shl ${mul(row, g('nb'))} ${i32(2)})`))} ${set(`acc${r}`, '(v128.const i32x4 0 0 0 0)')} ${set(`bcc${r}`, '(v128.const i32x4 0 0 0 0)')} ${set(`ms${r}`, '(f32.const 0)')}`,
    );
  }
  L.push(`        ${set('p', add(g('W'), mul(g('j'), g('rowBytes'))))} ${set('b', g('nb'))}`);
  L.push(`        (block $bd (loop $bl (br_if $bd (i32.eqz ${g('b')}))`);
  L.push(
    `          ${set('hb', '(i32.load16_u (local.get $p))')} ${set('dv', `(f32x4.splat ${f16('hb')})`)}`,
  );
  for (const half of [0, 1]) {
    for (const x of decodeHalf(kind, half)) L.push('          ' + x);
    for (let v = 0; v < 4; v++) L.push(`          ${set(`w${v}`, `(f32x4.mul ${g(`w${v}`)} ${g('dv')})`)}`);
    for (const r of rows)
      for (let v = 0; v < 4; v++) {
        const a = v % 2 === 0 ? `acc${r}` : `bcc${r}`;
        L.push(
          `          ${set(a, madd(fma, g(`w${v}`), `(v128.load offset=${16 * (4 * half + v)} ${g(`xp${r}`)})`, g(a)))}`,
        );
      }
  }
  if (kind === 'q4_1') {
    L.push(`          ${set('hb', '(i32.load16_u offset=2 (local.get $p))')} ${set('mm', f16('hb'))}`);
    for (const r of rows)
      L.push(
        `          ${set(`ms${r}`, `(f32.add ${g(`ms${r}`)} (f32.mul ${g('mm')} (f32.load ${g(`sp${r}`)})))`)} ${set(`sp${r}`, add(g(`sp${r}`), i32(4)))}`,
      );
  }
  L.push(
    `          ${set('p', add(g('p'), i32(bb)))} ` +
      rows.map((r) => set(`xp${r}`, add(g(`xp${r}`), i32(128)))).join(' '),
  );
  L.push(`          ${set('b', `(i32.sub ${g('b')} ${i32(1)})`)} (br $bl)))`);
  for (const r of rows) {
    const at = add(g('out'), add(mul(add(g('i'), i32(r)), g('ldo')), `(i32.shl ${g('j')} ${i32(2)})`));
    L.push(
      `        (if (i32.lt_u ${add(g('i'), i32(r))} ${g('M')}) (then ${set(`acc${r}`, `(f32x4.add ${g(`acc${r}`)} ${g(`bcc${r}`)})`)} (f32.store ${at} (f32.add ${hsum(`acc${r}`)} ${g(`ms${r}`)}))))`,
    );
  }
  L.push(`        ${set('i', add(g('i'), i32(R)))} (br $il)))`);
  L.push(`      ${set('j', add(g('j'), i32(1)))} (br $jl))))`);
  return L.join('\n');
}

/** The export: rows of X in groups of 4, then 2, then 1 (each group streams W once). */
function quantDispatch(kind: 'q8_0' | 'q4_1'): string {
  const call = (R: number): string =>
    `(call $${kind}_${R} (i32.add (local.get $X) (i32.mul (local.get $i) (local.get $ldx))) (local.get $ldx) (i32.const ${R}) (local.get $K)
            (local.get $W) (local.get $j0) (local.get $j1) (i32.add (local.get $out) (i32.mul (local.get $i) (local.get $ldo))) (local.get $ldo)
            (i32.add (local.get $xs) (i32.mul (local.get $i) (i32.shr_u (local.get $K) (i32.const 3)))))
          (local.set $i (i32.add (local.get $i) (i32.const ${R})))`;
  return `  (func (export "${kind}") (param $X i32) (param $ldx i32) (param $M i32) (param $K i32) (param $W i32) (param $j0 i32) (param $j1 i32) (param $out i32) (param $ldo i32) (param $xs i32)
    (local $i i32) (local $r i32)
    (block $d (loop $l
      (local.set $r (i32.sub (local.get $M) (local.get $i)))
      (br_if $d (i32.eqz (local.get $r)))
      (if (i32.ge_u (local.get $r) (i32.const 4))
        (then ${call(4)})
        (else (if (i32.ge_u (local.get $r) (i32.const 2))
          (then ${call(2)})
          (else ${call(1)}))))
      (br $l))))`;
}

/**
 * Opt-in integer variant (as llama.cpp's vec_dot with 8-bit activations, but 16-bit here): x arrives
 * quantized per 32-value block to int16 (x ≈ q·s, |q| ≤ 32767; X16 rows ldx bytes apart); `xsc` holds
 * M rows of K/32 float32 pairs (s, Σx of the block), `xs` is unused. Each weight block is widened to
 * int16 and `i32x4.dot_i16x8_s` sums the 32 products exactly in int32; one convert and one multiply-add
 * by d·s per block, with d (and Q4_1's m, whose offset term is m·Σx) widened from f16 in one vector.
 */
function quantDotI16(fma: boolean, kind: 'q8_0' | 'q4_1'): string {
  const bb = BLOCK_BYTES[kind];
  const sign = kind === 'q8_0' ? 's' : 'u';
  const L: string[] = [];
  L.push(
    `  (func (export "${kind}_i16") (param $X i32) (param $ldx i32) (param $M i32) (param $K i32) (param $W i32) (param $j0 i32) (param $j1 i32) (param $out i32) (param $ldo i32) (param $xs i32) (param $xsc i32)`,
  );
  L.push(
    '    (local $nb i32) (local $rowBytes i32) (local $j i32) (local $m i32) (local $b i32) (local $p i32) (local $xp i32) (local $sp i32) (local $cp i32) (local $hb i32) (local $ms f32)',
  );
  L.push('    (local $acc v128) (local $t v128) (local $q0 v128) (local $q1 v128) (local $h v128)');
  L.push(`    ${set('nb', `(i32.shr_u ${g('K')} ${i32(5)})`)} ${set('rowBytes', mul(g('nb'), i32(bb)))}`);
  L.push(`    ${set('j', g('j0'))}`);
  L.push(`    (block $jd (loop $jl (br_if $jd (i32.ge_u ${g('j')} ${g('j1')}))`);
  L.push(`      ${set('m', i32(0))}`);
  L.push(`      (block $md (loop $ml (br_if $md (i32.ge_u ${g('m')} ${g('M')}))`);
  L.push(
    `        ${set('p', add(g('W'), mul(g('j'), g('rowBytes'))))} ${set('xp', add(g('X'), mul(g('m'), g('ldx'))))} ${set('sp', add(g('xs'), `(i32.shl ${mul(g('m'), g('nb'))} ${i32(2)})`))} ${set('cp', add(g('xsc'), `(i32.shl ${mul(g('m'), g('nb'))} ${i32(3)})`))}`,
  );
  L.push(
    `        ${set('acc', '(v128.const i32x4 0 0 0 0)')} ${set('ms', '(f32.const 0)')} ${set('b', g('nb'))}`,
  );
  L.push(`        (block $bd (loop $bl (br_if $bd (i32.eqz ${g('b')}))`);
  if (kind === 'q8_0') {
    L.push(
      `          ${set('q0', `(v128.load offset=2 ${g('p')})`)} ${set('q1', `(v128.load offset=18 ${g('p')})`)}`,
    );
  } else {
    L.push(`          ${set('q1', `(v128.load offset=4 ${g('p')})`)}`);
    L.push(
      `          ${set('q0', `(v128.and ${g('q1')} (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))`)}`,
    );
    L.push(`          ${set('q1', `(i8x16.shr_u ${g('q1')} ${i32(4)})`)}`);
  }
  const dot = (src: string, hl: 'low' | 'high', off: number): string =>
    `(i32x4.dot_i16x8_s (i16x8.extend_${hl}_i8x16_${sign} ${g(src)}) (v128.load offset=${off} ${g('xp')}))`;
  L.push(
    `          ${set('t', `(i32x4.add (i32x4.add ${dot('q0', 'low', 0)} ${dot('q0', 'high', 16)}) (i32x4.add ${dot('q1', 'low', 32)} ${dot('q1', 'high', 48)}))`)}`,
  );
  // Q8_0: d from f16 in scalar code, times the block's x scale. Q4_1: d and m widened together in one
  // vector, times the pair (x scale, x sum): lane 0 = d·s_x, lane 1 = m·Σx (measured faster).
  if (kind === 'q8_0') {
    L.push(`          ${set('hb', '(i32.load16_u (local.get $p))')}`);
    L.push(
      `          ${set('acc', madd(fma, '(f32x4.convert_i32x4_s (local.get $t))', `(f32x4.splat (f32.mul ${f16('hb')} (f32.load ${g('cp')})))`, g('acc')))}`,
    );
  } else {
    L.push(`          ${set('h', '(i32x4.extend_low_i16x8_u (v128.load32_zero (local.get $p)))')}`);
    L.push(
      `          ${set('h', `(f32x4.mul (v128.or (i32x4.shl (v128.and ${g('h')} (v128.const i32x4 0x8000 0x8000 0x8000 0x8000)) ${i32(16)}) (f32x4.mul (i32x4.shl (v128.and ${g('h')} (v128.const i32x4 0x7fff 0x7fff 0x7fff 0x7fff)) ${i32(13)}) (v128.const f32x4 0x1p+112 0x1p+112 0x1p+112 0x1p+112))) (v128.load64_zero ${g('cp')}))`)}`,
    );
    L.push(
      `          ${set('acc', madd(fma, '(f32x4.convert_i32x4_s (local.get $t))', `(f32x4.splat (f32x4.extract_lane 0 ${g('h')}))`, g('acc')))}`,
    );
    L.push(`          ${set('ms', `(f32.add ${g('ms')} (f32x4.extract_lane 1 ${g('h')}))`)}`);
  }
  L.push(`          ${set('cp', add(g('cp'), i32(8)))}`);
  L.push(`          ${set('p', add(g('p'), i32(bb)))} ${set('xp', add(g('xp'), i32(64)))}`);
  L.push(`          ${set('b', `(i32.sub ${g('b')} ${i32(1)})`)} (br $bl)))`);
  L.push(
    `        (f32.store ${add(g('out'), add(mul(g('m'), g('ldo')), `(i32.shl ${g('j')} ${i32(2)})`))} (f32.add ${hsum('acc')} ${g('ms')}))`,
  );
  L.push(`        ${set('m', add(g('m'), i32(1)))} (br $ml)))`);
  L.push(`      ${set('j', add(g('j'), i32(1)))} (br $jl))))`);
  return L.join('\n');
}

/** Dequantize rows j0 ≤ j < j1 of W (K/32 blocks each) to float32 at dst (row j at dst + j·K·4). */
function dequant(kind: 'q8_0' | 'q4_1'): string {
  const bb = BLOCK_BYTES[kind];
  const L: string[] = [];
  L.push(
    `  (func (export "deq${kind.slice(1)}") (param $W i32) (param $K i32) (param $j0 i32) (param $j1 i32) (param $dst i32)`,
  );
  L.push(
    '    (local $n i32) (local $p i32) (local $o i32) (local $hb i32) (local $dv v128) (local $mv v128) (local $h v128) (local $q0 v128) (local $q1 v128)',
  );
  L.push('    ' + [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `(local $w${i} v128)`).join(' '));
  L.push(`    ${set('p', add(g('W'), mul(g('j0'), mul(`(i32.shr_u ${g('K')} ${i32(5)})`, i32(bb)))))}`);
  L.push(`    ${set('o', add(g('dst'), `(i32.shl ${mul(g('j0'), g('K'))} ${i32(2)})`))}`);
  L.push(`    ${set('n', mul(`(i32.sub ${g('j1')} ${g('j0')})`, `(i32.shr_u ${g('K')} ${i32(5)})`))}`);
  L.push(`    (block $bd (loop $bl (br_if $bd (i32.eqz ${g('n')}))`);
  for (const x of decodeBlock(kind)) L.push('      ' + x);
  L.push(`      ${set('hb', '(i32.load16_u (local.get $p))')} ${set('dv', `(f32x4.splat ${f16('hb')})`)}`);
  if (kind === 'q4_1') {
    L.push(
      `      ${set('hb', '(i32.load16_u offset=2 (local.get $p))')} ${set('mv', `(f32x4.splat ${f16('hb')})`)}`,
    );
  }
  for (let i = 0; i < 8; i++) {
    const v = `(f32x4.mul ${g(`w${i}`)} ${g('dv')})`;
    L.push(
      `      (v128.store offset=${16 * i} ${g('o')} ${kind === 'q4_1' ? `(f32x4.add ${v} ${g('mv')})` : v})`,
    );
  }
  L.push(`      ${set('p', add(g('p'), i32(bb)))} ${set('o', add(g('o'), i32(128)))}`);
  L.push(`      ${set('n', `(i32.sub ${g('n')} ${i32(1)})`)} (br $bl))))`);
  return L.join('\n');
}

/** The whole module text for one variant. */
export function gemmWat(fma: boolean, shape: GemmShape = fma ? DEFAULT_SHAPE : MUL_ADD_SHAPE): string {
  return [
    `;; Generated by src/ops/wasm/gen-wat.ts (${fma ? 'relaxed-SIMD fused multiply-add' : 'SIMD mul + add'}, micro-kernel ${shape.mr}×${4 * shape.nrv}) — do not edit.`,
    '(module',
    '  (import "env" "mem" (memory 1 65536 shared))',
    `  (global (export "MR") i32 (i32.const ${shape.mr}))`,
    `  (global (export "NR") i32 (i32.const ${4 * shape.nrv}))`,
    kernel(shape, fma),
    packA(shape),
    packB(shape),
    gemm(shape),
    dotNT(fma),
    quantDot(fma, 'q8_0'),
    quantDotRows(fma, 'q8_0', 2),
    quantDotRows(fma, 'q8_0', 4),
    quantDispatch('q8_0'),
    quantDot(fma, 'q4_1'),
    quantDotRows(fma, 'q4_1', 2),
    quantDotRows(fma, 'q4_1', 4),
    quantDispatch('q4_1'),
    quantDotI16(fma, 'q8_0'),
    quantDotI16(fma, 'q4_1'),
    dequant('q8_0'),
    dequant('q4_1'),
    ...elementwiseWat(),
    ')',
    '',
  ].join('\n');
}
