/**
 * Error reports for the frontend: ename, evalue and traceback lines that point at the user's cell
 * and line. Cells run as transpiled JavaScript (`<cell N>` in stack traces); a JavaScript line is
 * mapped back to the TypeScript line whose tokens it matches best, which is exact for the common
 * case (type annotations removed, references to earlier cells' variables prefixed by `exports.`).
 */
import { inspect } from 'node:util';
import type { CellDiagnostic, CellSource } from './engine';

/** What the iopub `error` message and the error reply carry. */
export interface ErrorReport {
  ename: string;
  evalue: string;
  traceback: string[];
}

const RED = '\u001b[0;31m';
const GREEN = '\u001b[0;32m';
const CYAN = '\u001b[0;36m';
const BOLD = '\u001b[1m';
const RESET = '\u001b[0m';

const FRAME = /^\s*at (?:(.*?) \()?<cell (\d+)>:(\d+):(\d+)\)?\s*$/;
const INTERNAL_FRAME =
  /\(node:|^\s*at node:|node_modules[\\/]tslab[\\/]|[\\/]kernel[\\/]src[\\/]|^\s*at new Promise \(<anonymous>\)$/;
const TOKEN =
  /[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`|[{}()[\];,.=+\-*/<>!?:&|]/g;

function tokens(line: string): string[] {
  return (line.match(TOKEN) ?? []).map((t) => t.replace(/^'(.*)'$/, '"$1"'));
}

/**
 * The 1-based TypeScript line of cell source `ts` that produced JavaScript line `jsLine` of `js`
 * (as numbered in stack traces), or undefined when nothing matches.
 */
export function mapLine(source: CellSource, jsLine: number): number | undefined {
  const jsText = source.js.split('\n')[jsLine - 1];
  if (jsText === undefined) return undefined;
  const wanted = tokens(
    jsText
      .replace(/\bexports\./g, '')
      .replace(/^\(async function\(exports, require\) \{ |^\(function\(exports, require\) \{ /, ''),
  );
  if (wanted.length === 0) return undefined;
  const tsLines = source.ts.split('\n');
  let best: { line: number; score: number } | undefined;
  tsLines.forEach((text, i) => {
    const have = tokens(text);
    if (have.length === 0) return;
    const pool = new Map<string, number>();
    for (const t of have) pool.set(t, (pool.get(t) ?? 0) + 1);
    let common = 0;
    for (const t of wanted) {
      const left = pool.get(t) ?? 0;
      if (left > 0) {
        common++;
        pool.set(t, left - 1);
      }
    }
    const extra = have.length - common;
    const score = common / wanted.length - 0.01 * extra;
    if (common > 0 && (!best || score > best.score)) best = { line: i + 1, score };
  });
  return best && best.score > 0.3 ? best.line : undefined;
}

function excerpt(source: string, line: number, column?: number): string[] {
  const lines = source.split('\n');
  const out: string[] = [];
  const width = String(Math.min(lines.length, line + 1)).length;
  for (let i = Math.max(1, line - 2); i <= Math.min(lines.length, line + 1); i++) {
    const mark = i === line ? `${GREEN}---> ` : '     ';
    out.push(`${mark}${String(i).padStart(width)}${RESET} ${lines[i - 1]}`);
    if (i === line && column !== undefined) out.push(`${' '.repeat(6 + width + column - 1)}${RED}^${RESET}`);
  }
  return out;
}

function describe(value: unknown): { ename: string; evalue: string; stack?: string } {
  if (value instanceof Error) {
    const ename = value.name || value.constructor?.name || 'Error';
    return { ename, evalue: value.message, stack: value.stack };
  }
  if (typeof value === 'object' && value !== null && 'message' in value) {
    const named = value as { name?: unknown; message: unknown; stack?: unknown };
    return {
      ename: typeof named.name === 'string' ? named.name : 'Error',
      evalue: String(named.message),
      stack: typeof named.stack === 'string' ? named.stack : undefined,
    };
  }
  return { ename: 'Thrown', evalue: inspect(value, { depth: 2, breakLength: Infinity }) };
}

/** Whether a thrown value is the executor's interruption rather than the user's error. */
export function isInterruption(value: unknown): boolean {
  return (
    value instanceof Error &&
    (value.message === 'Interrupted asynchronously' ||
      value.message.startsWith('Script execution was interrupted'))
  );
}

/** A report for a value thrown by a cell; `cell` looks up sources of cells by number. */
export function runtimeReport(thrown: unknown, cell: (n: number) => CellSource | undefined): ErrorReport {
  if (isInterruption(thrown)) {
    return {
      ename: 'KeyboardInterrupt',
      evalue: 'interrupted',
      traceback: [`${RED}KeyboardInterrupt${RESET}: the cell was interrupted`],
    };
  }
  const { ename, evalue, stack } = describe(thrown);
  const traceback: string[] = [`${RED}${BOLD}${ename}${RESET}: ${evalue}`];
  let shownExcerpt = false;
  for (const raw of (stack ?? '').split('\n').slice(1)) {
    const frame = FRAME.exec(raw);
    if (frame) {
      const [, fn, cellNo, jsLine] = frame;
      const n = Number(cellNo);
      const source = cell(n);
      const line = source ? mapLine(source, Number(jsLine)) : undefined;
      // The cell's wrapper function (the first script line) maps to no user line: leave it out.
      if (line === undefined && source) continue;
      const where = `${CYAN}Cell [${n}]${RESET}${line !== undefined ? `, line ${line}` : ''}`;
      const name = fn?.replace(/^(?:Proxy|Object)\./, '').replace(/^async /, '');
      traceback.push(name && name !== 'eval' ? `${where}, in ${name}` : where);
      if (source && line !== undefined && !shownExcerpt) {
        traceback.push(...excerpt(source.ts, line));
        shownExcerpt = true;
      }
      continue;
    }
    if (!raw.trim() || INTERNAL_FRAME.test(raw)) continue;
    if (/^\s*at /.test(raw)) traceback.push(raw.replace(/^\s+/, '  '));
  }
  return { ename, evalue, traceback };
}

/** A report for compiler diagnostics of cell `n` with TypeScript source `code`. */
export function compileReport(diagnostics: readonly CellDiagnostic[], n: number, code: string): ErrorReport {
  const first = diagnostics[0];
  const evalue = first
    ? `${first.message}${diagnostics.length > 1 ? ` (and ${diagnostics.length - 1} more)` : ''}`
    : 'the cell did not compile';
  const traceback: string[] = [`${RED}${BOLD}TSError${RESET}: ${evalue}`];
  for (const d of diagnostics) {
    if (d.file) {
      traceback.push(`${CYAN}${d.file}${RESET}:${d.line}:${d.column} - ${d.message}`);
      continue;
    }
    traceback.push(`${CYAN}Cell [${n}]${RESET}, line ${d.line}, column ${d.column}: ${d.message}`);
    traceback.push(...excerpt(code, d.line, d.column));
  }
  return { ename: 'TSError', evalue, traceback };
}

/** Formats warnings (diagnostics of a `@module` cell that still ran) as plain text. */
export function warningText(diagnostics: readonly CellDiagnostic[]): string {
  return diagnostics
    .map((d) => `${d.file ? `${d.file} ` : ''}${d.line}:${d.column} - ${d.message}\n`)
    .join('');
}
