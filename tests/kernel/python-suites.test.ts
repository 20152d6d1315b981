// The kernel driven by real Jupyter clients (Python, from .venv): the official jupyter_kernel_test
// conformance suite, comm round trips, reliability checks, and the tour notebook run headless.
// Each suite's figures (METRIC lines, unittest counts) are reported as test diagnostics.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const ROOT = process.env.EFFLAB_REPO_ROOT ?? path.resolve(__dirname, '..', '..');
const VENV_BIN = path.join(ROOT, '.venv', 'bin');
const HERE = path.join(ROOT, 'tests', 'kernel');

interface Run {
  code: number | null;
  output: string;
}

function runCommand(command: string, args: string[], cwd: string, timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd,
      env: { ...process.env, EFFLAB_HISTORY_DIR: mkdtempSync(path.join(os.tmpdir(), 'efflab-history-')) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Counts from a unittest run's summary (`Ran N tests`, `OK (skipped=1)` / `FAILED (failures=2)`). */
function unittestCounts(output: string): { ran: number; failed: number; skipped: number } {
  const ran = Number(/Ran (\d+) tests?/.exec(output)?.[1] ?? 0);
  const failed =
    Number(/failures=(\d+)/.exec(output)?.[1] ?? 0) + Number(/errors=(\d+)/.exec(output)?.[1] ?? 0);
  const skipped = Number(/skipped=(\d+)/.exec(output)?.[1] ?? 0);
  return { ran, failed, skipped };
}

function relevant(output: string): string {
  return output
    .split('\n')
    .filter((l) => !l.includes('[efflab-kernel]') || !l.includes('WARN'))
    .slice(-80)
    .join('\n');
}

/**
 * Runs a unittest file and checks that exactly `expected.ran` tests ran and `expected.skipped`
 * were skipped, so a test lost to a renamed method or a failed import cannot pass unnoticed.
 */
async function pythonSuite(
  script: string,
  expected: { ran: number; skipped: number },
  timeoutMs: number,
  diagnostic: (msg: string) => void,
) {
  const run = await runCommand(path.join(VENV_BIN, 'python'), [script], HERE, timeoutMs);
  const counts = unittestCounts(run.output);
  diagnostic(`${script}: ran ${counts.ran}, failed ${counts.failed}, skipped ${counts.skipped}`);
  for (const m of run.output.matchAll(/METRIC (\S+)=(\S+)$/gm)) diagnostic(`${m[1]} = ${m[2]}`);
  assert.equal(run.code, 0, `${script} failed:\n${relevant(run.output)}`);
  assert.equal(counts.ran, expected.ran, `${script}: ${counts.ran} tests ran, expected ${expected.ran}`);
  assert.equal(counts.skipped, expected.skipped, `${script}: ${counts.skipped} skipped`);
  return counts;
}

describe('efflab kernel with Jupyter clients', { concurrency: 1 }, () => {
  test('kernelspec efflab is installed in .venv', async () => {
    const run = await runCommand(
      path.join(VENV_BIN, 'jupyter'),
      ['kernelspec', 'list', '--json'],
      ROOT,
      60_000,
    );
    assert.equal(run.code, 0, run.output);
    const specs = JSON.parse(run.output) as {
      kernelspecs: Record<string, { resource_dir: string; spec: Record<string, unknown> }>;
    };
    const spec = specs.kernelspecs.efflab;
    assert.ok(spec, 'no efflab kernelspec: run npm run setup');
    assert.ok(spec.resource_dir.startsWith(path.join(ROOT, '.venv')), spec.resource_dir);
    assert.equal(spec.spec.display_name, 'TypeScript (efflab)');
    assert.equal(spec.spec.language, 'typescript');
    assert.equal(spec.spec.interrupt_mode, 'message');
  });

  test('jupyter_kernel_test conformance suite passes', async (t) => {
    // 12 tests; only test_pager is skipped (no pager payload in TypeScript).
    await pythonSuite('conformance.py', { ran: 12, skipped: 1 }, 240_000, (m) => t.diagnostic(m));
  });

  test('comms round trip with jupyter_client, including a cell awaiting a comm answer', async (t) => {
    await pythonSuite('comm_roundtrip.py', { ran: 5, skipped: 0 }, 180_000, (m) => t.diagnostic(m));
  });

  test('reliability: errors, interrupts, 1,000 executions, 1,000 malformed messages, restart', async (t) => {
    await pythonSuite('reliability.py', { ran: 14, skipped: 0 }, 420_000, (m) => t.diagnostic(m));
  });

  test('history tail, range and search answer as ipykernel does on the same cells', async (t) => {
    await pythonSuite('history_ipykernel.py', { ran: 4, skipped: 0 }, 180_000, (m) => t.diagnostic(m));
  });

  test('tour notebook runs headless with jupyter execute', async () => {
    const run = await runCommand(
      path.join(VENV_BIN, 'jupyter'),
      ['execute', '--kernel_name=efflab', '--timeout=300', path.join('notebooks', '00-tour.ipynb')],
      ROOT,
      360_000,
    );
    assert.equal(run.code, 0, relevant(run.output));
  });
});
