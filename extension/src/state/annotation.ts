/**
 * State of the rule-annotation widget (PRBoost's human-in-the-loop step, thesis §2.4.2): which candidate
 * rules an annotator accepted (d_j = 1), rejected (d_j = 0) or skipped, which of the proposed [MASK] words
 * they kept (|V_rj| ≤ k, Eq. 2.6), an undo history, a label filter and the progress count.
 *
 * Plain TypeScript without DOM types, so the JupyterLab frontend, the kernel-side library and the unit
 * tests all run the same code.
 */

/** One candidate rule as the widget shows it. */
export interface RuleCandidate {
  /** Stable key; decisions are persisted under it. */
  readonly id: string;
  /** The prompt template with its `[MASK]` slot, e.g. "[Input] Bill Gates [MASK] Microsoft." */
  readonly prompt: string;
  /** The label the rule assigns to the instances it matches. */
  readonly label: string;
  /** The words the prompting model proposed for the [MASK] slot (the rule's vocabulary V_rj). */
  readonly words: readonly string[];
  /** The source instance the prompt was built from. */
  readonly instance: string;
}

export type Verdict = 'accept' | 'reject' | 'skip';

export const VERDICTS: readonly Verdict[] = ['accept', 'reject', 'skip'];

/** One annotator's judgement of one candidate. */
export interface Decision {
  readonly candidateId: string;
  readonly verdict: Verdict;
  /** The proposed words the annotator kept (all of them unless some were dropped). */
  readonly keptWords: readonly string[];
  readonly annotator: string;
  /** ISO 8601 time of the decision. */
  readonly decidedAt: string;
}

/** What a state change means for the store: a decision to save, or a decision to remove. */
export type AnnotationEvent =
  | { readonly kind: 'decided'; readonly decision: Decision }
  | { readonly kind: 'retracted'; readonly candidateId: string; readonly annotator: string };

interface UndoEntry {
  readonly candidateId: string;
  readonly previous: Decision | undefined;
  readonly previousDraft: readonly boolean[] | undefined;
  readonly cursorId: string;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}

