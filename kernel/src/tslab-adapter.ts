/**
 * The one place that knows tslab. The kernel uses tslab only as a TypeScript-to-JavaScript cell
 * compiler: its `converter` (type checking against the declarations of earlier cells, completion,
 * quick info) and the TypeScript build it ships (`@tslab/typescript-for-tslab`). Neither is part of
 * tslab's public `main`, so tslab is pinned exactly in package.json and `checkTslab()` verifies,
 * before the kernel relies on it, that the installed tslab is the version and has the surface this
 * module was written against (tests/kernel/tslab-adapter.test.ts runs it). Running the compiled
 * cells is ours (engine.ts), so nothing here touches Node's `vm`.
 */
import { readFileSync } from 'node:fs';
import * as ts from '@tslab/typescript-for-tslab';
import * as converterModule from 'tslab/dist/converter';

/** The tslab version this adapter was written against (pinned exactly in package.json). */
export const TSLAB_VERSION = '1.0.22';
/** The TypeScript build that tslab version ships. */
export const TSLAB_TYPESCRIPT_VERSION = '5.0.4';

/** Quick info of a symbol, as the compiler reports it. */
export type QuickInfo = ts.QuickInfo;
/** One display part of a quick info or completion entry. */
export type SymbolDisplayPart = ts.SymbolDisplayPart;
/** The file-system interface the compiler reads through (wrapped by resolution.ts). */
export type CompilerSys = ts.System;

/** The TypeScript version cells are compiled with. */
export const typescriptVersion: string = ts.version;

/** The compiler's file-system object; wrapping its methods changes what the compiler sees. */
export function compilerSys(): CompilerSys {
  return ts.sys;
}

/** A compiler diagnostic, 0-based line and character. */
export interface CompileDiagnostic {
  line: number;
  character: number;
  message: string;
  fileName?: string;
}

/** A cell compiled to CommonJS-style JavaScript that assigns its declarations to `exports`. */
export interface Compiled {
  /** JavaScript, or undefined when the cell has nothing to run (declarations only). */
  js?: string;
  /** Declarations of this and earlier cells, for the next cell's type checking. */
  declarations: string;
  /** Name under `exports` holding the value of the cell's last expression, if any. */
  lastExpressionVar?: string;
  hasTopLevelAwait: boolean;
  /** JavaScript of local `.ts` files the cell imports, by absolute `.js` path. */
  sideOutputs: { path: string; js: string }[];
}

/** Completion candidates with TypeScript's entries. */
export interface CompilerCompletion {
  start: number;
  end: number;
  candidates: string[];
  kinds: Map<string, string>;
}

/** The cell compiler. */
export interface CellCompiler {
  compile(
    prevDeclarations: string,
    code: string,
  ): { ok: true; compiled: Compiled } | { ok: false; diagnostics: CompileDiagnostic[] };
  complete(prevDeclarations: string, code: string, cursor: number): CompilerCompletion;
  inspect(prevDeclarations: string, code: string, cursor: number): QuickInfo | undefined;
  close(): void;
}

