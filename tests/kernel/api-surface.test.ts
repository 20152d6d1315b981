/**
 * The package's two entries agree: `types` (dist/src/api.d.ts, areas as real namespaces, so a cell can
 * name `ptloss.Coefficients`) and `main` (dist/src/index.js, areas loaded on first use) export exactly the
 * same names with the same values; and a cell can use an area's types through the package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');

test('package.json types is the namespace surface; main is the lazy entry', () => {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    main: string;
    types: string;
  };
  assert.equal(pkg.main, 'dist/src/index.js');
  assert.equal(pkg.types, 'dist/src/api.d.ts');
});

test('the lazy entry and the type surface export the same names with the same values', () => {
  const script = `const a = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'api.js'))});
const i = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'index.js'))});
const ka = Object.keys(a).sort(), ki = Object.keys(i).sort();
console.log(JSON.stringify({ onlyApi: ka.filter((k) => !ki.includes(k)), onlyIndex: ki.filter((k) => !ka.includes(k)),
  differ: ka.filter((k) => ki.includes(k) && a[k] !== i[k]), n: ka.length }));`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()) as {
    onlyApi: string[];
    onlyIndex: string[];
    differ: string[];
    n: number;
  };
  assert.deepEqual(out.onlyApi, []);
  assert.deepEqual(out.onlyIndex, []);
  // Namespaces are module objects on both sides (the same cached modules), flat names the same functions.
  assert.deepEqual(out.differ, []);
  assert.ok(out.n > 150, `only ${out.n} names`);
});

test("a cell can name an area's types through the package (ptloss.Coefficients, lorc.RankSchedule)", () => {
  const probe = path.join(ROOT, 'tests', 'kernel', '__api_probe__.ts');
  const code = [
    `import { ptloss, lorc, data, matmul, Tensor } from '../../dist/src/api';`,
    `export const eps: ptloss.Coefficients = ptloss.coefficients([[1], [1]]);`,
    `export let schedule: lorc.RankSchedule | undefined;`,
    `export let frame: data.DataFrame | undefined;`,
    `export const product: Tensor = matmul(Tensor.from([[1]]), Tensor.from([[2]]));`,
  ].join('\n');
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    esModuleInterop: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
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
  const program = ts.createProgram([probe], options, host);
  const diagnostics = ts
    .getPreEmitDiagnostics(program, program.getSourceFile(probe))
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, []);
});
