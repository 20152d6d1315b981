/**
 * The compile-and-run engine. Cells are compiled by tslab's converter (through tslab-adapter.ts,
 * the only module that knows tslab) and run here with Node's `vm` under the script name
 * `<cell N>`, so stack traces can be mapped back to the user's code.
 *
 * Every top-level declaration of a cell lives on one shared `exports` object, updated as the cell
 * runs; the declarations a cell adds are kept for type checking the next cells even when the cell
 * threw or was interrupted, so `let spins = 0; while (true) spins++` leaves `spins` at the value
 * it had when stopped.
 *
 * Interrupts. A cell stuck in synchronous code is stopped by SIGINT (`breakOnSigint`). Code that
 * runs later, after an `await` or in a timer or event callback, is outside that script, where
 * SIGINT cannot reach; so every loop of a cell's JavaScript starts its body with a check of the
 * shared interrupt flag, which throws an interruption when the flag is set. The check costs one
 * atomic load per iteration.
 */
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import {
  INTERRUPT_HONOURED,
  INTERRUPT_REQUESTED,
  INTERRUPT_BUSY,
  INTERRUPT_SCRIPT,
  interruptCells,
} from './control-protocol';
import {
  completeness,
  createCellCompiler,
  loopBodies,
  type CellCompiler,
  type QuickInfo,
} from './tslab-adapter';

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

/** Source of an executed cell: what the user wrote and the JavaScript that ran (line for line). */
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

/** The message of the error a loop check throws; traceback.ts reports it as KeyboardInterrupt. */
export const LOOP_INTERRUPT_MESSAGE = 'Script execution was interrupted inside a loop of the cell';
/** The message an awaiting cell is abandoned with. */
export const ASYNC_INTERRUPT_MESSAGE = 'Interrupted asynchronously';

const MAX_KEPT_CELLS = 500;
const LOOP_KEYWORD = /\b(?:for|while|do)\b/;
/** Name of the interrupt check inside a cell's wrapper function (a parameter, not a global). */
const CHECK = '__efflab_check__';
/** Global through which a cell's wrapper receives exports, require and the check. */
const RUNTIME = '__efflab_cell__';

const ES_MODULE_MARK = 'Object.defineProperty(exports, "__esModule", { value: true });';
/** A call, a `new`, a tagged or plain template (may call), or a loop: code that may run long. */
const MAY_RUN_LONG = /[\w$)\]'"`]\s*\(|\bnew\b|`|\b(?:for|while|do)\b/;

/**
 * Whether a cell's JavaScript needs Node's SIGINT watchdog (`breakOnSigint`), which starts and
 * stops a thread per run (0.1-0.3 ms, more on a loaded machine). Code with no call, `new`,
 * template or loop (an expression such as `x + 1`, a declaration of values) cannot run long, so it
 * runs without; everything else keeps it, so SIGINT still stops long synchronous calls.
 * (A getter defined in a library that loops forever is the one thing this misses.)
 */
export function needsSigintWatchdog(js: string): boolean {
  return MAY_RUN_LONG.test(js.replace(ES_MODULE_MARK, ''));
}

/**
 * Inserts a call of `check` at the start of every loop body of `js`, on the same lines (so stack
 * traces keep their line numbers).
 */
export function instrumentLoops(js: string, check: string = CHECK): string {
  if (!LOOP_KEYWORD.test(js)) return js;
  const edits: { at: number; text: string }[] = [];
  for (const body of loopBodies(js)) {
    if (body.close === undefined) edits.push({ at: body.open, text: `${check}();` });
    else edits.push({ at: body.open, text: `{${check}();` }, { at: body.close, text: '}' });
  }
  edits.sort((a, b) => b.at - a.at);
  let out = js;
  for (const e of edits) out = out.slice(0, e.at) + e.text + out.slice(e.at);
  return out;
}

/** A module object the cell's `require` can load local `.ts` files (compiled by the converter) into. */
interface CompilableModule extends NodeJS.Module {
  _compile(content: string, filename: string): void;
}

/** Runs TypeScript cells in this process. */
export class Engine {
  private readonly compiler: CellCompiler;
  private readonly exports: Record<string, unknown> = {};
  private readonly exportsProxy: Record<string, unknown>;
  private readonly require: NodeJS.Require;
  private readonly sideOutputs = new Map<string, string>();
  private readonly sideModules = new Map<string, NodeJS.Module>();
  private readonly cells = new Map<number, CellSource>();
  private prevDeclarations = '';
  /**
   * Declarations put before the cells' own when type checking, set by `preload`: an import that
   * names nothing but keeps the library's declaration files in every compiler program.
   */
  private prelude = '';
  private abandon?: (error: Error) => void;
  private scripts = 0;

