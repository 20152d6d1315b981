/** Execute a notebook headless on the efflab kernel (`jupyter execute` from .venv) and return its cells. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

export interface NotebookOutput {
  output_type: string;
  data?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
}

export interface NotebookCell {
  cell_type: string;
  id?: string;
  source?: string | string[];
  outputs?: NotebookOutput[];
}

/**
 * Run `notebooks/<name>` on a copy in a temporary folder (the original stays unexecuted), with extra
 * environment variables and a per-cell timeout in seconds; fails the test with jupyter's stderr if
 * the run fails, and returns the executed cells.
 */
export function executeNotebook(
  name: string,
  env: Record<string, string>,
  cellTimeoutS: number,
): NotebookCell[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'efflab-nb-'));
  try {
    const out = path.join(dir, 'out.ipynb');
    fs.copyFileSync(path.join(ROOT, 'notebooks', name), out);
    const r = spawnSync(
      path.join(ROOT, '.venv', 'bin', 'jupyter'),
      ['execute', '--kernel_name=efflab', `--timeout=${cellTimeoutS}`, '--inplace', out],
      {
        cwd: path.join(ROOT, 'notebooks'),
        env: { ...process.env, ...env },
        encoding: 'utf8',
        timeout: (cellTimeoutS + 10) * 1000,
      },
    );
    assert.equal(r.status, 0, `jupyter execute ${name} failed:\n${(r.stderr ?? '').slice(-4000)}`);
    return (JSON.parse(fs.readFileSync(out, 'utf8')) as { cells: NotebookCell[] }).cells;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function joined(v: unknown): string {
  return Array.isArray(v) ? v.join('') : String(v ?? '');
}

/** Decode the few HTML entities our table renderer writes, after stripping tags. */
function cellText(s: string): string {
  return s
    .replace(/<[^>]+>/g, '')
    .replace(/&quot;|&#34;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}

/**
 * Every HTML table the executed cells displayed, in order, each as rows of cell texts (the header row
 * first), so notebook tests can check the values a reader sees rather than only that the cells ran.
 */
export function htmlTables(cells: NotebookCell[]): string[][][] {
  return cells
    .filter((c) => c.cell_type === 'code')
    .flatMap((c) => c.outputs ?? [])
    .map((o) => joined(o.data?.['text/html']))
    .filter((h) => h.includes('<table'))
    .map((h) =>
      [...h.matchAll(/<tr[^>]*>([\s\S]*?)<\/tr>/g)].map((m) =>
        [...m[1].matchAll(/<t[dh][^>]*>([\s\S]*?)<\/t[dh]>/g)].map((c) => cellText(c[1])),
      ),
    );
}

/**
 * The checks every chapter notebook test starts with: no cell raised and every code cell shows
 * something. Returns the outputs and their text/plain parts joined, for the test's own assertions.
 */
export function assertCleanRun(cells: NotebookCell[]): { outputs: NotebookOutput[]; plain: string } {
  const code = cells.filter((c) => c.cell_type === 'code');
  const outputs = code.flatMap((c) => c.outputs ?? []);
  const errors = outputs.filter((o) => o.output_type === 'error');
  assert.equal(errors.length, 0, `a cell raised: ${errors.map((e) => `${e.ename}: ${e.evalue}`).join('; ')}`);
  assert.ok(
    code.every((c) => (c.outputs ?? []).length > 0),
    'every code cell shows something',
  );
  return { outputs, plain: outputs.map((o) => joined(o.data?.['text/plain'])).join('\n') };
}
