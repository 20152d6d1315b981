/**
 * Every public function of efflab (each area's namespace, and display's flat exports) can be called in a notebook cell as
 * `const x = f(...)` without a type annotation. The kernel compiles cells with declarations, so a result
 * whose type the compiler can only name through efflab's own node_modules (e.g. danfojs's DataFrame before
 * it was re-exported) fails with TS2742. We generate one such `const` per function, compile it the way the
 * kernel sees efflab (a `node_modules/efflab` link to this repository, symlinks preserved, built `dist/`),
 * and require no diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..', '..');
const AREAS = ['data', 'widgets', 'lorc', 'ops', 'models', 'ptloss', 'prboost', 'dorm', 'train'] as const;

/** Names of the exported functions (callable, not constructible) of `efflab.<area>` and of display's flat exports. */
function publicFunctions(): { area: string | null; name: string }[] {
  const entry = join(ROOT, 'dist', 'src', 'api.d.ts');
  const program = ts.createProgram([entry], { skipLibCheck: true, types: [] });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(entry);
  assert.ok(source, `${entry} is missing: build dist/ first (npx tsc -p tsconfig.build.json)`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol);
  // An area is either a namespace re-export (`export * as data`) or, with the lazy entry, a declared
  // constant of the area's module type (`export declare const data: typeof DataArea`).
  const exportsOf = (sym: ts.Symbol): ts.Symbol[] => {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if (target.flags & ts.SymbolFlags.Variable) {
      const type = checker.getTypeOfSymbol(target);
      return checker.getPropertiesOfType(type).map((p) => {
        const decl = p.valueDeclaration ?? p.declarations?.[0];
        const inner = decl && checker.getSymbolAtLocation(ts.getNameOfDeclaration(decl) ?? decl);
        return inner ?? p;
      });
    }
    return checker.getExportsOfModule(target);
  };
  // Functions a cell calls: not gpu.js kernel bodies, which declare a `this` of the kernel's own.
  const isFunction = (sym: ts.Symbol): boolean => {
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
    if ((target.flags & ts.SymbolFlags.Function) === 0) return false;
    const type = checker.getTypeOfSymbol(target);
    return !checker.getSignaturesOfType(type, ts.SignatureKind.Call).some((sig) => sig.thisParameter);
  };
  const top = exportsOf(moduleSymbol);
  const out: { area: string | null; name: string }[] = [];
  for (const area of AREAS) {
    const ns = top.find((s) => s.name === area);
    assert.ok(ns, `efflab exports no "${area}"`);
    for (const s of exportsOf(ns)) if (isFunction(s)) out.push({ area, name: s.name });
  }
  // display is exported flat from efflab.
  const displayIndex = program.getSourceFile(join(ROOT, 'dist', 'src', 'display', 'index.d.ts'));
  assert.ok(displayIndex);
  const displaySymbol = checker.getSymbolAtLocation(displayIndex);
  assert.ok(displaySymbol);
  for (const s of checker.getExportsOfModule(displaySymbol))
    if (isFunction(s)) out.push({ area: null, name: s.name });
  return out;
}

test('each public function result can be assigned to a const in a cell (no TS2742)', () => {
  const fns = publicFunctions();
  assert.ok(
    fns.some((f) => f.area === 'data' && f.name === 'readCsv'),
    'data.readCsv is listed',
  );
  assert.ok(
    fns.some((f) => f.area === 'lorc' && f.name === 'compress'),
    'lorc.compress is listed',
  );
  assert.ok(fns.length > 40, `only ${fns.length} functions found`);
  const dir = mkdtempSync(join(tmpdir(), 'efflab-cell-types-'));
  try {
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(ROOT, join(dir, 'node_modules', 'efflab'));
    const names = [...new Set(fns.filter((f) => f.area === null).map((f) => f.name))];
    const lines = [
      `import { ${AREAS.join(', ')}${names.length ? ', ' + names.join(', ') : ''} } from 'efflab';`,
      ...fns.map((f, i) => {
        const ref = f.area ? `${f.area}.${f.name}` : f.name;
        // Call with arguments of the declared parameter types: the const's type is the inferred result.
        return `export const r${i} = ${ref}(...(null as unknown as Parameters<typeof ${ref}>));`;
      }),
    ];
    const cell = join(dir, 'cell.ts');
    writeFileSync(cell, lines.join('\n'));
    const program = ts.createProgram([cell], {
      declaration: true,
      emitDeclarationOnly: true,
      outDir: join(dir, 'out'),
      module: ts.ModuleKind.CommonJS,
      moduleResolution: ts.ModuleResolutionKind.Node10,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      skipLibCheck: true,
      strict: true,
      preserveSymlinks: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
    });
    const diagnostics = [...ts.getPreEmitDiagnostics(program), ...program.emit().diagnostics];
    const text = diagnostics.map((d) => {
      const where = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
      const f = where >= 1 ? fns[where - 1] : undefined;
      return `${f ? `${f.area ?? 'display'}.${f.name}: ` : ''}TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
    });
    assert.deepEqual(text, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
