// The engine's preload of efflab's declarations (kernel-first-import): after it, cells type-check
// with the library's declarations already in the compiler, yet the preload adds no name to the
// cells' scope; a module the compiler cannot find is reported, and the engine keeps working.
// (How much time it saves is measured by bench/kernel.bench.ts, never asserted here.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '../../kernel/src/engine';
import { installRuntimePaths, installTypeOverlay } from '../../kernel/src/resolution';

// A notebook folder with no node_modules of its own: efflab comes through the kernel's overlay.
// The compiler works in the process's folder, as the kernel runs in the notebook's; require finds
// efflab through the kernel's runtime paths (dist/ must be built, as for every kernel test).
const notebook = mkdtempSync(path.join(os.tmpdir(), 'efflab-preload-'));
process.chdir(notebook);
installRuntimePaths();
installTypeOverlay(notebook);

test('after the preload, a cell imports efflab and the preload itself declared no name', async (t) => {
  const engine = new Engine(notebook);
  t.after(() => engine.close());
  const before = await engine.execute('const kept = 6;', 1);
  assert.equal(before.kind, 'ok', JSON.stringify(before));
  assert.equal(engine.preload('efflab'), true);
  // nothing imported by the preload is visible to cells
  const unnamed = await engine.execute("typeof display === 'function'", 2);
  assert.equal(unnamed.kind, 'compile-error', JSON.stringify(unnamed));
  if (unnamed.kind === 'compile-error')
    assert.match(unnamed.diagnostics[0].message, /Cannot find name 'display'/);
  // earlier declarations survive the preload, and the import type-checks against efflab's types
  const imported = await engine.execute(
    "import { display, ShapeError } from 'efflab';\nconst err: Error = new ShapeError('x');\n[typeof display, kept * 7, err instanceof ShapeError]",
    3,
  );
  assert.equal(imported.kind, 'ok', JSON.stringify(imported));
  if (imported.kind === 'ok') assert.deepEqual(imported.value, ['function', 42, true]);
  // a misuse of an efflab type is still a compile error
  const wrong = await engine.execute('const n: number = display;', 4);
  assert.equal(wrong.kind, 'compile-error', JSON.stringify(wrong));
  // a second preload is a no-op
  assert.equal(engine.preload('efflab'), true);
});

test('preloading a module the compiler cannot find says so and changes nothing', async (t) => {
  const engine = new Engine(notebook);
  t.after(() => engine.close());
  assert.equal(engine.preload('efflab-no-such-module'), false);
  const out = await engine.execute('const z = 5;\nz * 2', 1);
  assert.equal(out.kind, 'ok', JSON.stringify(out));
  if (out.kind === 'ok') assert.equal(out.value, 10);
});

test.after(() => rmSync(notebook, { recursive: true, force: true }));
