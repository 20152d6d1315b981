import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setKernelBridge, type JsonObject } from '../../src/display/bridge';
import {
  annotateRules,
  storeAgreement,
  livePlot,
  sensitivityBundle,
  sensitivityView,
  weightTracker,
  histogram,
} from '../../src/widgets';
import { AnnotationStore, storePath } from '../../src/widgets/store';
import {
  ANNOTATE_MIME,
  ANNOTATE_TARGET,
  PLOTLY_MIME,
  SENSITIVITY_MIME,
  STREAM_TARGET,
} from '../../src/protocol';
import type { RuleCandidate } from '../../src/protocol';
import { FakeBridge } from './fake-bridge';
import { ConfigError, EfflabError, FileFormatError, ShapeError, ValueError } from '../../src/errors';
import type { SensitivityInput } from '../../src/widgets';

const candidates: RuleCandidate[] = ['a', 'b', 'c'].map((id, i) => ({
  id,
  prompt: `<b>x</b> [MASK] ${i}`,
  label: i === 1 ? 'Sports' : 'World',
  words: ['w1', 'w2'],
  instance: `instance <script>${i}</script>`,
}));

let dir = '';
let bridge: FakeBridge;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'efflab-widgets-'));
  bridge = new FakeBridge();
  setKernelBridge(bridge);
});
afterEach(() => {
  setKernelBridge(undefined);
  rmSync(dir, { recursive: true, force: true });
});

const decision = (candidateId: string, verdict: string, keptWords = ['w1', 'w2']): JsonObject => ({
  candidateId,
  verdict,
  keptWords,
  annotator: 'ann',
  decidedAt: '2026-01-01T00:00:00.000Z',
});

