/**
 * A real JupyterLab (from .venv, with the efflab extension) driven by headless Debian Chromium through
 * playwright-core, for UI tests of one notebook: start, open, run a cell, read a cell's output, screenshot.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const ROOT = resolve(__dirname, '..', '..');
const JUPYTER = join(ROOT, '.venv', 'bin', 'jupyter');
const CHROMIUM = '/usr/bin/chromium';
const TOKEN = 'efflab-ui-token';

/** A notebook of code cells on the efflab kernel. */
export function notebookJson(cells: readonly string[]): string {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'efflab', display_name: 'TypeScript (efflab)', language: 'typescript' },
      language_info: { name: 'typescript' },
    },
    cells: cells.map((source, i) => ({
      cell_type: 'code',
      id: `cell-${i}`,
      metadata: {},
      execution_count: null,
      outputs: [],
      source,
    })),
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
  });
}

interface LabWindow {
  jupyterapp?: {
    shell: {
      currentWidget: {
        content: { activeCellIndex: number };
        sessionContext?: { session?: { kernel?: { status: string; name: string } } };
      } | null;
    };
    commands: { execute(id: string): Promise<unknown> };
  };
}
declare const window: LabWindow;

/** One JupyterLab server, one browser page, one notebook. */
export class Lab {
  page!: Page;
  workDir = '';
  log = '';
  private lab: ChildProcess | null = null;
  private context: BrowserContext | null = null;
  private url = '';

  constructor(
    readonly artifacts: string,
    readonly notebook: string,
  ) {}

  /** Writes the notebook, starts JupyterLab and Chromium, opens the notebook, waits for an idle kernel. */
  async start(cells: readonly string[], env: Record<string, string> = {}): Promise<void> {
    for (const [what, p] of [
      ['JupyterLab in .venv (run npm run setup)', JUPYTER],
      ['Debian chromium (run npm run setup)', CHROMIUM],
    ] as const) {
      if (!existsSync(p)) throw new Error(`UI tests need ${what}: ${p} is missing`);
    }
    const list = spawnSync(JUPYTER, ['labextension', 'list'], { encoding: 'utf8' });
    if (!/efflab-extension.*enabled.*OK/.test(list.stdout + list.stderr))
      throw new Error(`the efflab extension is not installed in .venv (run npm run setup)`);
    mkdirSync(this.artifacts, { recursive: true });
    this.workDir = mkdtempSync(join(tmpdir(), 'efflab-ui-'));
    writeFileSync(join(this.workDir, this.notebook), notebookJson(cells));
    const port = await freePort();
    this.lab = spawn(
      JUPYTER,
      [
        'lab',
        '--no-browser',
        `--port=${port}`,
        '--ip=127.0.0.1',
        `--IdentityProvider.token=${TOKEN}`,
        ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
        `--ServerApp.root_dir=${this.workDir}`,
        '--LabApp.expose_app_in_browser=True',
        '--LabApp.news_url=None',
        '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
      ],
      {
        cwd: this.workDir,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          ...env,
          JUPYTER_CONFIG_DIR: join(this.workDir, '.jupyter'),
          JUPYTER_RUNTIME_DIR: join(this.workDir, '.runtime'),
        },
      },
    );
    this.lab.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.lab.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.url = `http://127.0.0.1:${port}`;
    const end = Date.now() + 90_000;
    for (;;) {
      if (this.lab.exitCode !== null) throw new Error(`JupyterLab exited with code ${this.lab.exitCode}`);
      try {
        if ((await fetch(`${this.url}/api/status?token=${TOKEN}`)).ok) break;
      } catch {
        // not up yet
      }
      if (Date.now() > end) throw new Error('JupyterLab did not answer within 90 s');
      await new Promise((r) => setTimeout(r, 250));
    }
    this.context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'efflab-chromium-')), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
      ],
      viewport: { width: 1280, height: 1000 },
    });
    this.page = this.context.pages()[0] ?? (await this.context.newPage());
    this.page.setDefaultTimeout(60_000);
    await this.page.goto(`${this.url}/lab/tree/${this.notebook}?token=${TOKEN}&reset`);
    await this.page.waitForSelector('body[data-efflab-extension="active"]', { state: 'attached' });
    await this.page.waitForSelector('.jp-NotebookPanel .jp-Cell');
    await this.page.waitForFunction(
      () => {
        const k = window.jupyterapp?.shell.currentWidget?.sessionContext?.session?.kernel;
        return k?.name === 'efflab' && k.status === 'idle';
      },
      undefined,
      { timeout: 120_000 },
    );
  }

  /** Runs cell `i` through JupyterLab's own command (as Shift+Enter would). */
  async runCell(i: number): Promise<void> {
    await this.page.evaluate((index) => {
      const app = window.jupyterapp!;
      app.shell.currentWidget!.content.activeCellIndex = index;
      void app.commands.execute('notebook:run-cell');
    }, i);
  }

  cell(i: number) {
    return this.page.locator('.jp-NotebookPanel .jp-Notebook .jp-Cell').nth(i);
  }

  /** The text of cell `i`'s first output containing `marker` (waits up to `ms`). */
  async output(i: number, marker: string, ms = 120_000): Promise<string> {
    const out = this.cell(i).locator('.jp-OutputArea-output', { hasText: marker });
    await out.first().waitFor({ timeout: ms });
    return (await out.first().innerText()).trim();
  }

  /** All output text of cell `i` (for failure messages). */
  async outputs(i: number): Promise<string> {
    return this.cell(i)
      .locator('.jp-OutputArea')
      .innerText()
      .catch(() => '');
  }

  async shot(name: string): Promise<void> {
    await this.page.screenshot({ path: join(this.artifacts, `${name}.png`) }).catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.context?.close();
    if (this.lab && this.lab.exitCode === null) {
      this.lab.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      if (this.lab.exitCode === null) this.lab.kill('SIGKILL');
    }
    mkdirSync(this.artifacts, { recursive: true });
    writeFileSync(join(this.artifacts, 'jupyterlab.log'), this.log);
    if (this.workDir) rmSync(this.workDir, { recursive: true, force: true });
  }
}
