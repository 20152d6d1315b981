/**
 * End to end: JupyterLab from .venv with the efflab extension, driven in headless Debian Chromium.
 * A notebook on the efflab kernel shows 5 candidate rules; we annotate them with the mouse and the
 * keyboard, undo, submit, check what the kernel received, reload and check nothing was lost; then a live
 * plot must redraw while points stream in, the weight tracker and the layer-sensitivity view must render.
 * Screenshots go to test-artifacts/e2e/. Run alone with `npm run test:e2e`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { freePort, notebookJson } from '../ui/lab';

// The page-side callbacks below run in Chromium. The root tsconfig has no DOM library, so the few browser
// globals they touch are declared here, locally to this module.
interface PageNode {
  textContent: string | null;
  dataset: Record<string, string | undefined>;
  querySelector(selector: string): PageNode | null;
  querySelectorAll(selector: string): ArrayLike<PageNode>;
}
declare const document: PageNode;
declare const window: { jupyterapp?: unknown };
declare function requestAnimationFrame(callback: () => void): number;

const ROOT = resolve(__dirname, '..', '..');
const JUPYTER = join(ROOT, '.venv', 'bin', 'jupyter');
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(ROOT, 'test-artifacts', 'e2e');
const TOKEN = 'efflab-e2e-token';
const STORE = 'e2e-rules';

const CANDIDATES = [
  {
    id: 'r1',
    label: 'Sports',
    prompt: '[MASK] News: Liverpool won the derby.',
    words: ['Football', 'Soccer', 'Team'],
  },
  { id: 'r2', label: 'Business', prompt: '[MASK] News: Shares of Acme rose 5%.', words: ['Market', 'Stock'] },
  {
    id: 'r3',
    label: 'World',
    prompt: '[MASK] News: Talks resumed in Geneva.',
    words: ['Diplomacy', 'Peace'],
  },
  {
    id: 'r4',
    label: 'Sci/Tech',
    prompt: '[MASK] News: A new chip <b>doubles</b> speed.',
    words: ['Tech', 'Chip'],
  },
  {
    id: 'r5',
    label: 'Sports',
    prompt: '[MASK] News: The league table <script>x</script>.',
    words: ['Sport'],
  },
].map((c) => ({ ...c, instance: c.prompt.replace('[MASK] News: ', '') }));

/** Rows the cell's matcher searches: a candidate matches a row containing one of its kept words. */
const CORPUS = [
  'Football: the derby ends 2-1',
  'Soccer <img src=x onerror=alert(1)> fans celebrate',
  'Team news before the final',
  'Soccer league table',
  'Market falls on rate fears',
];

