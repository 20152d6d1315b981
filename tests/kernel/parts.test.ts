// Kernel parts in process: history, traceback mapping, comms, module resolution, display API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { History } from '../../kernel/src/history';
import { mapLine, runtimeReport, compileReport } from '../../kernel/src/traceback';
import { CommManager } from '../../kernel/src/comms';
import { createPathMapper } from '../../kernel/src/resolution';
import type { JsonObject } from '../../kernel/src/wire';
import {
  clearOutput,
  display,
  html,
  image,
  plotly,
  progress,
  represent,
  setKernelBridge,
  table,
  type KernelBridge,
  type MimeBundle,
  type PublishOptions,
} from '../../src/display';

test('history: tail, range, search (glob, unique, n) and persistence across sessions', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'efflab-hist-'));
  const first = new History(dir);
  first.record(1, '6*7', '42');
  first.record(2, 'const a = 1', null);
  await first.flush();
  const second = new History(dir);
  assert.equal(second.session, first.session + 1);
  second.record(1, '6*7', '42');
  second.record(2, 'a + 1', '2');
  assert.deepEqual(
    second.tail(3).map((e) => [e.session, e.line, e.input]),
    [
      [first.session, 2, 'const a = 1'],
      [second.session, 1, '6*7'],
      [second.session, 2, 'a + 1'],
    ],
  );
  assert.equal(second.range(0, 2, 3)[0].input, 'a + 1');
  assert.equal(second.range(-1, 1, null).length, 2);
  assert.equal(second.search('6?7', null, false).length, 2);
  assert.equal(second.search('6?7', null, true).length, 1);
  assert.equal(second.search('*', 1, false)[0].input, 'a + 1');
});

test('history: lines reach the session file after the turn that recorded them, without a flush', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'efflab-hist-'));
  const history = new History(dir);
  const file = path.join(dir, `session-${history.session}.jsonl`);
  history.record(1, '6*7', '42');
  history.record(2, 'const a = 1', null);
  // Not yet: the write waits for the next turn, after the reply.
  assert.equal(existsSync(file) ? readFileSync(file, 'utf8') : '', '');
  await new Promise((resolve) => setImmediate(resolve));
  for (let i = 0; i < 100 && readFileSync(file, 'utf8').split('\n').length < 3; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
  const lines = readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { line: number; input: string });
  assert.deepEqual(
    lines.map((e) => [e.line, e.input]),
    [
      [1, '6*7'],
      [2, 'const a = 1'],
    ],
  );
  history.record(3, 'a + 1', '2');
  await history.flush();
  assert.equal(readFileSync(file, 'utf8').trim().split('\n').length, 3);
});

test('traceback: JavaScript lines map back to the TypeScript line', () => {
  const ts =
    'const n: number = 2;\n\nfunction f(x: number): void {\n  throw new Error(`bad ${x}`);\n}\nf(n);';
  const js =
    '(function(exports, require) { Object.defineProperty(exports, "__esModule", { value: true });\nconst n = 2;\nexports.n = n;\nfunction f(x) {\n    throw new Error(`bad ${x}`);\n}\nf(exports.n);\n})';
  assert.equal(mapLine({ ts, js }, 5), 4);
  assert.equal(mapLine({ ts, js }, 7), 6);
  const error = new Error('bad 2');
  error.stack =
    'Error: bad 2\n    at f (<cell 4>:5:11)\n    at <cell 4>:7:1\n    at Script.runInThisContext (node:vm:1:1)';
  const report = runtimeReport(error, (n) => (n === 4 ? { ts, js } : undefined));
  assert.equal(report.ename, 'Error');
  const text = report.traceback.join('\n');
  assert.match(text, /Cell \[4\]\S*, line 4, in f/);
  assert.match(text, /Cell \[4\]\S*, line 6/);
  assert.doesNotMatch(text, /node:vm/);
  const compile = compileReport(
    [{ line: 2, column: 3, message: "Cannot find name 'y'." }],
    9,
    'let x = 1;\nx + y;',
  );
  assert.equal(compile.ename, 'TSError');
  assert.match(compile.traceback.join('\n'), /Cell \[9\]\S*, line 2, column 3/);
});

