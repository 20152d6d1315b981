/**
 * The compile-and-run engine: tslab's public converter and executor, driven cell by cell.
 *
 * tslab reports through a console-like object: the value of a cell's last expression through
 * `log`, thrown values and compiler diagnostics through `error`. The engine turns those calls into
 * a typed outcome instead of text, names each cell's script `<cell N>` so stack traces can be
 * mapped back to the user's code, and keeps the sources needed to do that.
 */
import vm from 'node:vm';
import * as ts from '@tslab/typescript-for-tslab';
import { createConverter, isCompleteCode, type Converter } from 'tslab/dist/converter';
import { createExecutor, type ConverterSet, type Executor } from 'tslab/dist/executor';

/** One compiler diagnostic, 1-based, in the cell unless `file` names another file. */
export interface CellDiagnostic {
  line: number;
  column: number;
  message: string;
  file?: string;
}

/** What running a cell produced. */
export type Outcome =
  | { kind: 'ok'; hasValue: boolean; value: unknown; warnings: CellDiagnostic[] }
  | { kind: 'compile-error'; diagnostics: CellDiagnostic[] }
  | { kind: 'runtime-error'; error: unknown };

/** Source of an executed cell: what the user wrote and the JavaScript that ran. */
export interface CellSource {
  ts: string;
  js: string;
}

/** Completion candidates with TypeScript's kind of each, for the frontend's icons. */
export interface Completion {
  start: number;
  end: number;
  matches: string[];
  kinds: string[];
}

/** The answer to `is_complete`. */
export type Completeness =
  { status: 'complete' } | { status: 'incomplete'; indent: string } | { status: 'invalid' };

/** Prefix of the script name given to each cell, e.g. `<cell 3>`. */
export const CELL_FILE_PATTERN = /<cell (\d+)>/;

const DIAGNOSTIC_FORMAT = '%s%d:%d - %s';
const MAX_KEPT_CELLS = 500;

interface Collector {
  values: unknown[];
  errors: unknown[];
  diagnostics: CellDiagnostic[];
}

type RunInThisContext = typeof vm.runInThisContext;

/** Runs TypeScript cells in this process with tslab's compiler and executor. */
export class Engine {
  private readonly executor: Executor;
  private readonly converters: ConverterSet;
  private collector: Collector = { values: [], errors: [], diagnostics: [] };
  private readonly cells = new Map<number, CellSource>();

  /**
   * @param rootDir folder cells run in.
   * @param takeInterrupt returns true (once) when an interrupt was requested since the cell began.
   */
  constructor(
    rootDir: string,
    private readonly takeInterrupt: () => boolean = () => false,
  ) {
    const node = createConverter();
    let browser: Converter | undefined;
    this.converters = {
      node,
      get browser(): Converter {
        browser ??= createConverter({ isBrowser: true });
        return browser;
      },
      close: () => {
        node.close();
        browser?.close();
      },
    };
    this.executor = createExecutor(rootDir, this.converters, {
      log: (value: unknown) => this.collector.values.push(value),
      error: (first: unknown, ...rest: unknown[]) => this.onError(first, rest),
    });
  }

  private onError(first: unknown, rest: unknown[]): void {
    if (first === DIAGNOSTIC_FORMAT && rest.length === 4) {
      const [file, line, column, message] = rest;
      const name = typeof file === 'string' ? file.trim() : '';
      this.collector.diagnostics.push({
        line: Number(line),
        column: Number(column),
        message: String(message),
        ...(name ? { file: name } : {}),
      });
      return;
    }
    this.collector.errors.push(first);
  }

  /** The sources of cell `n`, if it ran recently. */
  cell(n: number): CellSource | undefined {
    return this.cells.get(n);
  }

  /**
   * Compiles and runs `code` as cell `n`. The synchronous part of the cell runs before this
   * returns its promise; the promise settles when the cell's top-level awaits do.
   */
  async execute(code: string, n: number): Promise<Outcome> {
    const collector: Collector = { values: [], errors: [], diagnostics: [] };
    this.collector = collector;
    const source: CellSource = { ts: code, js: '' };
    const original: RunInThisContext = vm.runInThisContext;
    const hooked: RunInThisContext = (script, options) => {
      source.js = script;
      if (this.takeInterrupt()) throw new Error('Script execution was interrupted before it started');
      const named =
        typeof options === 'object' && options !== null ? { ...options, filename: `<cell ${n}>` } : options;
      return original(script, named);
    };
    const vmModule = vm as unknown as { runInThisContext: RunInThisContext };
    vmModule.runInThisContext = hooked;
    let pending: Promise<boolean>;
    try {
      pending = this.executor.execute(code);
    } finally {
      vmModule.runInThisContext = original;
    }
    this.remember(n, source);
    let ok: boolean;
    try {
      ok = await pending;
    } catch (error) {
      return { kind: 'runtime-error', error };
    } finally {
      if (this.collector === collector) this.collector = { values: [], errors: [], diagnostics: [] };
    }
    if (!ok) {
      if (collector.errors.length > 0) return { kind: 'runtime-error', error: collector.errors[0] };
      return { kind: 'compile-error', diagnostics: collector.diagnostics };
    }
    const hasValue = collector.values.length > 0;
    return {
      kind: 'ok',
      hasValue,
      value: hasValue ? collector.values[0] : undefined,
      warnings: collector.diagnostics,
    };
  }

  private remember(n: number, source: CellSource): void {
    this.cells.set(n, source);
    if (this.cells.size > MAX_KEPT_CELLS) {
      const oldest = this.cells.keys().next().value;
      if (oldest !== undefined) this.cells.delete(oldest);
    }
  }

  /** Completion candidates at `cursor` (a UTF-16 offset into `code`). */
  complete(code: string, cursor: number): Completion {
    const info = this.executor.complete(code, cursor);
    const kinds = new Map<string, string>();
    for (const entry of info.original?.entries ?? []) kinds.set(entry.name, entry.kind);
    return {
      start: info.start,
      end: info.end,
      matches: info.candidates,
      kinds: info.candidates.map((name) => kinds.get(name) ?? ''),
    };
  }

  /** Type and documentation of the symbol at `cursor`, or undefined when there is none. */
  inspect(code: string, cursor: number): ts.QuickInfo | undefined {
    for (const at of [cursor, cursor - 1]) {
      if (at < 0) continue;
      const info = this.executor.inspect(code, at);
      if (info) return info;
    }
    return undefined;
  }

  /** Whether `code` is ready to run, needs more lines, or cannot parse. */
  isComplete(code: string): Completeness {
    const partial = isCompleteCode(code);
    if (!partial.completed) return { status: 'incomplete', indent: partial.indent ?? '' };
    const out = ts.transpileModule(code, { reportDiagnostics: true, fileName: 'cell.ts' });
    return (out.diagnostics ?? []).length > 0 ? { status: 'invalid' } : { status: 'complete' };
  }

  /** Aborts a cell that is awaiting (a cell stuck in synchronous code is stopped by SIGINT). */
  interrupt(): void {
    this.executor.interrupt();
  }

  /** Forgets all variables declared by earlier cells. */
  reset(): void {
    this.executor.reset();
    this.cells.clear();
  }

  /** Releases the compiler's watchers so the process can exit. */
  close(): void {
    this.executor.close();
  }
}