test('annotateRules: shows the widget, saves each decision as it arrives, resolves on submit', async () => {
  const pending = annotateRules(candidates, { dir, store: 'demo', annotator: 'ann' });
  const shown = bridge.displays[0].bundle;
  const data = shown[ANNOTATE_MIME] as JsonObject;
  assert.equal(data.store, 'demo');
  assert.match(String(shown['text/plain']), /3 candidate rules/);
  const fallback = String(shown['text/html']);
  assert.match(fallback, /<table>/);
  assert.match(fallback, /&#60;b&#62;x/);
  assert.doesNotMatch(fallback, /<b>x|<script>/, 'candidate text is escaped in the HTML fallback');
  const comm = bridge.open(ANNOTATE_TARGET, { session: data.session as string, store: 'demo' });
  assert.deepEqual(comm.sent[0], { type: 'state', decisions: [], active: true });
  comm.receive({ type: 'decide', decision: decision('a', 'accept', ['w2']) });
  const file = storePath('demo', dir);
  assert.equal(AnnotationStore.open(file).of('ann').length, 1, 'saved before submit');
  comm.receive({ type: 'decide', decision: decision('b', 'reject') });
  comm.receive({ type: 'decide', decision: decision('c', 'accept') });
  comm.receive({ type: 'retract', candidateId: 'c', annotator: 'ann' });
  comm.receive({ type: 'decide', decision: decision('zzz', 'accept') });
  assert.match(String(comm.sent.at(-1)?.message), /unknown candidate id "zzz"/);
  comm.receive({ type: 'submit', annotator: 'ann' });
  const res = await pending;
  assert.deepEqual(
    res.decisions.map((d) => [d.candidateId, d.verdict]),
    [
      ['a', 'accept'],
      ['b', 'reject'],
    ],
  );
  assert.deepEqual(res.accepted, [{ ...candidates[0], words: ['w2'] }]);
  assert.equal(res.store, file);
  assert.deepEqual(comm.sent.at(-1), { type: 'submitted', annotator: 'ann', count: 2 });
  const onDisk = JSON.parse(readFileSync(file, 'utf8'));
  assert.deepEqual(Object.keys(onDisk.decisions.ann).sort(), ['a', 'b']);
});

test('annotateRules: a re-run (or a widget reopened after the call returned) resumes from the store', async () => {
  writeFileSync(
    storePath('demo', dir),
    JSON.stringify({ format: 'efflab.annotations.v1', decisions: { ann: { a: decision('a', 'skip') } } }),
  );
  const pending = annotateRules(candidates, { dir, store: 'demo', connectTimeoutMs: 5000 });
  const data = bridge.displays[0].bundle[ANNOTATE_MIME] as JsonObject;
  const comm = bridge.open(ANNOTATE_TARGET, { session: data.session as string, store: 'demo' });
  const state = comm.sent[0] as { decisions: unknown[]; active: boolean };
  assert.equal(state.active, true);
  assert.deepEqual(state.decisions, [decision('a', 'skip')]);
  comm.receive({ type: 'submit', annotator: 'ann' });
  const res = await pending;
  assert.deepEqual(
    res.decisions.map((d) => d.verdict),
    ['skip'],
  );
  // After the call returned, a reopened widget still sees the decisions, marked inactive.
  const later = bridge.open(ANNOTATE_TARGET, { session: data.session as string, store: 'demo' });
  assert.equal((later.sent[0] as { active: boolean }).active, false);
  assert.equal((later.sent[0] as { decisions: unknown[] }).decisions.length, 1);
});

test('annotateRules: headless with an oracle function, which resumes and skips what is decided', async () => {
  const calls: string[] = [];
  const oracle = (c: RuleCandidate) => {
    calls.push(c.id);
    return c.label === 'Sports' ? { verdict: 'accept' as const, keptWords: ['w1'] } : 'reject';
  };
  setKernelBridge(undefined);
  const res = await annotateRules(candidates, { dir, annotator: oracle, name: 'oracle' });
  assert.deepEqual(calls, ['a', 'b', 'c']);
  assert.deepEqual(
    res.accepted.map((c) => [c.id, c.words]),
    [['b', ['w1']]],
  );
  const again = await annotateRules(candidates, { dir, annotator: oracle, name: 'oracle' });
  assert.deepEqual(calls, ['a', 'b', 'c'], 'nothing re-judged');
  assert.equal(again.decisions.length, 3);
  // A second oracle that disagrees on "c": agreement over the 3 candidates both judged.
  await annotateRules(candidates, {
    dir,
    annotator: (c) => (c.id === 'a' ? 'reject' : 'accept'),
    name: 'other',
  });
  const agr = storeAgreement('rules', { dir });
  assert.deepEqual(agr.annotators, ['oracle', 'other']);
  // Pairs agree on a (reject) and b (accept), differ on c: P̄ = 2/3; p_accept = 3/6 → P̄e = 1/2; κ = 1/3.
  assert.ok(Math.abs(agr.kappa - 1 / 3) < 1e-12, `κ = ${agr.kappa}`);
  await assert.rejects(
    annotateRules(candidates, { dir, annotator: () => 'maybe' as 'accept', name: 'bad' }),
    /annotator function returned "maybe" for candidate "a"/,
  );
});

test('annotateRules: with no frontend and no function it fails after the stated timeout; outside a kernel at once', async () => {
  const t = Date.now();
  await assert.rejects(
    annotateRules(candidates, { dir, connectTimeoutMs: 200 }),
    /no frontend opened the annotation widget within 0.2 s.*options\.annotator as a function/s,
  );
  assert.ok(Date.now() - t >= 190);
  setKernelBridge(undefined);
  await assert.rejects(
    annotateRules(candidates, { dir }),
    /no efflab kernel.*options\.annotator as a function/s,
  );
  await assert.rejects(annotateRules([], { dir }), /candidates is empty/);
  await assert.rejects(annotateRules(candidates, { dir, store: '../evil' }), /store name "..\/evil" must be/);
});

test('annotateRules: a widget that stops pinging, or no Submit within timeoutMs, fails with the saved count', async () => {
  const pending = annotateRules(candidates, { dir, store: 'live', livenessMs: 300 });
  const data = bridge.displays[0].bundle[ANNOTATE_MIME] as JsonObject;
  const comm = bridge.open(ANNOTATE_TARGET, { session: data.session as string, store: 'live' });
  comm.receive({ type: 'decide', decision: decision('a', 'accept') });
  // Pings keep the call alive well past the liveness window ...
  for (let i = 0; i < 5; i++) {
    await new Promise((r) => setTimeout(r, 150));
    comm.receive({ type: 'ping' });
  }
  // ... silence ends it, with the decision kept on disk.
  await assert.rejects(
    pending,
    /not been heard from for 0.3 s \(was the page closed\?\)\. 1 decisions are saved in .*live\.annotations\.json; re-run the cell/,
  );
  assert.equal(AnnotationStore.open(storePath('live', dir)).of('ann').length, 1);

  const slow = annotateRules(candidates, { dir, store: 'live', timeoutMs: 200 });
  const d2 = bridge.displays[1].bundle[ANNOTATE_MIME] as JsonObject;
  bridge.open(ANNOTATE_TARGET, { session: d2.session as string, store: 'live' });
  await assert.rejects(slow, /no Submit within options\.timeoutMs = 0\.2 s/);
  await assert.rejects(annotateRules(candidates, { dir, timeoutMs: 0 }), /timeoutMs must be > 0, got 0/);
});

test('livePlot: batches appends into few comm messages and resets a newly attached frontend', async () => {
  const plot = livePlot({ data: [{ type: 'scatter', x: [], y: [] }] }, { intervalMs: 20 });
  const shown = bridge.displays[0].bundle[PLOTLY_MIME] as { efflab: { stream: string } };
  assert.equal(typeof shown.efflab.stream, 'string');
  assert.match(String(bridge.displays[0].bundle['text/plain']), /scatter/);
  const comm = bridge.open(STREAM_TARGET, { stream: shown.efflab.stream });
  assert.equal(comm.sent[0].type, 'reset');
  for (let i = 0; i < 10_000; i++) plot.append(0, i, Math.sin(i));
  await new Promise((r) => setTimeout(r, 60));
  const extends_ = comm.sent.filter((m) => m.type === 'extend');
  assert.equal(extends_.length, 1, 'a synchronous burst is one message');
  assert.equal((extends_[0].x as number[][])[0].length, 10_000);
  assert.throws(() => plot.append(1, 0, 0), /trace 1 does not exist/);
  assert.throws(() => plot.append(0, 0, NaN), /y\[0\]\[0\] is NaN|not a finite number/);
  plot.close();
  const last = bridge.displays.at(-1)!;
  assert.equal(last.options.update, true);
  assert.equal((last.bundle[PLOTLY_MIME] as { data: { x: number[] }[] }).data[0].x.length, 10_000);
  assert.equal(comm.closed, true);
  const stale = bridge.open(STREAM_TARGET, { stream: shown.efflab.stream });
  assert.equal(stale.closed, true, 'a closed figure refuses new subscribers');
});

test('weightTracker: group lines grow per step, the histogram is replaced', async () => {
  const tr = weightTracker({ groups: ['web', 'books'], bins: 4, intervalMs: 0 });
  const id = (bridge.displays[0].bundle[PLOTLY_MIME] as { efflab: { stream: string } }).efflab.stream;
  const comm = bridge.open(STREAM_TARGET, { stream: id });
  tr.log(1, [0.5, 0.5], [0, 1, 1, 2, 3, 4]);
  tr.log(2, { web: 0.6, books: 0.4 });
  tr.plot.flush();
  assert.equal(tr.plot.length(0), 2);
  const replace = comm.sent.find((m) => m.type === 'replace');
  // [0, 1, 1, 2, 3, 4] in 4 bins of width 1 over [0, 4] (the maximum falls in the last bin).
  assert.deepEqual(replace?.y, [[1, 2, 1, 2]]);
  assert.throws(() => tr.log(3, [1]), /1 group weights for 2 groups \(web, books\)/);
  assert.throws(() => tr.log(3, { web: 1 }), /no weight for group "books"/);
  assert.deepEqual(histogram([1, 1, 1], 3), { centers: [1, 1, 1], counts: [3, 0, 0] });
  tr.close();
});

test('sensitivityView: plain arrays and the LoRC record; cumulative κ by Eq. 5.12; text fallbacks', () => {
  const b = sensitivityBundle({
    condK: [2, 3, 4],
    condV: [5, 1, 2],
    rank: [8, 6, 4],
    error: [0.1, 0.2, 0.3],
  });
  const expected = [Math.log(2 * 5 * 3 * 1 * 4 * 2), Math.log(3 * 1 * 4 * 2), Math.log(4 * 2)];
  b.logCumulative.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) < 1e-12));
  assert.deepEqual(b.layers, ['layer 0', 'layer 1', 'layer 2']);
  assert.throws(
    () => sensitivityBundle({ condK: [2, 3], condV: [1], rank: [1, 1], error: [0, 0] }),
    /"condV" has 1 entries for 2 layers/,
  );
  assert.throws(
    () => sensitivityBundle({ condK: [0, 3], condV: [1, 1], rank: [1, 1], error: [0, 0] }),
    /condK\[0\] is 0/,
  );
  const lorc = {
    kind: 'lorc-layer-sensitivity' as const,
    version: 1 as const,
    schedule: 'progressive' as const,
    target: 0.5,
    achieved: 0.48,
    dMax: 64,
    dMin: 8,
    skipRule: 'skip nothing',
    layers: [0, 1].map((l) => ({
      layer: l,
      kappaK: 10 + l,
      kappaV: 20,
      logCumulativeKappa: 5 - l,
      sensitivity: 1 - l,
      rank: 32,
      skipped: l === 0,
      keyError: 0.01,
      valueError: 0.02,
    })),
  };
  const out = sensitivityView(lorc, {
    spectraK: [
      [3, 2, 1],
      [4, 1],
    ],
  });
  const data = out.data[SENSITIVITY_MIME] as {
    fullDim: number;
    errorV: number[];
    skipped: boolean[];
    spectraK: number[][];
  };
  assert.equal(data.fullDim, 64);
  assert.deepEqual(data.errorV, [0.02, 0.02]);
  assert.deepEqual(data.skipped, [true, false]);
  assert.deepEqual(data.spectraK[1], [4, 1]);
  assert.match(String(out.data['text/plain']), /layer 0 .*10\.00 .*20\.00/);
  assert.match(String(out.data['text/html']), /<table>/);
  const evil = sensitivityView({ layers: ['<img src=x>'], condK: [2], condV: [2], rank: [1], error: [0] });
  assert.doesNotMatch(String(evil.data['text/html']), /<img/);
});

