/**
 * The committed model fixtures (tests/fixtures/models/*.json) are what scripts/make-model-fixtures.py
 * computed from the installed weights: PROVENANCE.json records the SHA-256 of each fixture, of the
 * generating script and of each input (weights, tokenizer, data). Recomputed here, so a fixture edited by
 * hand, a generator changed without regenerating, or other weights under the same package name fail.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { data } from '../../src';
import { FIXTURES } from './helpers';

const ROOT = resolve(__dirname, '..', '..');

interface Provenance {
  generator: { path: string; sha256: string };
  fixtures: Record<string, { sha256: string; inputs: Record<string, string> }>;
}

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

const provenance = JSON.parse(readFileSync(join(FIXTURES, 'PROVENANCE.json'), 'utf8')) as Provenance;

test('every model fixture file is listed in PROVENANCE.json and unchanged since it was generated', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json') && f !== 'PROVENANCE.json');
  assert.deepEqual(files.sort(), Object.keys(provenance.fixtures).sort());
  for (const f of files) {
    assert.equal(
      sha256(join(FIXTURES, f)),
      provenance.fixtures[f].sha256,
      `${f} differs from what was generated`,
    );
  }
});

test('the generating script is the one that produced the fixtures (regenerate after changing it)', () => {
  assert.equal(
    sha256(join(ROOT, provenance.generator.path)),
    provenance.generator.sha256,
    `${provenance.generator.path} changed since the fixtures were generated: run it again (see its docstring)`,
  );
});

test('the installed weights and the data are the inputs the fixtures were computed from', () => {
  const site = execFileSync(join(ROOT, '.venv', 'bin', 'python'), [
    '-c',
    'import sysconfig; print(sysconfig.get_paths()["purelib"])',
  ])
    .toString()
    .trim();
  let checked = 0;
  for (const [name, { inputs }] of Object.entries(provenance.fixtures)) {
    for (const [label, want] of Object.entries(inputs)) {
      const [kind, rel] = label.split(/:(.*)/s);
      const path = kind === 'site' ? join(site, rel) : data.dataPath(...rel.split('/'));
      assert.equal(
        sha256(path),
        want,
        `${name}: input ${label} (${path}) is not the file the fixture came from`,
      );
      checked++;
    }
  }
  assert.equal(checked, 6);
});
