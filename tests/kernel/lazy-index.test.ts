// The package entry loads its areas on first use (src/index.ts): importing `display` loads neither
// gpu.js nor danfojs nor tokenizers, every name stays importable with its area's value and type.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const INDEX = path.join(ROOT, 'src', 'index.ts');

/** Runs `body` in a fresh Node process with the built package entry as `e`; returns its JSON. */
function inFreshProcess(body: string): Record<string, unknown> {
  const script = `const e = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))});
const loaded = (part) => Object.keys(require.cache).some((k) => k.includes(part));
${body}`;
  const out = execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

test('using display loads no compute backend, data frame or tokenizer library', () => {
  const seen = inFreshProcess(`
e.display;
e.html('<b>x</b>');
console.log(JSON.stringify({
  gpu: loaded('/gpu.js/'), gl: loaded('/node_modules/gl/'), danfo: loaded('/danfojs'),
  tokenizers: loaded('/@huggingface/tokenizers/'), ops: loaded('/dist/src/ops/index.js'),
}));`);
  assert.deepEqual(seen, { gpu: false, gl: false, danfo: false, tokenizers: false, ops: false });
});

test('lazy names resolve to their areas: namespaces, flat ops, error classes', () => {
  const seen = inFreshProcess(`
const ops = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'ops', 'index.js'))});
const flat = Object.keys(ops).filter((k) => e[k] !== ops[k]);
console.log(JSON.stringify({
  flatMismatches: flat,
  opsNamespace: e.ops === ops,
  dataBeforeUse: loaded('/danfojs'),
  data: typeof e.data.readCsv,
  dataAfterUse: loaded('/danfojs'),
  areas: ['ops', 'data', 'lorc', 'ptloss', 'prboost', 'dorm', 'widgets', 'models', 'train'].filter((a) => typeof e[a] !== 'object'),
  tensor: new e.Tensor(new Float32Array([1, 2]), [2]) instanceof ops.Tensor,
  errors: e.ShapeError === ops.ShapeError && e.ValueError === ops.ValueError,
}));`);
  assert.deepEqual(seen, {
    flatMismatches: [],
    opsNamespace: true,
    dataBeforeUse: false,
    data: 'function',
    dataAfterUse: true,
    areas: [],
    tensor: true,
    errors: true,
  });
});

test('every value of the ops area is importable from the entry as a value, with its type', async () => {
  const ops = (await import('../../src/ops')) as Record<string, unknown>;
  const names = Object.keys(ops);
  // A type-only export (a name missing its `export declare const`) cannot be used as a value (TS1361).
  const probe = path.join(ROOT, 'tests', 'kernel', '__lazy_index_probe__.ts');
  const code = [
    `import * as entry from '../../src/index';`,
    `import * as area from '../../src/ops';`,
    ...names.map((n, i) => `export const v${i}: typeof area.${n} = entry.${n};`),
    `export const namespaces = [entry.ops, entry.data, entry.lorc, entry.ptloss, entry.prboost, entry.dorm, entry.widgets, entry.models, entry.train, entry.display];`,
  ].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    esModuleInterop: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: ['node'],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (file, version, ...rest) =>
    path.resolve(file) === probe
      ? ts.createSourceFile(file, code, version)
      : getSourceFile(file, version, ...rest);
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (file) => path.resolve(file) === probe || fileExists(file);
  const program = ts.createProgram([probe, INDEX], options, host);
  const diagnostics = ts
    .getPreEmitDiagnostics(program, program.getSourceFile(probe))
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.ok(names.length > 100, `only ${names.length} ops names`);
  assert.deepEqual(diagnostics, []);
});