const CELLS = [
  // 0: the annotation widget (awaits the human)
  `import { widgets } from 'efflab';
const candidates = ${JSON.stringify(CANDIDATES)};
const corpus = ${JSON.stringify(CORPUS)};
const preview = (c: { words: readonly string[] }) => {
  const rows = corpus.filter((t) => c.words.some((w) => t.toLowerCase().includes(w.toLowerCase())));
  return { count: rows.length, total: corpus.length, examples: rows.map((text) => ({ text })) };
};
const result = await widgets.annotateRules(candidates, { store: '${STORE}', annotator: 'tester', title: 'E2E rules', connectTimeoutMs: 120000, preview });`,
  // 1: what the kernel received
  `console.log('DECISIONS ' + JSON.stringify(result.decisions.map((d) => [d.candidateId, d.verdict, d.keptWords])));`,
  // 2: a live training curve: slow appends, then a 10,000-point burst, then an in-place update
  `const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const plot = widgets.livePlot({ data: [{ type: 'scatter', mode: 'lines', name: 'loss', x: [], y: [] }], layout: { title: { text: 'live loss' } } }, { intervalMs: 20 });
for (let i = 0; i < 40; i++) { plot.append(0, i, Math.exp(-i / 10)); await sleep(75); }
for (let i = 40; i < 10040; i++) plot.append(0, i, Math.exp(-i / 10) + 0.01 * Math.sin(i));
await sleep(400);
plot.update({ title: { text: 'live loss (updated)' } });
await sleep(300);
console.log('PLOT DONE ' + plot.length(0));`,
  // 3: DORM weight tracker
  `const tracker = widgets.weightTracker({ groups: ['web', 'books', 'code'], intervalMs: 20 });
for (let step = 1; step <= 20; step++) {
  const w = Array.from({ length: 500 }, (_, i) => Math.abs(Math.sin(i * step)) * 2);
  tracker.log(step, [0.5 + 0.01 * step, 0.3, 0.2 - 0.01 * step], w);
  await sleep(30);
}
await sleep(200);
console.log('TRACKER DONE');`,
  // 4: LoRC layer-sensitivity view (last value of the cell)
  `const n = 6;
const spectra = Array.from({ length: n }, (_, l) => Array.from({ length: 16 }, (_, k) => 10 * Math.exp(-k / (2 + l))));
widgets.sensitivityView({
  condK: spectra.map((s) => s[0] / s[15]), condV: [3, 4, 5, 6, 7, 8], rank: [16, 14, 12, 10, 8, 6], fullDim: 16,
  error: [0, 0.01, 0.03, 0.05, 0.08, 0.12], spectraK: spectra,
}, { title: 'E2E sensitivity' })`,
  // 5: a second waiting widget, for the page-reload recovery
  `const waited = await widgets.annotateRules(candidates.slice(0, 2), { store: 'e2e-wait', annotator: 'tester', title: 'Waiting rules', connectTimeoutMs: 120000 });`,
  // 6: what the recovered widget submitted
  `console.log('WAITED ' + JSON.stringify(waited.decisions.map((d) => [d.candidateId, d.verdict, typeof d.durationMs])));`,
];

async function waitForHttp(url: string, ms: number, lab: ChildProcess): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (lab.exitCode !== null) throw new Error(`JupyterLab exited with code ${lab.exitCode} before serving`);
    try {
      const r = await fetch(url);
      if (r.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`JupyterLab did not answer ${url} within ${ms / 1000} s`);
}

let lab: ChildProcess | null = null;
let labLog = '';
let context: BrowserContext | null = null;
let page: Page;
let workDir = '';
let labUrl = '';
const started = Date.now();

before(async () => {
  for (const [what, path] of [
    ['JupyterLab in .venv (run npm run setup)', JUPYTER],
    ['Debian chromium (run npm run setup)', CHROMIUM],
  ] as const) {
    if (!existsSync(path)) throw new Error(`e2e needs ${what}: ${path} is missing`);
  }
  const list = spawnSync(JUPYTER, ['labextension', 'list'], { encoding: 'utf8' });
  if (!/efflab-extension.*enabled.*OK/.test(list.stdout + list.stderr)) {
    throw new Error(
      `the efflab extension is not installed in .venv (run npm run setup):\n${list.stdout}${list.stderr}`,
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  workDir = mkdtempSync(join(tmpdir(), 'efflab-e2e-'));
  writeFileSync(join(workDir, 'e2e.ipynb'), notebookJson(CELLS));
  const port = await freePort();
  lab = spawn(
    JUPYTER,
    [
      'lab',
      '--no-browser',
      `--port=${port}`,
      '--ip=127.0.0.1',
      `--IdentityProvider.token=${TOKEN}`,
      ...(process.getuid?.() === 0 ? ['--allow-root'] : []),
      `--ServerApp.root_dir=${workDir}`,
      '--LabApp.expose_app_in_browser=True',
      '--LabApp.news_url=None',
      '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
    ],
    {
      cwd: workDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        JUPYTER_CONFIG_DIR: join(workDir, '.jupyter'),
        JUPYTER_RUNTIME_DIR: join(workDir, '.runtime'),
      },
    },
  );
  lab.stdout?.on('data', (d: Buffer) => (labLog += d.toString()));
  lab.stderr?.on('data', (d: Buffer) => (labLog += d.toString()));
  labUrl = `http://127.0.0.1:${port}`;
  await waitForHttp(`${labUrl}/api/status?token=${TOKEN}`, 60_000, lab);
  context = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), 'efflab-chromium-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 1000 },
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(60_000);
  await openNotebook();
});

