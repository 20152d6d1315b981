/**
 * The LoRC walkthrough executes headless on the efflab kernel (short text: LORC_QUICK=1), and its
 * cells produce the figures and tables it promises. Needs the kernelspec and dist/ that
 * `npm run setup` installs and builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

interface Cell {
  cell_type: string;
  outputs?: { output_type: string; data?: Record<string, unknown>; ename?: string }[];
}

test('notebooks/05-lorc.ipynb runs headless in quick mode', { timeout: 660_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lorc-nb-'));
  try {
    const out = path.join(dir, 'out.ipynb');
    fs.copyFileSync(path.join(ROOT, 'notebooks', '05-lorc.ipynb'), out);
    const r = spawnSync(
      path.join(ROOT, '.venv', 'bin', 'jupyter'),
      ['execute', '--kernel_name=efflab', '--timeout=600', '--inplace', out],
      {
        cwd: path.join(ROOT, 'notebooks'),
        env: { ...process.env, LORC_QUICK: '1' },
        encoding: 'utf8',
        timeout: 650_000,
      },
    );
    assert.equal(r.status, 0, `jupyter execute failed:\n${(r.stderr ?? '').slice(-4000)}`);
    const nb = JSON.parse(fs.readFileSync(out, 'utf8')) as { cells: Cell[] };
    const outputs = nb.cells.filter((c) => c.cell_type === 'code').flatMap((c) => c.outputs ?? []);
    assert.equal(outputs.filter((o) => o.output_type === 'error').length, 0, 'a cell raised');
    const mimes = outputs.flatMap((o) => Object.keys(o.data ?? {}));
    assert.ok(
      mimes.filter((m) => m === 'application/vnd.plotly.v1+json').length >= 4,
      `plotly figures: ${mimes.join(', ')}`,
    );
    assert.ok(
      mimes.some((m) => m.includes('sensitivity')),
      `no layer-sensitivity view among ${mimes.join(', ')}`,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
