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

function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

/** The history of this kernel session plus read access to earlier ones. */
export class History {
  readonly session: number;
  private readonly file: string;
  private readonly current: HistoryEntry[] = [];
  private persist = true;
  private out?: WriteStream;

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

  /** Records an executed cell. */
  record(line: number, input: string, output: string | null): void {
    const entry: HistoryEntry = { session: this.session, line, input, output };
    this.current.push(entry);
    if (!this.persist) return;
    // Appended asynchronously so a slow disk never delays a cell's reply.
    if (!this.out) {
      this.out = createWriteStream(this.file, { flags: 'a' });
      this.out.on('error', () => {
        this.persist = false;
      });
    }
    this.out.write(`${JSON.stringify(entry)}\n`);
  }

  /** Resolves once recorded entries are on disk. */
  flush(): Promise<void> {
    const out = this.out;
    if (!out || !this.persist) return Promise.resolve();
    return new Promise((resolve) => out.write('', () => resolve()));
  }

  /** The last `n` entries. */
  tail(n: number): HistoryEntry[] {
    const all = this.all();
    return n > 0 ? all.slice(-n) : [];
  }

  /** Entries of `session` (0 = this one, negative = counted back) with start <= line < stop. */
  range(session: number, start: number, stop: number | null): HistoryEntry[] {
    const s = session > 0 ? session : this.session + session;
    return this.load(s).filter((e) => e.line >= start && (stop === null || e.line < stop));
  }

  /** Entries whose input matches a glob `pattern`; the last `n` (all when n is null), optionally unique. */
  search(pattern: string, n: number | null, unique: boolean): HistoryEntry[] {
    const re = globToRegExp(pattern);
    let hits = this.all().filter((e) => re.test(e.input));
    if (unique) {
      const seen = new Set<string>();
      const kept: HistoryEntry[] = [];
      for (let i = hits.length - 1; i >= 0; i--) {
        if (seen.has(hits[i].input)) continue;
        seen.add(hits[i].input);
        kept.unshift(hits[i]);
      }
      hits = kept;
    }
    return n !== null && n > 0 ? hits.slice(-n) : hits;
  }
}