after(async () => {
  await context?.close();
  if (lab && lab.exitCode === null) {
    lab.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    if (lab.exitCode === null) lab.kill('SIGKILL');
  }
  writeFileSync(join(ARTIFACTS, 'jupyterlab.log'), labLog);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
  console.log(`e2e wall time: ${((Date.now() - started) / 1000).toFixed(1)} s`);
});

async function openNotebook(): Promise<void> {
  await page.goto(`${labUrl}/lab/tree/e2e.ipynb?token=${TOKEN}&reset`);
  await page.waitForSelector('body[data-efflab-extension="active"]', { state: 'attached' });
  await page.waitForSelector('.jp-NotebookPanel .jp-Cell');
  // Wait for the efflab kernel to be idle.
  await page.waitForFunction(
    () => {
      type Lab = {
        shell: {
          currentWidget: {
            sessionContext?: { session?: { kernel?: { status: string; name: string } } };
          } | null;
        };
      };
      const app = (window as unknown as { jupyterapp?: Lab }).jupyterapp;
      const k = app?.shell.currentWidget?.sessionContext?.session?.kernel;
      return k?.name === 'efflab' && k.status === 'idle';
    },
    undefined,
    { timeout: 90_000 },
  );
}

/** Runs cell `i` through JupyterLab's own command (as Shift+Enter would). */
async function runCell(i: number): Promise<void> {
  await page.evaluate(async (index) => {
    type Lab = {
      shell: { currentWidget: { content: { activeCellIndex: number } } };
      commands: { execute(id: string): Promise<unknown> };
    };
    const app = (window as unknown as { jupyterapp: Lab }).jupyterapp;
    app.shell.currentWidget.content.activeCellIndex = index;
    void app.commands.execute('notebook:run-cell');
  }, i);
}

function cell(i: number) {
  return page.locator('.jp-NotebookPanel .jp-Notebook .jp-Cell').nth(i);
}

async function outputText(i: number, marker: string): Promise<string> {
  const out = cell(i).locator('.jp-OutputArea-output', { hasText: marker });
  await out.first().waitFor({ timeout: 120_000 });
  return (await out.first().innerText()).trim();
}

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: false });
}

/** A browser test that leaves a screenshot and the notebook's text behind when it fails. */
function e2e(name: string, body: () => Promise<void>): void {
  test(name, async () => {
    try {
      await body();
    } catch (err) {
      const slug = name.replace(/[^a-z0-9]+/gi, '-').slice(0, 40);
      await shot(`FAILED-${slug}`).catch(() => undefined);
      const text = await page
        .locator('.jp-NotebookPanel .jp-Notebook')
        .innerText()
        .catch(() => '');
      writeFileSync(join(ARTIFACTS, `FAILED-${slug}.txt`), text);
      throw err;
    }
  });
}

