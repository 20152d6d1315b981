import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { readSafetensor, readSafetensorsHeader } from '../../src/models';
import {
  makeSyntheticTask,
  priorWeights,
  saveHead,
  splitTask,
  trainWeighted,
  weightsCsv,
  writeWeightsCsv,
  type HeadConfig,
} from '../../src/methods/dorm';

const PY = path.resolve(__dirname, '..', '..', '.venv', 'bin', 'python');

test('weights CSV and head safetensors read back exactly in Python (csv module, a hand-written safetensors parser)', () => {
  const task = makeSyntheticTask({ pairs: 400, seed: 8 });
  const split = splitTask(task, { seed: 8 });
  const cfg: HeadConfig = { dim: task.dim, hidden: 8, outputs: 1, dropout: 0.1, loss: 'bt' };
  const fit = trainWeighted(cfg, split.train, { epochs: 3, seed: 1 });
  const prior = priorWeights(fit.head, fit.params, split.train, { passes: 5 });
  const w = prior.w0Normalized.map((x, i) => x * (1 + 0.1 * Math.sin(i)));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dorm-export-'));
  try {
    const csv = writeWeightsCsv(path.join(dir, 'weights.csv'), split.train, split.sources, prior, w);
    const st = saveHead(path.join(dir, 'head.safetensors'), fit.head, fit.params);
    // Our own safetensors reader gets the float32-rounded parameters back, in PyTorch's [out, in] layout
    // (θ stores W₁ as [dim, hidden], the trainer's x·W layout).
    const f = readSafetensorsHeader(st);
    const w1 = readSafetensor(f, 'w1.weight');
    assert.deepEqual(w1.shape, [8, task.dim]);
    w1.data.forEach((x, q) => {
      const j = Math.floor(q / task.dim);
      const k = q % task.dim;
      assert.equal(x, Math.fround(fit.params[k * 8 + j]));
    });
    const py = spawnSync(
      PY,
      [
        '-c',
        `
import csv, json, struct, sys, numpy as np
rows = list(csv.DictReader(open(sys.argv[1])))
print(len(rows), rows[0]['source'], rows[0]['w'], sum(float(r['w']) for r in rows), sum(int(r['flipped']) for r in rows))
b = open(sys.argv[2], 'rb').read()
n = struct.unpack('<Q', b[:8])[0]
h = json.loads(b[8:8+n])
t = h['w2.weight']; s, e = t['data_offsets']
a = np.frombuffer(b[8+n+s:8+n+e], dtype='<f4').reshape(t['shape'])
print(json.dumps({'shape': t['shape'], 'sum': float(a.astype(np.float64).sum()), 'loss': h['__metadata__']['loss']}))
`,
        csv,
        st,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(py.status, 0, py.stderr);
    const [line1, line2] = py.stdout.trim().split('\n');
    const [n, src0, w0s, sum, flips] = line1.split(' ');
    assert.equal(Number(n), split.train.n);
    assert.equal(src0, split.sources[split.train.source[0]]);
    assert.equal(Number(w0s), w[0]); // shortest round-trip form: the same double
    assert.ok(Math.abs(Number(sum) - w.reduce((a, b) => a + b, 0)) < 1e-9, `${sum}`);
    assert.equal(
      Number(flips),
      split.train.flipped.reduce((a, b) => a + b, 0),
    );
    const j = JSON.parse(line2) as { shape: number[]; sum: number; loss: string };
    assert.deepEqual(j.shape, [1, 8]);
    const o2 = 8 * task.dim + 8;
    let ref = 0;
    for (let k = 0; k < 8; k++) ref += Math.fround(fit.params[o2 + k]);
    assert.ok(Math.abs(j.sum - ref) < 1e-12, `${j.sum} vs ${ref}`);
    assert.equal(j.loss, 'bt');
    assert.throws(() => weightsCsv(split.train, split.sources, prior, w.subarray(1)), /weights has/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
