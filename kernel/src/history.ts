/**
 * Input history, persisted per kernel session. Each kernel process claims the next session number
 * by creating `session-<n>.jsonl` exclusively in the history folder and appends one JSON line per
 * executed cell. `tail` and `search` read earlier sessions too, as IPython does.
 */
import {
  createWriteStream,
  mkdirSync,
  openSync,
  closeSync,
  readdirSync,
  readFileSync,
  type WriteStream,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** One history entry: session, line (execution count), input and optional output text. */
export interface HistoryEntry {
  session: number;
  line: number;
  input: string;
  output: string | null;
}

const MAX_SESSIONS_READ = 100;

/** The default history folder: $EFFLAB_HISTORY_DIR, else $XDG_DATA_HOME/efflab/history. */
export function defaultHistoryDir(): string {
  if (process.env.EFFLAB_HISTORY_DIR) return process.env.EFFLAB_HISTORY_DIR;
  const data = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'efflab', 'history');
}

/**
 * A Unix glob as SQLite's GLOB reads it (what IPython's history search uses): `*` any run, `?` one
 * character, `[abc]` / `[a-z]` / `[^abc]` a class; case-sensitive; the whole input must match.
 */
export function globToRegExp(pattern: string): RegExp {
  let body = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*') body += '[\\s\\S]*';
    else if (c === '?') body += '[\\s\\S]';
    else if (c === '[') {
      const close = pattern.indexOf(']', i + 2);
      if (close < 0) body += '\\[';
      else {
        let cls = pattern.slice(i + 1, close);
        const negate = cls.startsWith('^');
        if (negate) cls = cls.slice(1);
        body += `[${negate ? '^' : ''}${cls.replace(/[\\\]^]/g, '\\$&')}]`;
        i = close;
      }
    } else body += c.replace(/[.+^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^${body}$`, 'u');
}

/** The history of this kernel session plus read access to earlier ones. */
export class History {
  readonly session: number;
  private readonly file: string;
  private readonly current: HistoryEntry[] = [];
  private persist = true;
  private out?: WriteStream;
  /** Entries recorded but not yet handed to the file (see `record`). */
  private unwritten: HistoryEntry[] = [];
  private pendingWrite?: NodeJS.Immediate;

  constructor(private readonly dir: string = defaultHistoryDir()) {
    let session = 1;
    try {
      mkdirSync(dir, { recursive: true });
      session = this.sessionNumbers().reduce((a, b) => Math.max(a, b), 0) + 1;
      for (; ; session++) {
        try {
          closeSync(openSync(this.fileOf(session), 'wx'));
          break;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
      }
    } catch {
      this.persist = false;
    }
    this.session = session;
    this.file = this.fileOf(session);
  }

  private fileOf(session: number): string {
    return path.join(this.dir, `session-${session}.jsonl`);
  }

  private sessionNumbers(): number[] {
    return readdirSync(this.dir)
      .map((f) => /^session-(\d+)\.jsonl$/.exec(f))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]));
  }

  private load(session: number): HistoryEntry[] {
    if (session === this.session) return this.current;
    try {
      return readFileSync(this.fileOf(session), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as HistoryEntry);
    } catch {
      return [];
    }
  }

  /** All entries, oldest session first (earlier sessions read from disk, bounded). */
  private all(): HistoryEntry[] {
    if (!this.persist) return this.current;
    const sessions = this.sessionNumbers()
      .filter((s) => s !== this.session)
      .sort((a, b) => a - b)
      .slice(-MAX_SESSIONS_READ);
    return [...sessions.flatMap((s) => this.load(s)), ...this.current];
  }

  /**
   * Records an executed cell. The line is appended to the session's file on the next turn of the
   * event loop (`setImmediate`), after the cell's reply has gone out, so neither the JSON nor the
   * write is on the reply's path; and it is written before the next request is read, so a cell
   * that then hangs the kernel cannot take the ones before it out of the file.
   */
  record(line: number, input: string, output: string | null): void {
    const entry: HistoryEntry = { session: this.session, line, input, output };
    this.current.push(entry);
    if (!this.persist) return;
    this.unwritten.push(entry);
    this.pendingWrite ??= setImmediate(() => this.writeOut());
  }

  private writeOut(): void {
    this.pendingWrite = undefined;
    if (this.unwritten.length === 0 || !this.persist) return;
    const text = this.unwritten.map((e) => `${JSON.stringify(e)}\n`).join('');
    this.unwritten = [];
    if (!this.out) {
      this.out = createWriteStream(this.file, { flags: 'a' });
      this.out.on('error', () => {
        this.persist = false;
      });
    }
    this.out.write(text);
  }

  /** Resolves once recorded entries are on disk. */
  flush(): Promise<void> {
    if (this.pendingWrite) clearImmediate(this.pendingWrite);
    this.writeOut();
    const out = this.out;
    if (!out || !this.persist) return Promise.resolve();
    return new Promise((resolve) => out.write('', () => resolve()));
  }

  /**
   * The last `n` entries of all sessions, this one last (IPython's `get_tail` with
   * `include_latest`, as ipykernel calls it); n = null means 10.
   */
  tail(n: number | null): HistoryEntry[] {
    const count = n ?? 10;
    return count > 0 ? this.all().slice(-count) : [];
  }

  /**
   * Entries of `session` (0 = this one, negative = counted back) with start <= line < stop, as
   * IPython's `get_range`. For this session, start and stop may count back from the end (negative)
   * and a null, zero or too large stop means the end; line 0 is IPython's empty placeholder entry.
   * Unlike ipykernel, which reports this session's entries as session 0, the real session number
   * is reported, so that a range asked for with the number `tail` gave comes back with it (what
   * jupyter_kernel_test checks).
   */
  range(session: number, start: number, stop: number | null): HistoryEntry[] {
    const s = session > 0 ? session : this.session + session;
    if (s !== this.session) {
      return this.load(s).filter((e) => e.line >= start && (!stop || e.line < stop));
    }
    const size = (this.current.at(-1)?.line ?? 0) + 1;
    const from = start < 0 ? start + size : start;
    const to = !stop || stop > size ? size : stop < 0 ? stop + size : stop;
    const byLine = new Map(this.current.map((e) => [e.line, e]));
    const out: HistoryEntry[] = [];
    for (let line = Math.max(0, from); line < to; line++) {
      if (line === 0) out.push({ session: this.session, line: 0, input: '', output: null });
      const entry = byLine.get(line);
      if (entry) out.push(entry);
    }
    return out;
  }

  /**
   * Entries whose input matches the glob `pattern`, oldest first, as IPython's `search`: with
   * `unique`, one entry per distinct input, its latest; with `n` (not null), only the last n of
   * those (n = 0 gives none).
   */
  search(pattern: string, n: number | null, unique: boolean): HistoryEntry[] {
    const re = globToRegExp(pattern);
    let hits = this.all().filter((e) => re.test(e.input));
    if (unique) {
      const latest = new Map<string, HistoryEntry>();
      for (const e of hits) {
        latest.delete(e.input);
        latest.set(e.input, e);
      }
      hits = [...latest.values()];
    }
    if (n === null) return hits;
    return n > 0 ? hits.slice(-n) : [];
  }
}