e2e(
  'annotate 5 rules with mouse and keyboard, undo, submit: the kernel receives exactly those decisions',
  async () => {
    await runCell(0);
    const widget = cell(0).locator('.efflab-annotate');
    await widget.waitFor();
    await page.waitForFunction(
      () => document.querySelector('.efflab-ann-status')?.textContent === 'connected',
    );
    await widget.scrollIntoViewIfNeeded();
    const current = widget.locator('.efflab-ann-card');
    const progress = widget.locator('.efflab-ann-progress');
    assert.equal(await progress.innerText(), '0 / 5');
    assert.equal(await current.getAttribute('data-candidate'), 'r1');
    // Untrusted text is shown as text: the tags in r4 / r5 are visible characters, not elements.
    assert.equal(await widget.locator('b, script').count(), 0);
    assert.match(await widget.locator('.efflab-ann-list').innerText(), /<b>doubles<\/b>/);
    await shot('annotate-start');

    // The waiting widget took the keyboard focus itself: no click, no focus() call before the first key.
    assert.ok(
      await widget.evaluate((n) =>
        (n as unknown as { contains(x: unknown): boolean }).contains(
          (globalThis as unknown as { document: { activeElement: unknown } }).document.activeElement,
        ),
      ),
      'the annotation widget has the keyboard focus when it appears',
    );
    // r1 shows the rows it would label (from the bundle: the cell's matcher runs on demand).
    const matches = widget.locator('.efflab-ann-matches');
    await page.waitForFunction(() => document.querySelector('.efflab-ann-matches')?.dataset.count === '4');
    assert.match(await matches.innerText(), /Would label 4 of 5 rows/);
    assert.match(await matches.innerText(), /<img src=x onerror=alert\(1\)>/, 'row text is shown as text');
    assert.equal(await widget.locator('img').count(), 0);
    // r1: drop word 2 ("Soccer") with the keyboard: the kernel re-matches with the kept words.
    await page.keyboard.press('2');
    assert.equal(await widget.locator('.efflab-ann-word').nth(1).getAttribute('aria-pressed'), 'false');
    await page.waitForFunction(() => document.querySelector('.efflab-ann-matches')?.dataset.count === '2');
    await widget.locator('button.efflab-ann-accept').click();
    assert.equal(await current.getAttribute('data-candidate'), 'r2');
    // r2: accept with the mouse.
    await widget.locator('button.efflab-ann-accept').click();
    // r3: accept with the keyboard.
    await widget.focus();
    await page.keyboard.press('a');
    assert.equal(await current.getAttribute('data-candidate'), 'r4');
    // r4: reject, then undo the reject.
    await widget.locator('button.efflab-ann-reject').click();
    assert.equal(await progress.innerText(), '4 / 5');
    await widget.focus();
    await page.keyboard.press('u');
    assert.equal(await progress.innerText(), '3 / 5');
    assert.equal(await current.getAttribute('data-candidate'), 'r4');
    // The notebook's own shortcuts did not fire on our keys (no cell was inserted by "a").
    assert.equal(await page.locator('.jp-NotebookPanel .jp-Notebook .jp-Cell').count(), CELLS.length);
    await page.waitForFunction(() =>
      /^saved/.test(document.querySelector('.efflab-ann-status')?.textContent ?? ''),
    );
    await shot('annotate-decided');
    await widget.locator('button.efflab-ann-submit').click();
    await page.waitForFunction(() =>
      /^submitted 3/.test(document.querySelector('.efflab-ann-status')?.textContent ?? ''),
    );

    await runCell(1);
    const line = await outputText(1, 'DECISIONS');
    const received = JSON.parse(line.slice(line.indexOf('DECISIONS ') + 'DECISIONS '.length)) as unknown;
    assert.deepEqual(received, [
      ['r1', 'accept', ['Football', 'Team']],
      ['r2', 'accept', ['Market', 'Stock']],
      ['r3', 'accept', ['Diplomacy', 'Peace']],
    ]);
    const store = JSON.parse(readFileSync(join(workDir, `${STORE}.annotations.json`), 'utf8')) as {
      decisions: Record<string, Record<string, unknown>>;
    };
    assert.deepEqual(
      Object.keys(store.decisions.tester).sort(),
      ['r1', 'r2', 'r3'],
      'saved next to the notebook',
    );
  },
);

