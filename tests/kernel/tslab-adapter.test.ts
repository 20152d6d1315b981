// The tslab adapter (the one module that knows tslab) and the engine that runs cells without
// patching Node's `vm`: the installed tslab is the pinned version with the surface the adapter
// uses; tslab-specific imports appear nowhere else; cells keep their state when they fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import {
  checkTslab,
  createCellCompiler,
  TSLAB_VERSION,
  TSLAB_TYPESCRIPT_VERSION,
  loopBodies,
} from '../../kernel/src/tslab-adapter';
import {
  Engine,
  instrumentLoops,
  LOOP_INTERRUPT_MESSAGE,
  needsSigintWatchdog,
} from '../../kernel/src/engine';
import { INTERRUPT_REQUESTED, interruptCells } from '../../kernel/src/control-protocol';

const ROOT = path.resolve(__dirname, '..', '..');

test('the installed tslab is the pinned version with the surface the adapter relies on', () => {
  assert.deepEqual(checkTslab(), []);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  assert.equal(pkg.dependencies.tslab, TSLAB_VERSION, 'package.json must pin tslab exactly');
});

test('an incompatible tslab is reported: other version, other TypeScript, missing functions', () => {
  const surface = { createConverter: () => undefined, isCompleteCode: () => undefined };
  assert.deepEqual(checkTslab({ tslab: TSLAB_VERSION, typescript: TSLAB_TYPESCRIPT_VERSION }, surface), []);
  assert.match(
    checkTslab({ tslab: '1.0.23', typescript: TSLAB_TYPESCRIPT_VERSION }, surface).join(),
    /tslab 1\.0\.23/,
  );
  assert.match(checkTslab({ tslab: TSLAB_VERSION, typescript: '5.4.0' }, surface).join(), /5\.4\.0/);
  assert.match(
    checkTslab(
      { tslab: TSLAB_VERSION, typescript: TSLAB_TYPESCRIPT_VERSION },
      { createConverter: () => undefined },
    ).join(),
    /no function isCompleteCode/,
  );
});

test('no kernel module but the adapter imports tslab or its TypeScript', () => {
  const dir = path.join(ROOT, 'kernel', 'src');
  const offenders = readdirSync(dir)
    .filter((f) => f.endsWith('.ts') && f !== 'tslab-adapter.ts')
    .filter((f) =>
      /from '(?:tslab|@tslab\/)[^']*'|require\('(?:tslab|@tslab\/)/.test(
        readFileSync(path.join(dir, f), 'utf8'),
      ),
    );
  assert.deepEqual(offenders, []);
});

test('the engine leaves vm.runInThisContext alone, and a cell may call it itself', async () => {
  const original = vm.runInThisContext;
  const engine = new Engine(ROOT);
  try {
    const out = await engine.execute(
      "import vm from 'node:vm';\nconst viaVm = vm.runInThisContext('6 * 7', { filename: 'mine.js' });\nconst where = vm.runInThisContext('new Error().stack', { filename: 'mine.js' }) as string;\n[viaVm, where.split('\\n')[1].includes('mine.js')]",
      1,
    );
    assert.equal(out.kind, 'ok', JSON.stringify(out));
    // the cell's own script keeps its own name (the old per-execution patch renamed it `<cell 1>`)
    if (out.kind === 'ok') assert.deepEqual(out.value, [42, true]);
    assert.equal(vm.runInThisContext, original);
    // and the cell's own name still shows in its stack traces
    const thrown = await engine.execute("throw new Error('boom');", 2);
    assert.equal(thrown.kind, 'runtime-error');
    if (thrown.kind === 'runtime-error') assert.match(String((thrown.error as Error).stack), /<cell 2>:/);
  } finally {
    engine.close();
  }
});

test('variables of a cell that threw keep the values they reached', async () => {
  const engine = new Engine(ROOT);
  try {
    const failed = await engine.execute(
      "let reached = 0;\nfor (let i = 0; i < 5; i++) reached = i;\nthrow new Error('late');",
      1,
    );
    assert.equal(failed.kind, 'runtime-error');
    const after = await engine.execute('reached * 10', 2);
    assert.equal(after.kind, 'ok', JSON.stringify(after));
    if (after.kind === 'ok') assert.equal(after.value, 40);
  } finally {
    engine.close();
  }
});

test('loop checks: every loop body starts with the check, lines unchanged, and an interrupt stops a loop after an await', async () => {
  const js =
    'while (a) b++;\nfor (;;) {\n  c();\n}\ndo x(); while (y);\nfor (const k of z) ;\nfor (const k in z) { }';
  assert.equal(loopBodies(js).length, 5);
  const out = instrumentLoops(js, 'chk');
  assert.equal(out.split('\n').length, js.split('\n').length);
  assert.equal((out.match(/chk\(\);/g) ?? []).length, 5);
  assert.equal(instrumentLoops('const a = 1;', 'chk'), 'const a = 1;');
  // a loop that an await put outside the synchronous part of the cell
  const cells = interruptCells();
  const probe = new Int32Array(new SharedArrayBuffer(4));
  const engine = new Engine(ROOT, cells);
  try {
    // The loop blocks this thread, so the interrupt comes from a worker, as in the kernel.
    const { Worker } = await import('node:worker_threads');
    const worker = new Worker(
      `const { workerData } = require("node:worker_threads");
       const probe = new Int32Array(workerData.probe);
       Atomics.wait(probe, 0, 0, 60000); // until the cell's loop is about to start
       Atomics.add(new Int32Array(workerData.cells), ${INTERRUPT_REQUESTED}, 1);`,
      { eval: true, workerData: { cells: cells.buffer, probe: probe.buffer } },
    );
    await new Promise((resolve) => worker.once('online', resolve));
    (globalThis as unknown as { probe: Int32Array }).probe = probe;
    const running = engine.execute(
      'const probe = (globalThis as unknown as { probe: Int32Array }).probe;\nawait new Promise((r) => setTimeout(r, 5));\nlet n = 1;\nAtomics.store(probe, 0, 1);\nAtomics.notify(probe, 0);\nwhile (true) { n++; }',
      1,
    );
    const outcome = await running;
    await worker.terminate();
    assert.equal(outcome.kind, 'runtime-error');
    if (outcome.kind === 'runtime-error')
      assert.equal((outcome.error as Error).message, LOOP_INTERRUPT_MESSAGE);
    const n = await engine.execute('n', 2);
    assert.equal(n.kind, 'ok');
    if (n.kind === 'ok') assert.ok((n.value as number) > 0);
  } finally {
    engine.close();
  }
});

test('the SIGINT watchdog is skipped only for code that cannot run long', () => {
  const compiler = createCellCompiler();
  const js = (code: string): string => {
    const out = compiler.compile('declare const a: number;\n', code);
    assert.ok(out.ok, code);
    return out.ok ? (out.compiled.js ?? '') : '';
  };
  try {
    for (const quick of ['1', 'const b = 2;', 'a + 1', "const s = 'x' + a;", '[a, { c: a }]'])
      assert.equal(needsSigintWatchdog(js(quick)), false, quick);
    for (const slow of [
      'Math.max(1, 2)',
      'new Array(3)',
      'for (;;) break;',
      'let i = 0;\nwhile (i < 1) i++;',
      '`${a}`',
      "import { join } from 'node:path';\njoin",
    ])
      assert.equal(needsSigintWatchdog(js(slow)), true, slow);
  } finally {
    compiler.close();
  }
});