  /**
   * @param rootDir folder cells run in (module resolution of `require`).
   * @param interrupts the shared interrupt counters (see control-protocol.ts).
   */
  constructor(
    rootDir: string,
    private readonly interrupts: Int32Array = interruptCells(),
  ) {
    this.compiler = createCellCompiler();
    this.exportsProxy = this.createExports();
    const base = Module.createRequire(path.join(rootDir, 'src.js'));
    this.require = Object.assign(this.wrapRequire(base, rootDir), {
      resolve: base.resolve,
      cache: base.cache,
      main: base.main,
      extensions: base.extensions,
    });
    const cells = this.interrupts;
    const check = (): void => {
      const requested = Atomics.load(cells, INTERRUPT_REQUESTED);
      if (requested === Atomics.load(cells, INTERRUPT_HONOURED)) return;
      Atomics.store(cells, INTERRUPT_HONOURED, requested);
      const error = new Error(LOOP_INTERRUPT_MESSAGE);
      Error.captureStackTrace(error, check);
      throw error;
    };
    Object.defineProperty(globalThis, RUNTIME, {
      value: Object.freeze({ exports: this.exportsProxy, require: this.require, check }),
      configurable: true,
      enumerable: false,
      writable: false,
    });
  }

  /**
   * TypeScript's CommonJS output declares imported names with `defineProperty` getters; they are
   * stored as plain values instead so that a later cell may assign to them.
   */
  private createExports(): Record<string, unknown> {
    const target = this.exports;
    return new Proxy(target, {
      defineProperty: (_t, prop, attrs) => {
        if (prop === '__esModule') return true;
        target[prop as string] = attrs.get ? (attrs.get as () => unknown)() : attrs.value;
        return true;
      },
    });
  }

  /** `require` from `rootDir` that also loads the JavaScript of local `.ts` files cells import. */
  private wrapRequire(base: (id: string) => unknown, dirname: string): (id: string) => unknown {
    const fromSide = (id: string): unknown => {
      let filename = path.resolve(dirname, id);
      if (path.extname(filename) === '') filename += '.js';
      const cached = this.sideModules.get(filename);
      if (cached) return cached.exports;
      const js = this.sideOutputs.get(filename);
      if (js === undefined) return undefined;
      const mod = new Module(filename, module) as CompilableModule;
      mod.filename = filename;
      mod.paths = (Module as unknown as { _nodeModulePaths(dir: string): string[] })._nodeModulePaths(
        path.dirname(filename),
      );
      const own = Module.createRequire(filename);
      mod.require = Object.assign(this.wrapRequire(own, path.dirname(filename)), {
        resolve: own.resolve,
        cache: own.cache,
        main: own.main,
        extensions: own.extensions,
      });
      this.sideModules.set(filename, mod);
      // Local modules' loops can be interrupted too; they reach the check through the global.
      mod._compile(instrumentLoops(js, `${RUNTIME}.check`), filename);
      return mod.exports;
    };
    return (id: string): unknown => {
      if (id.startsWith('.') || path.isAbsolute(id)) {
        const side = fromSide(id);
        if (side !== undefined) return side;
      }
      return base(id);
    };
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
    Atomics.store(this.interrupts, INTERRUPT_BUSY, 1);
    try {
      return await this.executeMarked(code, n);
    } finally {
      Atomics.store(this.interrupts, INTERRUPT_BUSY, 0);
    }
  }

  private async executeMarked(code: string, n: number): Promise<Outcome> {
    const result = this.compiler.compile(this.prelude + this.prevDeclarations, code);
    if (!result.ok) {
      return {
        kind: 'compile-error',
        diagnostics: result.diagnostics.map((d) => ({
          line: d.line + 1,
          column: d.character + 1,
          message: d.message,
          ...(d.fileName ? { file: d.fileName } : {}),
        })),
      };
    }
    const compiled = result.compiled;
    for (const side of compiled.sideOutputs) {
      this.sideModules.delete(side.path);
      this.sideOutputs.set(side.path, side.js);
    }
    if (compiled.js === undefined || compiled.js === '') {
      this.prevDeclarations = compiled.declarations;
      return { kind: 'ok', hasValue: false, value: undefined, warnings: [] };
    }
    const prefix = compiled.hasTopLevelAwait
      ? `(async function(exports, require, ${CHECK}) { `
      : `(function(exports, require, ${CHECK}) { `;
    const suffix = `\n})(${RUNTIME}.exports, ${RUNTIME}.require, ${RUNTIME}.check)`;
    this.remember(n, { ts: code, js: prefix + compiled.js + suffix });
    // Whatever happens from here on, the cell's declarations exist (with the values they reached).
    this.prevDeclarations = compiled.declarations;
    let returned: unknown;
    try {
      if (this.takeInterrupt()) throw new Error('Script execution was interrupted before it started');
      Atomics.store(this.interrupts, INTERRUPT_SCRIPT, (this.scripts = (this.scripts % 0x7fffffff) + 1));
      returned = vm.runInThisContext(prefix + instrumentLoops(compiled.js) + suffix, {
        filename: `<cell ${n}>`,
        breakOnSigint: needsSigintWatchdog(compiled.js),
      });
    } catch (error) {
      return { kind: 'runtime-error', error };
    } finally {
      Atomics.store(this.interrupts, INTERRUPT_SCRIPT, 0);
    }
    // The synchronous part is over: the loop checks and the awaits take interrupts from here.
    Atomics.store(this.interrupts, INTERRUPT_BUSY, 0);
    if (compiled.hasTopLevelAwait) {
      const abandoned = new Promise<never>((_, reject) => {
        this.abandon = reject;
      });
      try {
        await Promise.race([returned, abandoned]);
      } catch (error) {
        return { kind: 'runtime-error', error };
      } finally {
        this.abandon = undefined;
      }
    }
    const name = compiled.lastExpressionVar;
    if (name === undefined || !(name in this.exports)) {
      return { kind: 'ok', hasValue: false, value: undefined, warnings: [] };
    }
    const value = this.exports[name];
    delete this.exports[name];
    // As tslab does: a last expression that is null or undefined shows nothing.
    const hasValue = value !== undefined && value !== null;
    return { kind: 'ok', hasValue, value: hasValue ? value : undefined, warnings: [] };
  }

