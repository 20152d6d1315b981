/**
 * The layer-sensitivity view end to end without a browser: lorc.compress's report → sensitivityView's MIME
 * bundle → the extension's parser → the figure it draws. The spectra arrive without being passed, and the
 * cumulative κ̃ (≈ 10^64 on SmolLM2) never shares the log axis of the per-layer κ bars.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compress } from '../../src/methods/lorc';
import { sensitivityView } from '../../src/widgets';
import { parseSensitivityBundle, SENSITIVITY_MIME } from '../../src/protocol';
import { sensitivityFigure, spectrumNote } from '../../extension/src/state/sensitivity-figure';
import { tinyLlama } from '../models/tiny-model';

test('the report of lorc.compress shows its spectra and κ(W_k), κ(W_v) on their own axis', () => {
  const c = compress(tinyLlama(), 0.3);
  const out = sensitivityView(c.report);
  const b = parseSensitivityBundle(out.data[SENSITIVITY_MIME]);
  assert.equal(b.spectraK?.length, 2);
  assert.deepEqual(b.spectraK?.[1], c.report.layers[1].spectrumK);
  assert.doesNotMatch(spectrumNote(b, 0), /no singular values/);
  assert.match(spectrumNote(b, 0), /d_c = \d+, error /);
  // A deep model's cumulative κ̃: ln κ̃ = 147 ≈ 10^64 at the first layer.
  const deep = { ...b, logCumulative: [147, 140] };
  const fig = sensitivityFigure(deep);
  const onKappaAxis = fig.data.filter((t) => t.yaxis === undefined || t.yaxis === 'y');
  assert.deepEqual(
    onKappaAxis.map((t) => t.name),
    ['κ(W_k)', 'κ(W_v)'],
  );
  const kappaMax = Math.max(...onKappaAxis.flatMap((t) => t.y as number[]));
  assert.ok(kappaMax < 1e6, `κ axis tops at ${kappaMax}`);
  const cumulative = fig.data.find((t) => String(t.name).includes('κ̃'));
  assert.equal(cumulative?.yaxis, 'y4');
  assert.ok(Math.abs((cumulative?.y as number[])[0] - 147 / Math.LN10) < 1e-9, 'drawn as log10 κ̃ (≈ 63.8)');
  const layout = fig.layout as { yaxis4: { overlaying: string; side: string } };
  assert.deepEqual([layout.yaxis4.overlaying, layout.yaxis4.side], ['y', 'right']);
  // Without spectra the note says what to pass.
  assert.match(spectrumNote({ ...b, spectraK: null, spectraV: null }, 0), /pass spectraK \/ spectraV/);
});