e2e('after a page reload the decisions are still there', async () => {
  await page.evaluate(async () => {
    const app = (window as unknown as { jupyterapp: { commands: { execute(id: string): Promise<unknown> } } })
      .jupyterapp;
    await app.commands.execute('docmanager:save');
  });
  await page.reload();
  await openNotebook();
  const widget = cell(0).locator('.efflab-annotate');
  await widget.waitFor();
  await page.waitForFunction(() =>
    /returned/.test(document.querySelector('.efflab-ann-status')?.textContent ?? ''),
  );
  assert.equal(await widget.locator('.efflab-ann-progress').innerText(), '3 / 5');
  const verdicts = await widget
    .locator('.efflab-ann-row')
    .evaluateAll((rows) =>
      rows.map((r) => [
        (r as unknown as PageNode).dataset.candidate,
        (r as unknown as PageNode).dataset.verdict,
      ]),
    );
  assert.deepEqual(verdicts, [
    ['r1', 'accept'],
    ['r2', 'accept'],
    ['r3', 'accept'],
    ['r4', 'none'],
    ['r5', 'none'],
  ]);
  assert.match(await outputText(1, 'DECISIONS'), /r3/);
  await widget.scrollIntoViewIfNeeded();
  await shot('annotate-after-reload');
});

e2e(
  'a live plot redraws as points stream in, stays responsive through 10,000 points, and updates in place',
  async () => {
    // A 20 ms heartbeat on the page's main thread records its longest gap while the figure streams: a frozen
    // page shows as a long gap. A deliberate 150 ms block first proves the monitor sees freezes.
    const probe = await page.evaluate(
      () =>
        new Promise<number>((res) => {
          const w = window as { efflabMaxGap?: number };
          w.efflabMaxGap = 0;
          let last = performance.now();
          setInterval(() => {
            const now = performance.now();
            w.efflabMaxGap = Math.max(w.efflabMaxGap ?? 0, now - last);
            last = now;
          }, 20);
          setTimeout(() => {
            const t = performance.now();
            while (performance.now() - t < 150) {
              // busy on purpose
            }
            setTimeout(() => res(w.efflabMaxGap ?? 0), 100);
          }, 50);
        }),
    );
    assert.ok(probe >= 140, `the freeze monitor missed a deliberate 150 ms block (longest gap ${probe} ms)`);
    await runCell(2);
    const plot = cell(2).locator('.efflab-plot');
    const timeline: string[] = [];
    const t0 = Date.now();
    const poll = setInterval(() => {
      void plot
        .getAttribute('data-redraws')
        .then((r) => timeline.push(`${Date.now() - t0}:${r}`))
        .catch(() => undefined);
    }, 250);
    await plot.waitFor();
    // Measure stalls from the first drawn frame on (loading plotly itself is not the stream's cost).
    await page.waitForFunction(
      () => Number(document.querySelector('.efflab-plot')?.dataset.redraws ?? 0) >= 1,
    );
    await page.evaluate(() => {
      (window as { efflabMaxGap?: number }).efflabMaxGap = 0;
    });
    // While the slow appends run, the redraw count climbs.
    await page.waitForFunction(
      () => Number(document.querySelector('.efflab-plot')?.dataset.redraws ?? 0) >= 5,
    );
    // The page keeps answering during the burst: a frame round trip stays short.
    const frameMs = await page.evaluate(
      () =>
        new Promise<number>((res) => {
          const t = performance.now();
          requestAnimationFrame(() => res(performance.now() - t));
        }),
    );
    assert.ok(frameMs < 1000, `a frame took ${frameMs} ms`);
    const done = await outputText(2, 'PLOT DONE');
    clearInterval(poll);
    console.log(`redraw timeline (ms:count): ${timeline.join(' ')}`);
    assert.match(done, /PLOT DONE 10040/);
    const state = await plot.evaluate((n) => ({
      redraws: Number((n as unknown as PageNode).dataset.redraws),
      points: Number((n as unknown as PageNode).dataset.points),
      title: n.querySelector('.gtitle')?.textContent ?? '',
    }));
    assert.equal(state.points, 10_040);
    const longest = await page.evaluate(() =>
      Number((window as { efflabMaxGap?: number }).efflabMaxGap ?? 0),
    );
    console.log(
      `live plot: ${state.redraws} redraws for 10,040 points; longest main-thread stall ${longest.toFixed(0)} ms`,
    );
    assert.ok(longest < 1500, `the page froze for ${longest} ms while points streamed`);
    assert.ok(state.redraws >= 8, `only ${state.redraws} redraws`);
    assert.ok(state.redraws < 200, `${state.redraws} redraws: the stream was not throttled`);
    assert.equal(state.title, 'live loss (updated)', 'update_display_data redrew the figure');
    await plot.scrollIntoViewIfNeeded();
    await shot('live-plot');
  },
);