test('comms: kernel-opened comm, queued and awaited messages, frontend-opened targets', async () => {
  const sent: [string, JsonObject, Buffer[]][] = [];
  const errors: unknown[] = [];
  const manager = new CommManager(
    (type, content, _m, buffers) => sent.push([type, content, buffers]),
    (e) => errors.push(e),
  );
  const comm = manager.open('t', { a: 1 }, { buffers: [new Uint8Array([9])] });
  assert.equal(sent[0][0], 'comm_open');
  assert.deepEqual(sent[0][2], [Buffer.from([9])]);
  const waiting = comm.nextMessage();
  manager.handleMessage({ comm_id: comm.id, data: { answer: 42 } }, {}, []);
  assert.deepEqual((await waiting).data, { answer: 42 });
  manager.handleMessage({ comm_id: comm.id, data: { queued: true } }, {}, []);
  assert.deepEqual((await comm.nextMessage()).data, { queued: true });
  await assert.rejects(comm.nextMessage({ timeoutMs: 20 }), /within 20 ms/);
  assert.deepEqual(manager.info(), { [comm.id]: { target_name: 't' } });
  const pending = comm.nextMessage();
  manager.handleClose({ comm_id: comm.id }, {}, []);
  await assert.rejects(pending, /closed/);
  assert.deepEqual(manager.info(), {});

  manager.registerTarget('echo', (c, open) => {
    c.onMessage((m) => c.send({ echo: m.data, open: open.data }));
    c.onMessage(() => {
      throw new Error('second handler fails');
    });
  });
  manager.handleOpen({ comm_id: 'x', target_name: 'echo', data: { hi: 1 } }, {}, []);
  manager.handleMessage({ comm_id: 'x', data: { q: 2 } }, {}, []);
  assert.deepEqual(sent.at(-1)?.[1], { comm_id: 'x', data: { echo: { q: 2 }, open: { hi: 1 } } });
  assert.equal(errors.length, 1);
  manager.handleOpen({ comm_id: 'y', target_name: 'missing', data: {} }, {}, []);
  assert.equal(sent.at(-1)?.[0], 'comm_close');
});

test('resolution: <notebook>/node_modules falls back to the library and its dependencies', () => {
  const map = createPathMapper('/nb', '/lib', (p) => p === '/nb/node_modules/own');
  assert.equal(map('/nb/node_modules/efflab/package.json'), '/lib/package.json');
  assert.equal(map('/nb/node_modules/@types/node/index.d.ts'), '/lib/node_modules/@types/node/index.d.ts');
  assert.equal(map('/nb/node_modules/own'), '/nb/node_modules/own');
  assert.equal(map('/elsewhere/x.ts'), '/elsewhere/x.ts');
});

test('display API: bundles, display ids, updates, clear_output, progress bar', () => {
  const published: [MimeBundle, PublishOptions][] = [];
  const cleared: boolean[] = [];
  const bridge: KernelBridge = {
    publishDisplay: (b, o) => published.push([b, o]),
    clearOutput: (w) => cleared.push(w),
    openComm: () => {
      throw new Error('unused');
    },
    registerCommTarget: () => () => undefined,
    input: async () => '',
  };
  setKernelBridge(bridge);
  try {
    const handle = display(html('<i>x</i>'));
    handle.update(html('<i>y</i>'));
    assert.equal(published[0][0]['text/html'], '<i>x</i>');
    assert.equal(published[1][1].update, true);
    assert.equal(published[1][1].displayId, handle.displayId);
    clearOutput({ wait: true });
    assert.deepEqual(cleared, [true]);

    const fig = represent(plotly({ data: [{ type: 'bar', x: [1], y: [2] }], layout: { title: 'T' } }));
    assert.deepEqual(Object.keys(fig.data).sort(), [
      'application/vnd.plotly.v1+json',
      'text/html',
      'text/plain',
    ]);
    assert.match(String(fig.data['text/plain']), /1 trace\(s\) \(bar\), "T"/);

    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0]);
    const img = represent(image(png, { width: 10 }));
    assert.equal(img.data['image/png'], Buffer.from(png).toString('base64'));
    assert.deepEqual(img.metadata, { 'image/png': { width: 10 } });

    const t = represent(table([{ a: 1, b: 'x<y' }, { a: 2.5 }]));
    assert.match(String(t.data['text/html']), /<th>a<\/th><th>b<\/th>/);
    assert.match(String(t.data['text/html']), /x&#60;y/);

    published.length = 0;
    const bar = progress({ total: 4, label: 'train', intervalMs: 0 });
    bar.tick();
    bar.tick();
    bar.done('loss 0.1');
    const ids = new Set(published.map(([, o]) => o.displayId));
    assert.equal(ids.size, 1, 'one display, updated in place');
    assert.equal(published[0][1].update, false);
    assert.ok(published.slice(1).every(([, o]) => o.update === true));
    const last = String(published.at(-1)?.[0]['text/plain']);
    assert.match(last, /^train \[#+\] 4\/4 \(100%\)/);
    assert.match(last, /loss 0\.1$/);
  } finally {
    setKernelBridge(undefined);
  }
});

test('data frames (danfojs shape) become HTML tables with a text fallback', () => {
  class DataFrame {
    columns = ['x', 'y'];
    index = [0, 1];
    values = [
      [1, 0.5],
      [2, NaN],
    ];
    shape = [2, 2];
  }
  const rep = represent(new DataFrame());
  assert.match(String(rep.data['text/html']), /class="dataframe"/);
  assert.match(String(rep.data['text/plain']), /\[2 rows x 2 columns\]/);
  assert.equal(represent(42).data['text/plain'], '42');
});
