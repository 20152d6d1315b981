import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FigureStream, Throttle, type Scheduler } from '../../extension/src/state/stream';
import { parseStreamMessage } from '../../src/protocol';
import { FileFormatError, ValueError } from '../../src/errors';

const stream0 = () => new FigureStream({ data: [{ x: [], y: [] }] });

/** A fake clock: timers fire only when the test advances time. */
class FakeClock implements Scheduler {
  t = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== h);
  }
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const due = this.timers[0];
      if (!due || due.at > end) break;
      this.timers.shift();
      this.t = due.at;
      due.fn();
    }
    this.t = end;
  }
}

test('10,000 streamed points in 1 ms steps cost about one redraw per interval and all arrive', () => {
  const clock = new FakeClock();
  const stream = new FigureStream({
    data: [
      { x: [], y: [] },
      { x: [], y: [] },
    ],
  });
  let points = 0;
  let flushes = 0;
  const throttle = new Throttle(
    () => {
      const f = stream.takeFlush();
      if (!f) return;
      flushes++;
      assert.equal(f.kind, 'extend');
      if (f.kind === 'extend') points += f.x[0].length;
    },
    100,
    clock,
  );
  for (let i = 0; i < 10_000; i++) {
    stream.apply({ type: 'extend', traces: [0, 1], x: [[i], [i]], y: [[i * i], [-i]] });
    throttle.request();
    clock.advance(1);
  }
  clock.advance(200);
  assert.equal(points, 10_000);
  assert.equal(stream.length(0), 10_000);
  assert.equal(stream.length(1), 10_000);
  // 10 s of stream at ≤ 1 redraw per 100 ms: at most 101 redraws (the first one immediately).
  assert.ok(flushes <= 101, `flushes = ${flushes}`);
  assert.ok(flushes >= 99, `flushes = ${flushes}`);
  assert.equal(throttle.runs, flushes);
});

test('a burst of points before the first frame is one extend call', () => {
  const clock = new FakeClock();
  const stream = new FigureStream({ data: [{ x: [0], y: [0] }] });
  const calls: number[] = [];
  const throttle = new Throttle(
    () => {
      const f = stream.takeFlush();
      if (f?.kind === 'extend') calls.push(f.x[0].length);
    },
    100,
    clock,
  );
  for (let i = 1; i <= 10_000; i++) {
    stream.apply({ type: 'extend', traces: [0], x: [[i]], y: [[i]] });
    throttle.request();
  }
  clock.advance(0);
  assert.deepEqual(calls, [10_000]);
});

test('maxPoints keeps a sliding window; reset and replace turn the next flush into a react', () => {
  const stream = new FigureStream({
    data: [
      { x: [1, 2], y: [1, 2] },
      { type: 'bar', x: [], y: [] },
    ],
  });
  stream.apply({ type: 'extend', traces: [0], x: [[3, 4, 5]], y: [[3, 4, 5]], maxPoints: 3 });
  assert.deepEqual(stream.snapshot().data[0].x, [3, 4, 5]);
  const ext = stream.takeFlush();
  assert.deepEqual(ext, { kind: 'extend', traces: [0], x: [[3, 4, 5]], y: [[3, 4, 5]], maxPoints: 3 });
  assert.equal(stream.takeFlush(), null);
  stream.apply({ type: 'replace', traces: [1], x: [[0.5, 1.5]], y: [[10, 20]] });
  stream.apply({ type: 'extend', traces: [0], x: [[6]], y: [[6]], maxPoints: 3 });
  const r = stream.takeFlush();
  assert.equal(r?.kind, 'react');
  if (r?.kind === 'react') {
    assert.deepEqual(r.figure.data[1].y, [10, 20]);
    assert.deepEqual(r.figure.data[0].x, [4, 5, 6]);
  }
  stream.apply({
    type: 'reset',
    figure: {
      data: [
        { x: [9], y: [9] },
        { x: [], y: [] },
      ],
    },
  });
  assert.equal(stream.takeFlush()?.kind, 'react');
  assert.equal(stream.length(0), 1);
  assert.throws(
    () => stream.apply({ type: 'extend', traces: [2], x: [[1]], y: [[1]] }),
    /trace 2 does not exist/,
  );
});

test('stream messages from the wire are checked', () => {
  assert.throws(
    () => parseStreamMessage({ type: 'extend', traces: [0], x: [[1, 2]], y: [[1]] }),
    /2 x but 1 y/,
  );
  assert.throws(
    () => parseStreamMessage({ type: 'extend', traces: [0], x: [], y: [] }),
    /one array per trace/,
  );
  assert.throws(() => parseStreamMessage({ type: 'draw' }), /unknown stream message type: string "draw"/);
  assert.throws(
    () => parseStreamMessage({ type: 'replace', traces: [0], x: [['a']], y: [[1]] }),
    /stream replace: x\[0\]\[0\] must be a number, got string "a"/,
  );
  assert.throws(() => parseStreamMessage({ type: 'draw' }), FileFormatError);
  assert.throws(() => stream0().apply({ type: 'extend', traces: [3], x: [[1]], y: [[1]] }), ValueError);
  assert.deepEqual(parseStreamMessage({ type: 'extend', traces: [0], x: [[1]], y: [[2]], maxPoints: 5 }), {
    type: 'extend',
    traces: [0],
    x: [[1]],
    y: [[2]],
    maxPoints: 5,
  });
});