e2e('the weight tracker shows one line per group and a histogram', async () => {
  await runCell(3);
  await outputText(3, 'TRACKER DONE');
  const plot = cell(3).locator('.efflab-plot');
  await page.waitForFunction(() => {
    const n = document.querySelectorAll('.efflab-plot')[1];
    return (
      n &&
      n.querySelectorAll('.scatterlayer .trace').length === 3 &&
      n.querySelectorAll('.barlayer .point').length > 0
    );
  });
  assert.ok(Number(await plot.getAttribute('data-redraws')) >= 2);
  await plot.scrollIntoViewIfNeeded();
  await shot('weight-tracker');
});

e2e('the layer-sensitivity view renders, and selecting a layer shows its spectrum', async () => {
  await runCell(4);
  const view = cell(4).locator('.efflab-sensitivity');
  await view.waitFor();
  await view.locator('.efflab-sens-main .main-svg').first().waitFor();
  assert.match(await view.locator('.efflab-sens-title').innerText(), /E2E sensitivity/);
  assert.equal(
    await view.locator('.efflab-sens-main .barlayer .trace').count(),
    3,
    'κ(W_k), κ(W_v), d_c bars',
  );
  await view.locator('select.efflab-sens-picker').selectOption('3');
  await page.waitForFunction(() =>
    /layer 3/.test(document.querySelector('.efflab-sens-spectrum .gtitle')?.textContent ?? ''),
  );
  assert.equal(await view.locator('.efflab-sens-spectrum').getAttribute('data-layer'), 'layer 3');
  assert.match(await view.locator('.efflab-sens-note').innerText(), /d_c = 10/);
  await view.scrollIntoViewIfNeeded();
  await shot('sensitivity');
  // Theme-aware: switching to the dark theme redraws the figures in the theme's font colour.
  const tickColour = () =>
    view
      .locator('.efflab-sens-main .xtick text')
      .first()
      .evaluate((t) => t.getAttribute('style') ?? '');
  const light = await tickColour();
  await page.evaluate(async () => {
    const app = window.jupyterapp as { commands: { execute(id: string, args: object): Promise<unknown> } };
    await app.commands.execute('apputils:change-theme', { theme: 'JupyterLab Dark' });
  });
  await page.waitForSelector('body[data-jp-theme-light="false"]', { state: 'attached' });
  await page.waitForFunction((before) => {
    const t = document.querySelector('.efflab-sens-main .xtick text') as unknown as {
      getAttribute(n: string): string | null;
    };
    return (t?.getAttribute('style') ?? '') !== before;
  }, light);
  assert.notEqual(await tickColour(), light);
  await shot('sensitivity-dark');
  await page.evaluate(async () => {
    const app = window.jupyterapp as { commands: { execute(id: string, args: object): Promise<unknown> } };
    await app.commands.execute('apputils:change-theme', { theme: 'JupyterLab Light' });
  });
});