  private remember(n: number, source: CellSource): void {
    this.cells.set(n, source);
    if (this.cells.size > MAX_KEPT_CELLS) {
      const oldest = this.cells.keys().next().value;
      if (oldest !== undefined) this.cells.delete(oldest);
    }
  }

  /** Runs compiler work marked busy, so the control worker's watchdog knows the thread is working. */
  private busy<T>(work: () => T): T {
    Atomics.store(this.interrupts, INTERRUPT_BUSY, 1);
    try {
      return work();
    } finally {
      Atomics.store(this.interrupts, INTERRUPT_BUSY, 0);
    }
  }

  /**
   * Loads the declaration files of `moduleName` into the compiler ahead of the first cell that
   * imports it (reading, parsing and binding efflab's declarations is most of that cell's time).
   * From then on every compilation sees them through an import of nothing, so they stay loaded
   * even while no cell imports the module, and the cell that does import it finds them parsed.
   * Adds no name to the cells' scope. True when the module's declarations were found and loaded.
   */
  preload(moduleName: string): boolean {
    if (this.prelude !== '') return true;
    const prelude = `import {} from ${JSON.stringify(moduleName)};\n`;
    // Also compiled as a cell of its own, so that a module the compiler cannot find is an error
    // here; with the prelude already among the declarations, the next cell changes only itself.
    const result = this.busy(() => this.compiler.compile(prelude + this.prevDeclarations, prelude));
    if (!result.ok) return false;
    this.prelude = prelude;
    return true;
  }

  /** Completion candidates at `cursor` (a UTF-16 offset into `code`). */
  complete(code: string, cursor: number): Completion {
    const info = this.busy(() => this.compiler.complete(this.prelude + this.prevDeclarations, code, cursor));
    return {
      start: info.start,
      end: info.end,
      matches: info.candidates,
      kinds: info.candidates.map((name) => info.kinds.get(name) ?? ''),
    };
  }

  /** Type and documentation of the symbol at `cursor`, or undefined when there is none. */
  inspect(code: string, cursor: number): QuickInfo | undefined {
    for (const at of [cursor, cursor - 1]) {
      if (at < 0) continue;
      const info = this.busy(() => this.compiler.inspect(this.prelude + this.prevDeclarations, code, at));
      if (info) return info;
    }
    return undefined;
  }

  /** Whether `code` is ready to run, needs more lines, or cannot parse. */
  isComplete(code: string): Completeness {
    return completeness(code);
  }

  /** Marks every interrupt requested so far as honoured; true when one was still pending. */
  takeInterrupt(): boolean {
    const requested = Atomics.load(this.interrupts, INTERRUPT_REQUESTED);
    return Atomics.exchange(this.interrupts, INTERRUPT_HONOURED, requested) !== requested;
  }

  /** Abandons a cell that is awaiting (a cell stuck in synchronous code is stopped by SIGINT). */
  interrupt(): void {
    this.abandon?.(new Error(ASYNC_INTERRUPT_MESSAGE));
  }

  /** Forgets all variables declared by earlier cells. */
  reset(): void {
    this.prevDeclarations = '';
    for (const name of Object.getOwnPropertyNames(this.exports)) delete this.exports[name];
    this.cells.clear();
  }

  /** Releases the compiler's watchers so the process can exit. */
  close(): void {
    this.compiler.close();
  }
}
