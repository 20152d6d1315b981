import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FileFormatError, NotFoundError, ValueError } from '../../src/errors';
import {
  AnnotationState,
  validateCandidates,
  validateDecision,
  type Decision,
  type RuleCandidate,
} from '../../src/protocol';

const candidates: RuleCandidate[] = [
  {
    id: 'r1',
    prompt: '[MASK] News: stocks fell',
    label: 'Business',
    words: ['Market', 'Finance', 'Wall'],
    instance: 'Stocks fell.',
  },
  {
    id: 'r2',
    prompt: '[MASK] News: the match',
    label: 'Sports',
    words: ['Football', 'Team'],
    instance: 'The match.',
  },
  { id: 'r3', prompt: '[MASK] News: new chip', label: 'Tech', words: ['Tech'], instance: 'A new chip.' },
  {
    id: 'r4',
    prompt: '[MASK] News: the league',
    label: 'Sports',
    words: ['Soccer', 'League'],
    instance: 'The league.',
  },
];
const t0 = new Date('2026-01-01T00:00:00Z');

test('decisions record the verdict, the kept words and the time taken, and advance to the next undecided', () => {
  let now = t0.getTime() - 2500; // r1 comes on screen 2.5 s before the decision
  const s = new AnnotationState(candidates, 'ann', [], () => now);
  assert.equal(s.current().id, 'r1');
  s.toggleWord(2);
  now = t0.getTime();
  const e = s.decide('accept', t0);
  assert.deepEqual(e, {
    kind: 'decided',
    decision: {
      candidateId: 'r1',
      verdict: 'accept',
      keptWords: ['Market', 'Wall'],
      annotator: 'ann',
      decidedAt: t0.toISOString(),
      durationMs: 2500,
    },
  });
  assert.equal(s.current().id, 'r2');
  s.decide('reject', t0);
  s.decide('skip', t0);
  assert.equal(s.current().id, 'r4');
  assert.equal(s.progress().text, '3 / 4');
  assert.deepEqual(
    s.decisions().map((d) => [d.candidateId, d.verdict]),
    [
      ['r1', 'accept'],
      ['r2', 'reject'],
      ['r3', 'skip'],
    ],
  );
});

test('undo retracts a fresh decision and restores a replaced one, returning to that candidate', () => {
  const s = new AnnotationState(candidates, 'ann');
  s.decide('accept', t0); // r1
  s.previous();
  assert.equal(s.current().id, 'r1');
  s.decide('reject', t0); // r1 again: replaces accept
  assert.equal(s.decision('r1')?.verdict, 'reject');
  const back = s.undo();
  assert.equal(back?.kind, 'decided');
  assert.equal(s.decision('r1')?.verdict, 'accept');
  assert.equal(s.current().id, 'r1');
  const gone = s.undo();
  assert.deepEqual(gone, { kind: 'retracted', candidateId: 'r1', annotator: 'ann' });
  assert.equal(s.decision('r1'), undefined);
  assert.equal(s.undo(), undefined);
  assert.equal(s.canUndo(), false);
  assert.equal(s.progress().text, '0 / 4');
});

test('undo restores the word toggles that were pending before the decision', () => {
  const s = new AnnotationState(candidates, 'ann');
  s.toggleWord(1);
  s.decide('accept', t0);
  s.undo();
  assert.deepEqual(s.kept('r1'), [false, true, true]);
});

test('next / previous stay within the visible candidates; the label filter narrows them', () => {
  const s = new AnnotationState(candidates, 'ann');
  s.previous();
  assert.equal(s.current().id, 'r1');
  s.setFilter('Sports');
  assert.equal(s.current().id, 'r2');
  assert.deepEqual(s.position(), { index: 0, count: 2 });
  s.next();
  s.next();
  assert.equal(s.current().id, 'r4');
  s.decide('accept', t0);
  assert.equal(s.progress().text, '1 / 4', 'progress counts all candidates, not the filtered ones');
  assert.deepEqual(s.labels(), ['Business', 'Sports', 'Tech']);
  assert.throws(() => s.setFilter('Weather'), NotFoundError);
  assert.throws(() => s.setFilter('Weather'), /no candidate has label "Weather"/);
  s.setFilter(null);
  assert.equal(s.visible().length, 4);
});

test('toggling a word by a number outside the candidate fails with the range', () => {
  const s = new AnnotationState(candidates, 'ann');
  assert.throws(() => s.toggleWord(4), /word number 4 is out of range: candidate "r1" has 3 words/);
  assert.throws(() => s.toggleWord(0), ValueError);
});