function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string, got ${describe(value)}`);
  return value;
}

/** Checks untrusted input (a cell's argument, a JSON file) and returns typed candidates; throws naming the problem. */
export function validateCandidates(input: unknown): RuleCandidate[] {
  if (!Array.isArray(input)) throw new TypeError(`candidates must be an array, got ${describe(input)}`);
  if (input.length === 0) throw new RangeError('candidates is empty: there is nothing to annotate');
  const seen = new Set<string>();
  return input.map((raw: unknown, i: number): RuleCandidate => {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new TypeError(`candidates[${i}] must be an object, got ${describe(raw)}`);
    }
    const r = raw as Record<string, unknown>;
    const id = requireString(r.id, `candidates[${i}].id`);
    if (id.length === 0) throw new RangeError(`candidates[${i}].id is empty`);
    if (seen.has(id)) throw new RangeError(`candidates[${i}].id "${id}" is not unique`);
    seen.add(id);
    const prompt = requireString(r.prompt, `candidates[${i}].prompt (id "${id}")`);
    const label = requireString(r.label, `candidates[${i}].label (id "${id}")`);
    const instance = requireString(r.instance ?? '', `candidates[${i}].instance (id "${id}")`);
    if (!Array.isArray(r.words)) {
      throw new TypeError(
        `candidates[${i}].words (id "${id}") must be an array of strings, got ${describe(r.words)}`,
      );
    }
    const words = r.words.map((w: unknown, k: number) =>
      requireString(w, `candidates[${i}].words[${k}] (id "${id}")`),
    );
    return { id, prompt, label, words, instance };
  });
}

/** Checks one persisted or received decision; throws naming the problem. */
export function validateDecision(input: unknown, where: string): Decision {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError(`${where} must be an object, got ${describe(input)}`);
  }
  const r = input as Record<string, unknown>;
  const verdict = requireString(r.verdict, `${where}.verdict`);
  if (!(VERDICTS as readonly string[]).includes(verdict)) {
    throw new RangeError(`${where}.verdict must be one of ${VERDICTS.join(', ')}, got "${verdict}"`);
  }
  if (!Array.isArray(r.keptWords)) throw new TypeError(`${where}.keptWords must be an array of strings`);
  return {
    candidateId: requireString(r.candidateId, `${where}.candidateId`),
    verdict: verdict as Verdict,
    keptWords: r.keptWords.map((w: unknown, k: number) => requireString(w, `${where}.keptWords[${k}]`)),
    annotator: requireString(r.annotator, `${where}.annotator`),
    decidedAt: requireString(r.decidedAt, `${where}.decidedAt`),
  };
}

/** Progress as the widget prints it: "12 / 100". */
export interface Progress {
  readonly decided: number;
  readonly total: number;
  readonly text: string;
}

/**
 * One annotator's pass over a list of candidates. Every mutating call returns the store events it caused,
 * so the caller can persist them as they happen.
 */
export class AnnotationState {
  readonly candidates: readonly RuleCandidate[];
  readonly annotator: string;
  private readonly byId = new Map<string, RuleCandidate>();
  private readonly decided = new Map<string, Decision>();
  private readonly drafts = new Map<string, boolean[]>();
  private readonly history: UndoEntry[] = [];
  private filterLabel: string | null = null;
  private cursorId: string;

  /**
   * @param resumed decisions persisted earlier (any annotator; only this annotator's are used), so a reload,
   *   a kernel restart or a re-run continues where the annotator left off.
   */
  constructor(candidates: readonly RuleCandidate[], annotator: string, resumed: readonly Decision[] = []) {
    if (candidates.length === 0) throw new RangeError('AnnotationState needs at least one candidate');
    if (annotator.trim().length === 0) throw new RangeError('annotator name is empty');
    this.candidates = candidates;
    this.annotator = annotator;
    for (const c of candidates) this.byId.set(c.id, c);
    for (const d of resumed) {
      if (d.annotator !== annotator || !this.byId.has(d.candidateId)) continue;
      this.decided.set(d.candidateId, d);
    }
    this.cursorId = (this.firstUndecided(0) ?? candidates[0]).id;
  }

  /** The candidates that pass the label filter, in their original order. */
  visible(): RuleCandidate[] {
    const f = this.filterLabel;
    return f === null ? [...this.candidates] : this.candidates.filter((c) => c.label === f);
  }

  /** Distinct labels in first-seen order (for the filter menu). */
  labels(): string[] {
    return [...new Set(this.candidates.map((c) => c.label))];
  }

  get filter(): string | null {
    return this.filterLabel;
  }

  /** Shows only candidates with this label (null: all). Moves to the first undecided one shown. */
  setFilter(label: string | null): void {
    if (label !== null && !this.candidates.some((c) => c.label === label)) {
      throw new RangeError(`no candidate has label "${label}"`);
    }
    this.filterLabel = label;
    const vis = this.visible();
    if (!vis.some((c) => c.id === this.cursorId)) {
      this.cursorId = (vis.find((c) => !this.decided.has(c.id)) ?? vis[0]).id;
    }
  }

  /** The candidate under the cursor. */
  current(): RuleCandidate {
    return this.byId.get(this.cursorId) as RuleCandidate;
  }

  /** Position of the cursor among the visible candidates (0-based) and their count. */
  position(): { index: number; count: number } {
    const vis = this.visible();
    return { index: vis.findIndex((c) => c.id === this.cursorId), count: vis.length };
  }

  decision(candidateId: string): Decision | undefined {
    return this.decided.get(candidateId);
  }

  /** This annotator's decisions in candidate order. */
  decisions(): Decision[] {
    return this.candidates.flatMap((c) => {
      const d = this.decided.get(c.id);
      return d ? [d] : [];
    });
  }

  /** Which proposed words of a candidate are kept: the draft, else the saved decision, else all. */
  kept(candidateId: string): boolean[] {
    const c = this.byId.get(candidateId);
    if (!c) throw new RangeError(`unknown candidate id "${candidateId}"`);
    const draft = this.drafts.get(candidateId);
    if (draft) return [...draft];
    const d = this.decided.get(candidateId);
    if (d) return c.words.map((w) => d.keptWords.includes(w));
    return c.words.map(() => true);
  }

  /** Keeps or drops the n-th proposed word (1-based, as the number keys) of the current candidate. */
  toggleWord(n: number): void {
    const c = this.current();
    if (!Number.isInteger(n) || n < 1 || n > c.words.length) {
      throw new RangeError(
        `word number ${n} is out of range: candidate "${c.id}" has ${c.words.length} words`,
      );
    }
    const kept = this.kept(c.id);
    kept[n - 1] = !kept[n - 1];
    this.drafts.set(c.id, kept);
  }

  /** Records a verdict on the current candidate and moves to the next undecided visible one. */
  decide(verdict: Verdict, now: Date = new Date()): AnnotationEvent {
    if (!VERDICTS.includes(verdict)) throw new RangeError(`unknown verdict "${String(verdict)}"`);
    const c = this.current();
    const kept = this.kept(c.id);
    this.history.push({
      candidateId: c.id,
      previous: this.decided.get(c.id),
      previousDraft: this.drafts.get(c.id),
      cursorId: this.cursorId,
    });
    const decision: Decision = {
      candidateId: c.id,
      verdict,
      keptWords: c.words.filter((_, i) => kept[i]),
      annotator: this.annotator,
      decidedAt: now.toISOString(),
    };
    this.decided.set(c.id, decision);
    this.drafts.delete(c.id);
    this.advance();
    return { kind: 'decided', decision };
  }

  /** Reverts the latest decision (restoring what it replaced) and returns to that candidate. */
  undo(): AnnotationEvent | undefined {
    const entry = this.history.pop();
    if (!entry) return undefined;
    if (entry.previousDraft) this.drafts.set(entry.candidateId, [...entry.previousDraft]);
    else this.drafts.delete(entry.candidateId);
    this.cursorId = entry.candidateId;
    if (!this.visible().some((c) => c.id === entry.candidateId)) this.filterLabel = null;
    if (entry.previous) {
      this.decided.set(entry.candidateId, entry.previous);
      return { kind: 'decided', decision: entry.previous };
    }
    this.decided.delete(entry.candidateId);
    return { kind: 'retracted', candidateId: entry.candidateId, annotator: this.annotator };
  }

  canUndo(): boolean {
    return this.history.length > 0;
  }

  /** Moves the cursor to a candidate (clearing the filter if it hides it). */
  goTo(candidateId: string): void {
    if (!this.byId.has(candidateId)) throw new RangeError(`unknown candidate id "${candidateId}"`);
    if (!this.visible().some((c) => c.id === candidateId)) this.filterLabel = null;
    this.cursorId = candidateId;
  }

  next(): void {
    this.step(1);
  }

  previous(): void {
    this.step(-1);
  }

  /** Decided count over all candidates (the filter does not change it). */
  progress(): Progress {
    const decided = this.candidates.filter((c) => this.decided.has(c.id)).length;
    const total = this.candidates.length;
    return { decided, total, text: `${decided} / ${total}` };
  }

  private step(delta: number): void {
    const vis = this.visible();
    const i = vis.findIndex((c) => c.id === this.cursorId);
    const j = Math.min(vis.length - 1, Math.max(0, i + delta));
    this.cursorId = vis[j].id;
  }

  /** After a decision: the next undecided visible candidate after the cursor, wrapping; else the next one. */
  private advance(): void {
    const vis = this.visible();
    const i = vis.findIndex((c) => c.id === this.cursorId);
    for (let k = 1; k <= vis.length; k++) {
      const c = vis[(i + k) % vis.length];
      if (!this.decided.has(c.id)) {
        this.cursorId = c.id;
        return;
      }
    }
    if (i + 1 < vis.length) this.cursorId = vis[i + 1].id;
  }

  private firstUndecided(from: number): RuleCandidate | undefined {
    return this.candidates.slice(from).find((c) => !this.decided.has(c.id));
  }
}