test('annotateRules: the widget asks which rows a candidate matches with its kept words; a reload probe finds waiting cells', async () => {
  const withMatches = candidates.map((c, i) =>
    i === 0 ? { ...c, matches: { count: 2, total: 9, examples: [{ text: '<img src=x onerror=1>' }] } } : c,
  );
  const asked: string[][] = [];
  const pending = annotateRules(withMatches, {
    dir,
    store: 'prev',
    annotator: 'ann',
    preview: (c) => {
      asked.push([...c.words]);
      return {
        count: c.words.length * 10,
        total: 100,
        examples: c.words.map((w) => ({ text: `row with ${w}` })),
      };
    },
  });
  const shown = bridge.displays[0].bundle;
  const data = shown[ANNOTATE_MIME] as JsonObject;
  assert.equal(data.preview, true);
  const html = String(shown['text/html']);
  assert.match(html, /2 of 9 rows/);
  assert.doesNotMatch(html, /<img/, 'example rows are escaped in the fallback');
  // After a reload the extension probes: the waiting cell's bundle comes back.
  const probe = bridge.open(ANNOTATE_TARGET, { probe: true });
  const answer = probe.sent[0] as { type: string; bundles: { session: string }[] };
  assert.equal(answer.type, 'pending');
  assert.deepEqual(
    answer.bundles.map((b) => b.session),
    [data.session],
  );
  const comm = bridge.open(ANNOTATE_TARGET, { session: data.session as string, store: 'prev' });
  comm.receive({ type: 'preview', candidateId: 'a', keptWords: ['w2'] });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(asked, [['w2']], 'the cell sees the candidate with only the kept word');
  assert.deepEqual(comm.sent.at(-1), {
    type: 'preview',
    candidateId: 'a',
    keptWords: ['w2'],
    matches: { count: 10, total: 100, examples: [{ text: 'row with w2' }] },
  });
  comm.receive({ type: 'preview', candidateId: 'a', keptWords: ['nope'] });
  await new Promise((r) => setImmediate(r));
  assert.match(String(comm.sent.at(-1)?.message), /candidate "a" has no word\(s\) "nope"/);
  comm.receive({ type: 'decide', decision: { ...decision('a', 'accept', ['w2']), durationMs: 1800 } });
  comm.receive({ type: 'bogus' });
  assert.match(String(comm.sent.at(-1)?.message), /unknown annotate message type: string "bogus"/);
  comm.receive({ type: 'submit', annotator: 'ann' });
  const res = await pending;
  assert.equal(res.decisions[0].durationMs, 1800, 'per-decision time is kept');
  assert.deepEqual(res.accepted, [
    {
      id: 'a',
      prompt: candidates[0].prompt,
      label: 'World',
      words: ['w2'],
      instance: candidates[0].instance,
    },
  ]);
  const none = bridge.open(ANNOTATE_TARGET, { probe: true });
  assert.deepEqual(none.sent[0], { type: 'pending', bundles: [] }, 'nothing waits after Submit');
});

