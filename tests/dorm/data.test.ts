import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lengthBaselines, loadHhRlhf, loadHhRlhfTurns, splitLastTurn, toTurnPairs } from '../../src/data';
import { FileFormatError, NonFiniteError, NotFoundError, ValueError } from '../../src/errors';
import {
  makeSyntheticTask,
  sourceIndex,
  splitTask,
  subsetTask,
  type PreferenceTask,
} from '../../src/methods/dorm';

test('splitLastTurn takes the last human turn and the final assistant reply', () => {
  const t = splitLastTurn(
    '\n\nHuman: hi\n\nAssistant: hello\n\nHuman:  how are you? \n\nAssistant:  fine, thanks ',
  );
  assert.deepEqual(t, { prompt: 'how are you?', reply: 'fine, thanks' });
  assert.throws(
    () => splitLastTurn('\n\nHuman: no reply here', 'row 7'),
    (e: Error) => e instanceof FileFormatError && /row 7/.test(e.message),
  );
});

test('empty replies are dropped and listed, or rejected with the pair id', () => {
  const raw = [
    { chosen: '\n\nHuman: a\n\nAssistant: yes', rejected: '\n\nHuman: a\n\nAssistant: no' },
    { chosen: '\n\nHuman: b\n\nAssistant: ', rejected: '\n\nHuman: b\n\nAssistant: sure' },
  ];
  const r = toTurnPairs(raw);
  assert.equal(r.pairs.length, 1);
  assert.deepEqual(r.dropped, [{ id: 1, reason: 'empty chosen reply' }]);
  assert.throws(
    () => toTurnPairs(raw, { onEmpty: 'error' }),
    (e: Error) => e instanceof ValueError && /pair 1/.test(e.message),
  );
});

test('HH-RLHF harmless-base test: 2,312 pairs, 4 with an empty reply, and the length baselines 44.3 % / 55.7 %', () => {
  const { pairs, dropped } = loadHhRlhfTurns();
  assert.equal(pairs.length + dropped.length, 2312);
  assert.equal(dropped.length, 4); // counted independently in Python on the same file
  // Full-dialogue character counts over all 2,312 pairs (Python: 1,025 chosen longer, 11 ties).
  const raw = loadHhRlhf().map((r) => ({ chosenLength: r.chosen.length, rejectedLength: r.rejected.length }));
  const b = lengthBaselines(raw);
  assert.equal(b.pairs, 2312);
  assert.equal(Math.round(b.chosenLonger * 1000) / 10, 44.3);
  assert.equal(Math.round(b.shorterWins * 1000) / 10, 55.7);
  assert.equal(b.ties, 11);
  assert.ok(Math.abs(b.shorterWinsTieHalf - (2312 - 1025 - 5.5) / 2312) < 1e-12);
  for (const p of pairs.slice(0, 50))
    assert.ok(p.prompt.length > 0 && p.chosen.length > 0 && p.rejected.length > 0);
});

function tinyTask(n: number, dim = 3): PreferenceTask {
  return {
    name: 'tiny',
    dim,
    ids: Int32Array.from({ length: n }, (_, i) => 100 + i),
    chosen: Float32Array.from({ length: n * dim }, (_, k) => k),
    rejected: Float32Array.from({ length: n * dim }, (_, k) => -k),
  };
}

test('splitTask: fixed-seed disjoint split, exact flip counts per source, flips swap the responses', () => {
  const task = tinyTask(1000);
  const s = splitTask(task, { seed: 3 });
  assert.equal(s.test.n, 200);
  assert.equal(s.validation.n, 70);
  assert.equal(s.train.n, 730);
  const ids = new Set([...s.test.ids, ...s.validation.ids, ...s.train.ids]);
  assert.equal(ids.size, 1000);
  const rates = [0, 0.1, 0.25, 0.4];
  for (let k = 0; k < 4; k++) {
    const rows = [...s.train.source.keys()].filter((r) => s.train.source[r] === k);
    const flips = rows.filter((r) => s.train.flipped[r]).length;
    assert.equal(flips, Math.round(rates[k] * rows.length));
  }
  for (let r = 0; r < s.train.n; r++) {
    const i = s.train.ids[r] - 100;
    // chosen features are k ≥ 0, rejected −k ≤ 0: a flipped row has the negative one as `a`.
    const a0 = s.train.a[r * 3 + 1];
    assert.equal(a0 < 0, s.train.flipped[r] === 1, `row ${r} (pair ${i})`);
  }
  assert.equal(
    s.test.flipped.reduce((a, b) => a + b, 0),
    0,
  );
  assert.deepEqual(splitTask(task, { seed: 3 }).train.ids, s.train.ids);
  assert.notDeepEqual(splitTask(task, { seed: 4 }).train.ids, s.train.ids);
  assert.equal(splitTask(task, { seed: 3, validationFraction: 0.1 }).validation.n, 100);
});

test('bad input: a non-finite feature, a source with no rows, an unknown source name', () => {
  const task = tinyTask(20);
  task.rejected[3 * 7 + 2] = NaN;
  assert.throws(
    () => splitTask(task),
    (e: Error) => e instanceof NonFiniteError && /pair id 107/.test(e.message),
  );
  assert.throws(
    () =>
      splitTask(tinyTask(8), {
        sources: [
          { name: 'a', flipRate: 0 },
          { name: 'b', flipRate: 0 },
          { name: 'c', flipRate: 0 },
          { name: 'd', flipRate: 0 },
          { name: 'e', flipRate: 0 },
          { name: 'f', flipRate: 0 },
        ],
      }),
    (e: Error) => e instanceof ValueError && /source "f" gets no rows/.test(e.message),
  );
  assert.throws(
    () => splitTask(tinyTask(6)),
    (e: Error) => e instanceof ValueError && /validation/.test(e.message),
  );
  const s = splitTask(tinyTask(100));
  assert.equal(sourceIndex(s, 'flip25'), 2);
  assert.throws(
    () => sourceIndex(s, 'flip30'),
    (e: Error) => e instanceof NotFoundError && /flip30/.test(e.message),
  );
});

test('synthetic task: seeded, labels follow the known true reward, ratings consistent', () => {
  const a = makeSyntheticTask({ pairs: 300, seed: 5 });
  const b = makeSyntheticTask({ pairs: 300, seed: 5 });
  assert.deepEqual(a.chosen, b.chosen);
  assert.notDeepEqual(makeSyntheticTask({ pairs: 300, seed: 6 }).chosen, a.chosen);
  const m = a.attributes!;
  const lam = a.trueProjection!;
  let agree = 0;
  for (let i = 0; i < 300; i++) {
    let dc = 0;
    for (let k = 0; k < m; k++) dc += lam[k] * (a.ratingsChosen![i * m + k] - a.ratingsRejected![i * m + k]);
    if (dc > 0) agree++;
  }
  // Ratings carry noise (sd 0.1), labels use the noise-free reward: most projected rating gaps agree.
  assert.ok(agree / 300 > 0.85, `agree ${agree}`);
  const sub = subsetTask(a, 50, 1);
  assert.equal(sub.ids.length, 50);
  assert.equal(sub.ratingsChosen!.length, 50 * m);
});
