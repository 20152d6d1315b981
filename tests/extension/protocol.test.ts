/**
 * The wire contract in src/protocol: one module both sides import (the library never imports the extension,
 * the build never compiles extension sources), DOM- and node-free, and parsers that turn untrusted messages
 * into the project's errors.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { EfflabError, FileFormatError } from '../../src/errors';
import {
  parseAnnotateBundle,
  parseAnnotateClientMessage,
  parseAnnotateOpen,
  parseAnnotateServerMessage,
  parseSensitivityBundle,
  parseStreamMessage,
} from '../../src/protocol';

const ROOT = resolve(__dirname, '..', '..');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return name === 'node_modules' ? [] : tsFiles(p);
    return /\.tsx?$/.test(name) && !name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Every module specifier of a file: import / export … from, import(), require(), import x = require(). */
function specifiers(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      if (ts.isStringLiteral(node.moduleSpecifier)) out.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
        (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
      node.arguments.length > 0 &&
      ts.isStringLiteralLike(node.arguments[0])
    ) {
      out.push(node.arguments[0].text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      const lit = node.argument.literal;
      if (ts.isStringLiteral(lit)) out.push(lit.text);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      out.push(node.moduleReference.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true));
  return out;
}

/** Imports of `files` whose target lies inside `forbidden` (relative paths resolved from the importing file). */
function importsInto(files: string[], forbidden: string): string[] {
  return files.flatMap((file) =>
    specifiers(file)
      .filter((s) => s.startsWith('.'))
      .filter((s) => {
        const target = resolve(dirname(file), s);
        return target === forbidden || target.startsWith(forbidden + sep);
      })
      .map((s) => `${relative(ROOT, file)} imports "${s}"`),
  );
}

test('nothing in src/ or kernel/src imports from extension/ (and the scan does see imports)', () => {
  const library = [...tsFiles(join(ROOT, 'src')), ...tsFiles(join(ROOT, 'kernel', 'src'))];
  assert.ok(library.length > 50, `only ${library.length} library files found`);
  assert.deepEqual(importsInto(library, join(ROOT, 'extension')), []);
  // The scan itself works: this very test file imports from src/, and it is seen.
  assert.ok(importsInto([__filename], join(ROOT, 'src')).length > 0);
});

test('the library build compiles no extension source (no dist/extension) and the extension compiles src/protocol', () => {
  const programFiles = (tsconfig: string): string[] => {
    const cfg = ts.getParsedCommandLineOfConfigFile(
      tsconfig,
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (d) => {
          throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
        },
      },
    );
    assert.ok(cfg, `cannot read ${tsconfig}`);
    return ts
      .createProgram({ rootNames: cfg.fileNames, options: { ...cfg.options, noEmit: true } })
      .getSourceFiles()
      .map((f) => resolve(f.fileName))
      .filter((f) => !f.includes(`${sep}node_modules${sep}`));
  };
  const build = programFiles(join(ROOT, 'tsconfig.build.json'));
  assert.ok(build.some((f) => f.startsWith(join(ROOT, 'src', 'protocol') + sep)));
  assert.deepEqual(
    build.filter((f) => f.startsWith(join(ROOT, 'extension') + sep)).map((f) => relative(ROOT, f)),
    [],
  );
  const ext = programFiles(join(ROOT, 'extension', 'tsconfig.json'));
  const outside = ext
    .filter((f) => !f.startsWith(join(ROOT, 'extension') + sep))
    .map((f) => relative(ROOT, f));
  assert.ok(outside.includes(join('src', 'protocol', 'index.ts')), outside.join(', '));
  // The extension pulls in only the protocol and the error classes it throws, nothing kernel-side.
  assert.deepEqual(
    outside.filter((f) => !f.startsWith(join('src', 'protocol') + sep) && f !== join('src', 'errors.ts')),
    [],
  );
});

test('src/protocol is DOM-free and node-free: it imports only itself and src/errors.ts', () => {
  const dir = join(ROOT, 'src', 'protocol');
  for (const file of tsFiles(dir)) {
    for (const s of specifiers(file)) {
      const target = resolve(dirname(file), s);
      assert.ok(
        s.startsWith('.') && (target.startsWith(dir + sep) || target === join(ROOT, 'src', 'errors')),
        `${relative(ROOT, file)} imports "${s}"`,
      );
    }
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '');
    assert.doesNotMatch(
      code,
      /\b(process|Buffer|require|window|document|HTMLElement)\b/,
      relative(ROOT, file),
    );
  }
});

