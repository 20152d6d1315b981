/** Wrong-typed arguments that slip past the compiler (`as any`, plain values) give the project's errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { html, image, json, markdown, plotly, progress, svg, table, track } from '../../src/display';
import { openComm } from '../../src/display/comm';
import { ConfigError, ValueError } from '../../src/errors';

const bad = <T>(v: unknown): T => v as T;

test('display helpers reject wrong-typed input with ValueError naming the function and the value', () => {
  assert.throws(() => html(bad(42)), /html\(\): expected a string, got number 42/);
  assert.throws(() => markdown(bad(null)), ValueError);
  assert.throws(() => svg(bad({})), ValueError);
  assert.throws(() => json(bad(undefined)), /json\(\): expected a JSON value, got undefined/);
  assert.throws(() => image(bad([137, 80])), /image\(\): expected the encoded bytes as a Uint8Array/);
  assert.throws(() => image(new Uint8Array([1, 2, 3])), /unknown image format/);
  assert.throws(() => plotly(bad([{ x: [1] }])), /plotly\(\): expected a figure \{ data: \[traces…\]/);
  assert.throws(() => plotly(bad(undefined)), ValueError);
  assert.throws(() => table(bad(7)), ValueError);
  assert.throws(() => progress(bad({ total: 'ten' })), /total must be a number ≥ 0, got string "ten"/);
  const bar = progress({ total: 3 });
  assert.throws(() => bar.set(bad('2')), ValueError);
  bar.done();
  assert.throws(() => [...track(bad<number[]>(5))], /track\(\): expected something to iterate over/);
  assert.deepEqual([...track([1, 2])], [1, 2]);
  // Outside a kernel, comms say so with a ConfigError.
  assert.throws(() => openComm('x'), ConfigError);
  // The good paths still work.
  assert.equal(html('<b>x</b>').data['text/html'], '<b>x</b>');
  assert.ok(plotly({ data: [{ type: 'bar', y: [1] }] }).data['application/vnd.plotly.v1+json']);
});
