/**
 * The LoRC walkthrough executes headless on the efflab kernel (short text: LORC_QUICK=1), and its
 * cells produce the figures and tables it promises. Needs the kernelspec and dist/ that
 * `npm run setup` installs and builds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { executeNotebook, htmlTables } from '../helpers/notebook';

test('notebooks/05-lorc.ipynb runs headless in quick mode', { timeout: 1_260_000 }, () => {
  const cells = executeNotebook('05-lorc.ipynb', { LORC_QUICK: '1' }, 1200);
  const outputs = cells.filter((c) => c.cell_type === 'code').flatMap((c) => c.outputs ?? []);
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

  // The values a reader sees.
  const tables = htmlTables(cells);
  const find = (col: string): string[][] => {
    const t = tables.find((x) => x[0].includes(col));
    assert.ok(t, `no table with a '${col}' column`);
    return t;
  };
  // Per-layer analysis: condition numbers ≥ 1; a skipped layer keeps full rank and has no error; errors in [0, 1].
  const layers = find('κ(W_k)');
  const col = (t: string[][], name: string): number => t[0].indexOf(name);
  assert.equal(layers.length - 1, 30, 'one row per SmolLM2 layer');
  for (const r of layers.slice(1)) {
    for (const k of ['κ(W_k)', 'κ(W_v)'])
      assert.ok(Number(r[col(layers, k)]) >= 1, `${r[0]} ${k} ${r[col(layers, k)]}`);
    const [ek, ev] = r[col(layers, 'error (K / V)')].split('/').map(Number);
    assert.ok(ek >= 0 && ek <= 1 && ev >= 0 && ev <= 1, `${r[0]} errors ${ek} / ${ev}`);
    const dc = r[col(layers, 'd_c')];
    if (dc.includes('skipped')) assert.ok(dc.startsWith('192/192') && ek === 0 && ev === 0, `${r[0]}: ${dc}`);
  }
  // The front: perplexities finite and above 1, increases consistent in sign with the interval.
  const front = find('95 % interval');
  for (const r of front.slice(1)) {
    const ppl = Number(r[col(front, 'perplexity')]);
    assert.ok(Number.isFinite(ppl) && ppl > 1, `${r.join(' | ')}`);
    const inc = parseFloat(r[col(front, 'increase')]);
    const [lo, hi] = r[col(front, '95 % interval')].split(' to ').map((x) => parseFloat(x));
    assert.ok(lo <= inc && inc <= hi, `increase ${inc} outside its interval [${lo}, ${hi}]`);
  }
  // What compression does to text: one continuation per front configuration beside the uncompressed one.
  const cont = find('greedy continuation');
  assert.equal(cont[1][0], 'uncompressed');
  assert.equal(cont.length - 2, front.length - 1, 'one continuation per front configuration');
  for (const r of cont.slice(1)) assert.ok(r[col(cont, 'greedy continuation')].length > 0, r.join(' | '));
  // A single window has no standard error: the keys/values table says so instead of "± NaN".
  const kv = find('ratio to full');
  for (const r of kv.slice(1)) {
    const cell = r[col(kv, 'ratio to full')];
    if (r[col(kv, 'windows')] === '1') assert.match(cell, /± n\/a \(1 window\)$/, cell);
    else assert.match(cell, /^\d+\.\d+ ± \d+\.\d+$/, cell);
  }
  for (const t of tables)
    for (const r of t)
      for (const c of r) assert.ok(!/\bNaN\b/.test(c), `a table shows NaN: ${r.join(' | ')}`);
  // Measured cache bytes equal Eq. 5.4, and the compressed cache holds fewer.
  const bytes = find('Eq. 5.4 bytes');
  const held = bytes.slice(1).map((r) => Number(r[col(bytes, 'bytes held')]));
  bytes
    .slice(1)
    .forEach((r, i) => assert.equal(held[i], Number(r[col(bytes, 'Eq. 5.4 bytes')]), r.join(' | ')));
  assert.ok(held[1] < held[0], `LoRC ${held[1]} bytes vs full ${held[0]}`);
});