test('resuming from persisted decisions restores this annotator only and starts at the first undecided', () => {
  const saved: Decision[] = [
    {
      candidateId: 'r1',
      verdict: 'accept',
      keptWords: ['Market'],
      annotator: 'ann',
      decidedAt: t0.toISOString(),
    },
    {
      candidateId: 'r2',
      verdict: 'reject',
      keptWords: ['Football', 'Team'],
      annotator: 'ann',
      decidedAt: t0.toISOString(),
    },
    {
      candidateId: 'r3',
      verdict: 'accept',
      keptWords: ['Tech'],
      annotator: 'bob',
      decidedAt: t0.toISOString(),
    },
    { candidateId: 'gone', verdict: 'accept', keptWords: [], annotator: 'ann', decidedAt: t0.toISOString() },
  ];
  const s = new AnnotationState(candidates, 'ann', saved);
  assert.equal(s.progress().text, '2 / 4');
  assert.equal(s.current().id, 'r3');
  assert.deepEqual(s.kept('r1'), [true, false, false]);
  assert.equal(s.decision('r3'), undefined);
  const bob = new AnnotationState(candidates, 'bob', saved);
  assert.equal(bob.progress().text, '1 / 4');
  assert.equal(bob.current().id, 'r1');
});

test('candidate validation names the bad field', () => {
  assert.throws(() => validateCandidates('x'), /candidates must be an array, got string "x"/);
  assert.throws(() => validateCandidates('x'), ValueError);
  assert.throws(() => validateCandidates([{ ...candidates[0], words: [] }]), /words \(id "r1"\) is empty/);
  assert.throws(() => validateCandidates([{ ...candidates[0], label: ' ' }]), /label \(id "r1"\) is empty/);
  assert.throws(() => validateCandidates([]), /candidates is empty/);
  assert.throws(() => validateCandidates([{ id: 1 }]), /candidates\[0\]\.id must be a string, got number 1/);
  assert.throws(
    () => validateCandidates([candidates[0], { ...candidates[1], id: 'r1' }]),
    /candidates\[1\]\.id "r1" is not unique/,
  );
  assert.throws(
    () => validateCandidates([{ ...candidates[0], words: 'Market' }]),
    /candidates\[0\]\.words \(id "r1"\) must be an array of strings/,
  );
  assert.deepEqual(validateCandidates(candidates), candidates);
  assert.throws(
    () => validateDecision({ candidateId: 'r1', verdict: 'maybe' }, 'd'),
    /d\.verdict must be one of accept, reject, skip/,
  );
  assert.throws(() => validateDecision({ candidateId: 'r1', verdict: 'maybe' }, 'd'), FileFormatError);
  assert.throws(() => new AnnotationState(candidates, ' '), /annotator name is empty/);
});

test('goTo jumps to a candidate, clearing a filter that hides it', () => {
  const s = new AnnotationState(candidates, 'ann');
  s.setFilter('Sports');
  s.goTo('r3');
  assert.equal(s.current().id, 'r3');
  assert.equal(s.filter, null);
  assert.throws(() => s.goTo('nope'), /unknown candidate id "nope"/);
  assert.throws(() => s.goTo('nope'), NotFoundError);
});

test('each decision is timed from the moment its candidate came on screen; undo and moves restart the clock', () => {
  let now = 1000;
  const s = new AnnotationState(candidates, 'ann', [], () => now);
  now = 2200;
  const first = s.decide('accept'); // r1 shown at 1000
  assert.equal(first.kind === 'decided' && first.decision.durationMs, 1200);
  now = 2500;
  s.next(); // r2 → r3 at 2500
  now = 4000;
  const second = s.decide('reject'); // r3 after 1.5 s
  assert.equal(second.kind === 'decided' && second.decision.candidateId, 'r3');
  assert.equal(second.kind === 'decided' && second.decision.durationMs, 1500);
  now = 5000;
  s.undo(); // back on r3 at 5000
  now = 5300;
  const again = s.decide('skip');
  assert.equal(again.kind === 'decided' && again.decision.durationMs, 300);
});

test('dropping single words: the last kept word cannot go, and previews follow the kept words', () => {
  const preview = { count: 2, total: 10, examples: [{ text: 'Stocks <b>fell</b>', label: 'Business' }] };
  const withMatches = [{ ...candidates[0], matches: preview }, ...candidates.slice(1)];
  const s = new AnnotationState(validateCandidates(withMatches), 'ann');
  assert.deepEqual(s.preview('r1'), preview, 'the bundled preview is for all words');
  s.toggleWord(1);
  assert.equal(s.preview('r1'), undefined, 'no preview yet for ["Finance", "Wall"]');
  s.setPreview('r1', ['Finance', 'Wall'], { count: 1, examples: [] });
  assert.equal(s.preview('r1')?.count, 1);
  s.toggleWord(2);
  assert.deepEqual(s.keptWords('r1'), ['Wall']);
  assert.throws(() => s.toggleWord(3), /"Wall" is the last kept word of candidate "r1"/);
  assert.throws(() => s.toggleWord(3), ValueError);
  s.toggleWord(1);
  s.toggleWord(2);
  assert.deepEqual(s.preview('r1'), preview, 'back to all words: the bundled preview again');
  const e = s.decide('accept');
  assert.deepEqual(e.kind === 'decided' && e.decision.keptWords, ['Market', 'Finance', 'Wall']);
  assert.throws(
    () => validateCandidates([{ ...candidates[0], matches: { count: -1, examples: [] } }]),
    /matches \(id "r1"\)\.count must be a whole number ≥ 0, got -1/,
  );
});
