/**
 * The annotation store: a JSON file next to the notebook holding every decision, keyed by annotator and
 * candidate id. Each change is written at once (write to a temporary file, then rename), so a page reload,
 * a kernel restart or a crash loses nothing that was decided.
 */
import { FileFormatError, ValueError } from '../errors';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { validateDecision, type Decision } from '../protocol';

const FORMAT = 'efflab.annotations.v1';

/** Store names are plain file stems, so a name from a frontend message cannot point outside the folder. */
export function storePath(name: string, dir: string = process.cwd()): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$/.test(name)) {
    throw new ValueError(`annotation store name "${name}" must be letters, digits, '_', '.', '-' (max 100)`);
  }
  return resolve(join(dir, `${name}.annotations.json`));
}

export class AnnotationStore {
  private readonly byAnnotator = new Map<string, Map<string, Decision>>();

  private constructor(readonly path: string) {}

  /** Opens the store at `path`, reading what an earlier run saved (an empty store if there is no file). */
  static open(path: string): AnnotationStore {
    const store = new AnnotationStore(path);
    if (!existsSync(path)) return store;
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new FileFormatError(
        `annotation store ${path} is not valid JSON (${(err as Error).message}); fix or move it`,
      );
    }
    const obj = parsed as { format?: unknown; decisions?: unknown };
    if (obj?.format !== FORMAT || typeof obj.decisions !== 'object' || obj.decisions === null) {
      throw new FileFormatError(`annotation store ${path} is not an ${FORMAT} file`);
    }
    for (const [annotator, byId] of Object.entries(obj.decisions as Record<string, unknown>)) {
      if (typeof byId !== 'object' || byId === null)
        throw new FileFormatError(`annotation store ${path}: bad entry "${annotator}"`);
      for (const [id, raw] of Object.entries(byId as Record<string, unknown>)) {
        store.set(validateDecision(raw, `${path}: decisions["${annotator}"]["${id}"]`));
      }
    }
    return store;
  }

  /** Every decision, all annotators. */
  all(): Decision[] {
    return [...this.byAnnotator.values()].flatMap((m) => [...m.values()]);
  }

  /** One annotator's decisions. */
  of(annotator: string): Decision[] {
    return [...(this.byAnnotator.get(annotator)?.values() ?? [])];
  }

  annotators(): string[] {
    return [...this.byAnnotator.keys()].filter((a) => (this.byAnnotator.get(a)?.size ?? 0) > 0);
  }

  /** Records a decision and writes the file (read-modify-write, so other handles' changes survive). */
  put(d: Decision): void {
    this.reload();
    this.set(d);
    this.save();
  }

  /** Removes an annotator's decision on a candidate (undo) and writes the file. */
  remove(annotator: string, candidateId: string): void {
    this.reload();
    this.byAnnotator.get(annotator)?.delete(candidateId);
    this.save();
  }

  /** Re-reads the file, so this handle sees what other handles on the same file wrote. */
  reload(): void {
    const fresh = AnnotationStore.open(this.path);
    this.byAnnotator.clear();
    for (const [a, m] of fresh.byAnnotator) this.byAnnotator.set(a, m);
  }

  private set(d: Decision): void {
    const m = this.byAnnotator.get(d.annotator) ?? new Map<string, Decision>();
    m.set(d.candidateId, d);
    this.byAnnotator.set(d.annotator, m);
  }

  private save(): void {
    const decisions: Record<string, Record<string, Decision>> = {};
    for (const [a, m] of this.byAnnotator) decisions[a] = Object.fromEntries(m);
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ format: FORMAT, decisions }, null, 1)}\n`);
    renameSync(tmp, this.path);
  }
}