test('untrusted annotate messages are checked and fail with FileFormatError naming the field', () => {
  const decision = {
    candidateId: 'r1',
    verdict: 'accept',
    keptWords: ['a'],
    annotator: 'ann',
    decidedAt: '2026-01-01T00:00:00.000Z',
    durationMs: 1234,
  };
  assert.deepEqual(parseAnnotateClientMessage({ type: 'decide', decision }), { type: 'decide', decision });
  assert.deepEqual(parseAnnotateClientMessage({ type: 'preview', candidateId: 'r1', keptWords: ['a'] }), {
    type: 'preview',
    candidateId: 'r1',
    keptWords: ['a'],
  });
  const bad: [unknown, RegExp][] = [
    [null, /annotate message must be an object, got null/],
    [{ type: 'hack' }, /unknown annotate message type: string "hack"/],
    [
      { type: 'decide', decision: { ...decision, verdict: 'maybe' } },
      /decide\.decision\.verdict must be one of/,
    ],
    [{ type: 'decide', decision: { ...decision, durationMs: -1 } }, /durationMs must be ≥ 0, got -1/],
    [
      { type: 'retract', candidateId: 3, annotator: 'a' },
      /retract\.candidateId must be a string, got number 3/,
    ],
    [
      { type: 'preview', candidateId: 'r1', keptWords: 'a' },
      /preview\.keptWords must be an array of strings/,
    ],
  ];
  for (const [raw, why] of bad) {
    assert.throws(() => parseAnnotateClientMessage(raw), why);
    assert.throws(() => parseAnnotateClientMessage(raw), FileFormatError);
  }
  assert.deepEqual(parseAnnotateOpen({ probe: true }), { probe: true });
  assert.throws(() => parseAnnotateOpen({ session: 1 }), /open data\.session must be a string/);
  const server = parseAnnotateServerMessage({
    type: 'preview',
    candidateId: 'r1',
    keptWords: ['a'],
    matches: { count: 3, total: 9, examples: ['<script>x</script>', { text: 'y', label: 'World' }] },
  });
  assert.deepEqual(server, {
    type: 'preview',
    candidateId: 'r1',
    keptWords: ['a'],
    matches: {
      count: 3,
      total: 9,
      examples: [{ text: '<script>x</script>' }, { text: 'y', label: 'World' }],
    },
  });
  assert.throws(
    () =>
      parseAnnotateServerMessage({
        type: 'preview',
        candidateId: 'r1',
        keptWords: [],
        matches: { count: 5, total: 2, examples: [] },
      }),
    /total must be a whole number ≥ count \(5\), got 2/,
  );
  assert.throws(
    () => parseAnnotateServerMessage({ type: 'saved', saved: -2 }),
    /saved\.saved must be a whole number/,
  );
  const bundle = parseAnnotateBundle({
    session: 's',
    store: 'rules',
    candidates: [{ id: 'r1', prompt: 'p [MASK]', label: 'World', words: ['w'], instance: 'i' }],
  });
  assert.equal(bundle.preview, false);
  assert.equal(bundle.annotator, 'annotator');
  assert.throws(() => parseAnnotateBundle({ session: 's', store: 'x', candidates: [] }), FileFormatError);
  assert.throws(
    () => parseAnnotateBundle({ session: 's', store: 'x', candidates: [] }),
    /candidates is empty/,
  );
});

test('stream and sensitivity bundles from the wire are checked with FileFormatError', () => {
  assert.deepEqual(parseStreamMessage({ type: 'extend', traces: [0], x: [[1]], y: [[2]] }), {
    type: 'extend',
    traces: [0],
    x: [[1]],
    y: [[2]],
    maxPoints: undefined,
  });
  assert.throws(
    () => parseStreamMessage({ type: 'extend', traces: [0], x: [[1, 2]], y: [[2]] }),
    /trace 0 has 2 x but 1 y/,
  );
  assert.throws(() => parseStreamMessage(7), FileFormatError);
  const ok = {
    title: 't',
    layers: ['a', 'b'],
    condK: [2, 3],
    condV: [4, 5],
    logCumulative: [3, 2],
    rank: [4, 2],
    fullDim: 4,
    error: [0, 0.1],
    errorV: null,
    skipped: [true, false],
    notes: [],
    spectraK: [
      [3, 1],
      [2, 1],
    ],
    spectraV: null,
  };
  assert.deepEqual(parseSensitivityBundle(ok), ok);
  assert.throws(() => parseSensitivityBundle({ ...ok, rank: [1] }), /rank has 1 entries for 2 layers/);
  assert.throws(
    () => parseSensitivityBundle({ ...ok, spectraK: [[1]] }),
    /spectraK must hold one spectrum per layer \(2\)/,
  );
  assert.throws(() => parseSensitivityBundle({ ...ok, skipped: [1, 0] }), FileFormatError);
  try {
    parseSensitivityBundle({ layers: 'x' });
    assert.fail('no error');
  } catch (e) {
    assert.ok(e instanceof FileFormatError && e instanceof EfflabError && e.name === 'FileFormatError');
  }
});