test('annotateRules and the widgets raise the project errors on bad input', async () => {
  await assert.rejects(annotateRules('x' as unknown as RuleCandidate[], { dir }), ValueError);
  await assert.rejects(
    annotateRules(candidates, { dir, annotator: 5 as unknown as string }),
    /must be a name or a function, got number 5/,
  );
  await assert.rejects(
    annotateRules(candidates, { dir, connectTimeoutMs: 'soon' as unknown as number }),
    ValueError,
  );
  await assert.rejects(annotateRules(candidates, { dir, store: '../evil' }), ValueError);
  await assert.rejects(
    annotateRules(candidates, { dir, annotator: () => 'maybe' as 'accept', name: 'bad' }),
    ValueError,
  );
  const timed = await annotateRules(candidates, {
    dir,
    store: 'timed',
    annotator: () => 'reject',
    name: 'fn',
  });
  assert.ok(timed.decisions.every((d) => typeof d.durationMs === 'number' && d.durationMs >= 0));
  await assert.rejects(annotateRules(candidates, { dir, connectTimeoutMs: 50 }), EfflabError);
  setKernelBridge(undefined);
  await assert.rejects(annotateRules(candidates, { dir }), ConfigError);
  writeFileSync(storePath('broken', dir), '{ not json');
  await assert.rejects(
    annotateRules(candidates, { dir, store: 'broken', annotator: () => 'skip' }),
    FileFormatError,
  );
  assert.throws(() => histogram(undefined as unknown as number[], 3), ValueError);
  assert.throws(() => weightTracker({ groups: 'web' as unknown as string[] }), ValueError);
  assert.throws(
    () => sensitivityBundle({ condK: [2, 3], condV: [1], rank: [1, 1], error: [0, 0] }),
    ShapeError,
  );
  assert.throws(() => sensitivityBundle(null as unknown as SensitivityInput), ValueError);
});