function installedVersion(pkg: string): string | undefined {
  try {
    const file = require.resolve(`${pkg}/package.json`);
    return String((JSON.parse(readFileSync(file, 'utf8')) as { version?: unknown }).version);
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with the installed tslab for this adapter: a wrong version of tslab or of its
 * TypeScript, or a missing function of the converter. Empty when the adapter can rely on it.
 * `versions` and `surface` default to what is installed (tests pass others to see the check fail).
 */
export function checkTslab(
  versions: { tslab?: string; typescript?: string } = {
    tslab: installedVersion('tslab'),
    typescript: installedVersion('@tslab/typescript-for-tslab'),
  },
  surface: Record<string, unknown> = converterModule as unknown as Record<string, unknown>,
): string[] {
  const problems: string[] = [];
  if (versions.tslab !== TSLAB_VERSION)
    problems.push(
      `tslab ${versions.tslab ?? '(not installed)'} is installed; the kernel needs exactly ${TSLAB_VERSION}`,
    );
  if (versions.typescript !== TSLAB_TYPESCRIPT_VERSION)
    problems.push(
      `@tslab/typescript-for-tslab ${versions.typescript ?? '(not installed)'} is installed; tslab ${TSLAB_VERSION} ships ${TSLAB_TYPESCRIPT_VERSION}`,
    );
  for (const name of ['createConverter', 'isCompleteCode'])
    if (typeof surface[name] !== 'function') problems.push(`tslab/dist/converter has no function ${name}`);
  return problems;
}

/**
 * Creates the compiler for Node cells. The converter checks each cell against the declarations of
 * the cells before it and emits JavaScript that assigns every top-level declaration to `exports`.
 */
export function createCellCompiler(): CellCompiler {
  let converter = converterModule.createConverter();
  /**
   * tslab's converter keeps one slot for TypeScript's rebuild timer and throws when a watched file
   * changes on disk while another rebuild is pending (e.g. the library's `.d.ts` files rebuilt,
   * or a local module edited between cells); the converter is then stuck. Start a fresh one and
   * try once more: the cell's state lives in the declarations passed in, not in the converter.
   */
  const withConverter = <T>(use: (c: converterModule.Converter) => T): T => {
    try {
      return use(converter);
    } catch (error) {
      if (!(error instanceof Error) || !/rebuildTimer|unexpected tiemr|unexpected timer/i.test(error.message))
        throw error;
      converter.close();
      converter = converterModule.createConverter();
      return use(converter);
    }
  };
  return {
    compile(prevDeclarations, code) {
      const out = withConverter((c) => c.convert(prevDeclarations, code));
      if (out.diagnostics.length > 0) {
        return {
          ok: false,
          diagnostics: out.diagnostics.map((d) => ({
            line: d.start.line,
            character: d.start.character,
            message: d.messageText,
            ...(d.fileName ? { fileName: d.fileName } : {}),
          })),
        };
      }
      return {
        ok: true,
        compiled: {
          js: out.output,
          declarations: out.declOutput ?? '',
          lastExpressionVar: out.lastExpressionVar,
          hasTopLevelAwait: out.hasToplevelAwait === true,
          sideOutputs: (out.sideOutputs ?? []).map((s) => ({ path: s.path, js: s.data })),
        },
      };
    },
    complete(prevDeclarations, code, cursor) {
      const info = withConverter((c) => c.complete(prevDeclarations, code, cursor));
      const kinds = new Map<string, string>();
      for (const entry of info.original?.entries ?? []) kinds.set(entry.name, entry.kind);
      return { start: info.start, end: info.end, candidates: info.candidates, kinds };
    },
    inspect(prevDeclarations, code, cursor) {
      return withConverter((c) => c.inspect(prevDeclarations, code, cursor)) ?? undefined;
    },
    close() {
      converter.close();
    },
  };
}

/** Whether `code` is a complete cell, needs more lines (with the indent to continue), or cannot parse. */
export function completeness(
  code: string,
): { status: 'complete' } | { status: 'incomplete'; indent: string } | { status: 'invalid' } {
  const partial = converterModule.isCompleteCode(code);
  if (!partial.completed) return { status: 'incomplete', indent: partial.indent ?? '' };
  const out = ts.transpileModule(code, { reportDiagnostics: true, fileName: 'cell.ts' });
  return (out.diagnostics ?? []).length > 0 ? { status: 'invalid' } : { status: 'complete' };
}

/**
 * Positions in `js` where a loop body begins, for the interrupt checks engine.ts inserts: for a
 * block body the offset right after its `{`; for a single-statement body its start and end (the
 * statement gets wrapped in a block). Parsed with the compiler's own parser.
 */
export function loopBodies(js: string): { open: number; close?: number }[] {
  const file = ts.createSourceFile('cell.js', js, ts.ScriptTarget.Latest, false, ts.ScriptKind.JS);
  const found: { open: number; close?: number }[] = [];
  const visit = (node: ts.Node): void => {
    if (
      ts.isForStatement(node) ||
      ts.isForInStatement(node) ||
      ts.isForOfStatement(node) ||
      ts.isWhileStatement(node) ||
      ts.isDoStatement(node)
    ) {
      const body = node.statement;
      if (ts.isBlock(body)) found.push({ open: body.getStart(file) + 1 });
      else found.push({ open: body.getStart(file), close: body.getEnd() });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}
