/**
 * annotateRules in a real efflab kernel with no frontend (`jupyter execute`, as CI runs notebooks):
 * without an annotator function the call fails after the stated timeout with a message that says what to
 * do; with an oracle function it completes and its decisions are saved next to the notebook.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const JUPYTER = resolve(__dirname, '..', '..', '.venv', 'bin', 'jupyter');

const SOURCE = `import { widgets } from 'efflab';
const c = [
  { id: 'r1', prompt: '[MASK] News: x', label: 'World', words: ['peace'], instance: 'x' },
  { id: 'r2', prompt: '[MASK] News: y', label: 'Sports', words: ['goal'], instance: 'y' },
];
const t = Date.now();
try {
  await widgets.annotateRules(c, { store: 'headless', connectTimeoutMs: 2000 });
  console.log('RESOLVED?');
} catch (e) {
  console.log('FAILED_AFTER ' + (Date.now() - t) + ' ' + (e as Error).message);
}
const r = await widgets.annotateRules(c, { store: 'headless', annotator: (x) => (x.label === 'Sports' ? 'accept' : 'reject'), name: 'oracle' });
console.log('ORACLE ' + JSON.stringify(r.decisions.map((d) => [d.candidateId, d.verdict])));`;

test('headless kernel: no frontend → clear error after the timeout; an oracle function → decisions', () => {
  if (!existsSync(JUPYTER))
    throw new Error(`needs JupyterLab in .venv (run npm run setup): ${JUPYTER} is missing`);
  const dir = mkdtempSync(join(tmpdir(), 'efflab-headless-'));
  try {
    const nb = {
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {
        kernelspec: { name: 'efflab', display_name: 'TypeScript (efflab)', language: 'typescript' },
      },
      cells: [
        { cell_type: 'code', id: 'c1', metadata: {}, execution_count: null, outputs: [], source: SOURCE },
      ],
    };
    writeFileSync(join(dir, 'nb.ipynb'), JSON.stringify(nb));
    const run = spawnSync(JUPYTER, ['execute', '--kernel_name=efflab', '--output=out.ipynb', 'nb.ipynb'], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 180_000,
    });
    assert.equal(run.status, 0, `jupyter execute failed:\n${run.stderr}`);
    const out = JSON.parse(readFileSync(join(dir, 'out.ipynb'), 'utf8')) as {
      cells: {
        outputs: { output_type: string; text?: string | string[]; data?: Record<string, unknown> }[];
      }[];
    };
    const outputs = out.cells[0].outputs;
    const text = outputs
      .filter((o) => o.output_type === 'stream')
      .map((o) => (Array.isArray(o.text) ? o.text.join('') : (o.text ?? '')))
      .join('');
    const failed = /FAILED_AFTER (\d+) (.*)/.exec(text);
    assert.ok(failed, `the call without a frontend did not fail:\n${text}`);
    const ms = Number(failed[1]);
    assert.ok(ms >= 1900 && ms < 10_000, `failed after ${ms} ms, stated timeout 2000 ms`);
    assert.match(
      failed[2],
      /no frontend opened the annotation widget within 2 s.*options\.annotator as a function/,
    );
    assert.match(text, /ORACLE \[\["r1","reject"\],\["r2","accept"\]\]/);
    // The widget's output carries readable fallbacks for a frontend without the extension.
    const shown = outputs.find((o) => o.output_type === 'display_data');
    assert.ok(
      shown?.data?.['text/plain'] &&
        shown.data['text/html'] &&
        shown.data['application/vnd.efflab.annotate.v1+json'],
    );
    const store = JSON.parse(readFileSync(join(dir, 'headless.annotations.json'), 'utf8')) as {
      decisions: Record<string, Record<string, { verdict: string }>>;
    };
    assert.equal(store.decisions.oracle.r2.verdict, 'accept');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