test('sensitivityView: a LoRC record carries its spectra, and the view shows them without extra arguments', () => {
  const rows = [0, 1].map((l) => ({
    layer: l,
    kappaK: 3,
    kappaV: 2,
    logCumulativeKappa: Math.log(6) * (2 - l),
    sensitivity: 1 - l,
    rank: 2,
    skipped: false,
    keyError: 0.1,
    valueError: 0.2,
    spectrumK: [3, 2, 1],
    spectrumV: [2, 1.5, 1],
  }));
  const record = {
    kind: 'lorc-layer-sensitivity' as const,
    version: 1 as const,
    schedule: 'uniform' as const,
    target: 0.3,
    achieved: 0.33,
    dMax: 3,
    dMin: null,
    skipRule: 'no layer skipped',
    layers: rows,
  };
  const b = sensitivityBundle(record);
  assert.deepEqual(b.spectraK, [
    [3, 2, 1],
    [3, 2, 1],
  ]);
  assert.deepEqual(b.spectraV?.[1], [2, 1.5, 1]);
  // Eq. 5.12 has one implementation: the columns form computes ln κ̃ with lorc.logCumulativeKappa.
  const cols = sensitivityBundle({ condK: [3, 3], condV: [2, 2], rank: [2, 2], error: [0, 0] });
  cols.logCumulative.forEach((v, i) => assert.ok(Math.abs(v - rows[i].logCumulativeKappa) < 1e-12));
});