e2e('after a kernel restart, re-running the cell resumes from the saved decisions', async () => {
  await page.evaluate(async () => {
    type Lab = {
      shell: { currentWidget: { sessionContext: { session: { kernel: { restart(): Promise<void> } } } } };
    };
    await (window.jupyterapp as Lab).shell.currentWidget.sessionContext.session.kernel.restart();
  });
  // Running the cell queues it until the restarted kernel answers; the widget then connects to the new kernel.
  await runCell(0);
  await page.waitForFunction(
    () => document.querySelector('.efflab-ann-status')?.textContent === 'connected',
    undefined,
    { timeout: 120_000 },
  );
  const widget = cell(0).locator('.efflab-annotate');
  assert.equal(await widget.locator('.efflab-ann-progress').innerText(), '3 / 5');
  assert.equal(
    await widget.locator('.efflab-ann-card').getAttribute('data-candidate'),
    'r4',
    'resumes at the first undecided',
  );
  await widget.scrollIntoViewIfNeeded();
  await shot('annotate-after-restart');
  await widget.locator('button.efflab-ann-submit').click();
  await page.waitForFunction(() =>
    /^submitted 3/.test(document.querySelector('.efflab-ann-status')?.textContent ?? ''),
  );
});

e2e(
  'a page reload while a cell waits on the widget brings the widget back with its saved decisions',
  async () => {
    await runCell(5);
    const widget = cell(5).locator('.efflab-annotate');
    await widget.waitFor();
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('.efflab-ann-status') as ArrayLike<PageNode>).some(
        (n) => n.textContent === 'connected',
      ),
    );
    await page.keyboard.press('r'); // the waiting widget has the focus: reject the first candidate
    await page.waitForFunction(() =>
      Array.from(document.querySelectorAll('.efflab-ann-status') as ArrayLike<PageNode>).some((n) =>
        /^saved/.test(n.textContent ?? ''),
      ),
    );
    // The output of a running cell is not in the saved file: clear it, save, reload.
    await page.evaluate(async () => {
      type Lab = {
        shell: { currentWidget: { content: { activeCellIndex: number } } };
        commands: { execute(id: string): Promise<unknown> };
      };
      const app = (window as unknown as { jupyterapp: Lab }).jupyterapp;
      app.shell.currentWidget.content.activeCellIndex = 5;
      await app.commands.execute('notebook:clear-cell-output');
      await app.commands.execute('docmanager:save');
    });
    await page.reload();
    // The kernel stays busy (the cell still waits), so wait for the notebook, not for an idle kernel.
    await page.waitForSelector('body[data-efflab-extension="active"]', { state: 'attached' });
    await page.waitForSelector('.jp-NotebookPanel .jp-Cell');
    const back = page.locator('.efflab-annotate', { hasText: 'Waiting rules' });
    await back.waitFor({ timeout: 60_000 });
    await page.waitForFunction(() =>
      /page was reloaded|connected/.test(
        Array.from(document.querySelectorAll('.efflab-annotate') as ArrayLike<PageNode>)
          .map((n) => n.textContent ?? '')
          .join(' '),
      ),
    );
    // The saved decisions come from the kernel after the widget reconnects: wait for them (a widget
    // that never restores them fails here with its progress text).
    const progress = back.locator('.efflab-ann-progress');
    await progress
      .filter({ hasText: '1 / 2' })
      .waitFor({ timeout: 30_000 })
      .catch(async () => assert.fail(`saved decision not restored: progress ${await progress.innerText()}`));
    assert.equal(await progress.innerText(), '1 / 2');
    await shot('annotate-recovered');
    await back.locator('button.efflab-ann-accept').click();
    await back.locator('button.efflab-ann-submit').click();
    await back.locator('.efflab-ann-status', { hasText: 'submitted 2' }).waitFor();
    // Back to the notebook tab (the recovered panel took the focus), then read what the cell received.
    await page.locator('.lm-TabBar-tab', { hasText: 'e2e.ipynb' }).first().click();
    await runCell(6);
    const line = await outputText(6, 'WAITED');
    assert.match(line, /WAITED \[\["r1","reject","number"\],\["r2","accept","number"\]\]/);
  },
);
