/**
 * The annotation state machine (thesis §2.4.2): one annotator's pass over candidate rules — which were
 * decided, which proposed words were kept (|V_rj| ≤ k, Eq. 2.6), an undo history, a label filter, the
 * progress count, the rows each edited candidate would match, and how long each decision took.
 * DOM-free and node-free: the widget, the kernel side and the tests run the same code.
 */
import { NotFoundError, ValueError } from '../errors';
import { describe } from './check';
import {
  VERDICTS,
  type AnnotationEvent,
  type Decision,
  type MatchPreview,
  type RuleCandidate,
  type Verdict,
} from './annotation';

/** Progress as the widget prints it: "12 / 100". */
export interface Progress {
  readonly decided: number;
  readonly total: number;
  readonly text: string;
}

interface UndoEntry {
  readonly candidateId: string;
  readonly previous: Decision | undefined;
  readonly previousDraft: readonly boolean[] | undefined;
}

/** The key a preview is stored under: the kept words, in candidate order. */
function wordsKey(words: readonly string[]): string {
  return JSON.stringify(words);
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
  private readonly previews = new Map<string, Map<string, MatchPreview>>();
  private readonly history: UndoEntry[] = [];
  private filterLabel: string | null = null;
  private cursorId: string;
  private shownAt: number;

  /**
   * @param resumed decisions persisted earlier (any annotator; only this annotator's are used), so a reload,
   *   a kernel restart or a re-run continues where the annotator left off.
   * @param clock milliseconds now (injected so tests can drive time); times each decision.
   */
  constructor(
    candidates: readonly RuleCandidate[],
    annotator: string,
    resumed: readonly Decision[] = [],
    private readonly clock: () => number = Date.now,
  ) {
    if (candidates.length === 0) throw new ValueError('AnnotationState needs at least one candidate');
    if (typeof annotator !== 'string' || annotator.trim().length === 0)
      throw new ValueError('annotator name is empty');
    this.candidates = candidates;
    this.annotator = annotator;
    for (const c of candidates) {
      this.byId.set(c.id, c);
      if (c.matches) this.previews.set(c.id, new Map([[wordsKey(c.words), c.matches]]));
    }
    for (const d of resumed) {
      if (d.annotator !== annotator || !this.byId.has(d.candidateId)) continue;
      this.decided.set(d.candidateId, d);
    }
    this.cursorId = (candidates.find((c) => !this.decided.has(c.id)) ?? candidates[0]).id;
    this.shownAt = clock();
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
      throw new NotFoundError(`no candidate has label "${label}"`);
    }
    this.filterLabel = label;
    const vis = this.visible();
    if (!vis.some((c) => c.id === this.cursorId)) {
      this.moveTo((vis.find((c) => !this.decided.has(c.id)) ?? vis[0]).id);
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
    const c = this.candidate(candidateId);
    const draft = this.drafts.get(candidateId);
    if (draft) return [...draft];
    const d = this.decided.get(candidateId);
    if (d) return c.words.map((w) => d.keptWords.includes(w));
    return c.words.map(() => true);
  }

  /** The kept words of a candidate, in the candidate's order. */
  keptWords(candidateId: string): string[] {
    const kept = this.kept(candidateId);
    return this.candidate(candidateId).words.filter((_, i) => kept[i]);
  }

  /**
   * Keeps or drops the n-th proposed word (1-based, as the number keys) of the current candidate. The last
   * kept word cannot be dropped (a rule needs one word; reject the candidate instead).
   */
  toggleWord(n: number): void {
    const c = this.current();
    if (!Number.isInteger(n) || n < 1 || n > c.words.length) {
      throw new ValueError(
        `word number ${n} is out of range: candidate "${c.id}" has ${c.words.length} words`,
      );
    }
    const kept = this.kept(c.id);
    if (kept[n - 1] && kept.filter(Boolean).length === 1) {
      throw new ValueError(
        `"${c.words[n - 1]}" is the last kept word of candidate "${c.id}"; reject the candidate instead`,
      );
    }
    kept[n - 1] = !kept[n - 1];
    this.drafts.set(c.id, kept);
  }

  /** Records which rows the candidate matches with exactly these kept words (from the kernel). */
  setPreview(candidateId: string, keptWords: readonly string[], preview: MatchPreview): void {
    this.candidate(candidateId);
    const m = this.previews.get(candidateId) ?? new Map<string, MatchPreview>();
    m.set(wordsKey(keptWords), preview);
    this.previews.set(candidateId, m);
  }

  /** The preview for the candidate's currently kept words, if the kernel has supplied it. */
  preview(candidateId: string): MatchPreview | undefined {
    return this.previews.get(candidateId)?.get(wordsKey(this.keptWords(candidateId)));
  }

  /** Records a verdict on the current candidate and moves to the next undecided visible one. */
  decide(verdict: Verdict, now: Date = new Date(this.clock())): AnnotationEvent {
    if (!VERDICTS.includes(verdict)) throw new ValueError(`unknown verdict ${describe(verdict)}`);
    const c = this.current();
    this.history.push({
      candidateId: c.id,
      previous: this.decided.get(c.id),
      previousDraft: this.drafts.get(c.id),
    });
    const decision: Decision = {
      candidateId: c.id,
      verdict,
      keptWords: this.keptWords(c.id),
      annotator: this.annotator,
      decidedAt: now.toISOString(),
      durationMs: Math.max(0, now.getTime() - this.shownAt),
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
    if (!this.visible().some((c) => c.id === entry.candidateId)) this.filterLabel = null;
    this.moveTo(entry.candidateId);
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
    this.candidate(candidateId);
    if (!this.visible().some((c) => c.id === candidateId)) this.filterLabel = null;
    this.moveTo(candidateId);
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

  private candidate(candidateId: string): RuleCandidate {
    const c = this.byId.get(candidateId);
    if (!c) throw new NotFoundError(`unknown candidate id "${candidateId}"`);
    return c;
  }

  /** Puts a candidate under the cursor; its decision clock starts when it arrives there. */
  private moveTo(candidateId: string): void {
    if (candidateId === this.cursorId) return;
    this.cursorId = candidateId;
    this.shownAt = this.clock();
  }

  private step(delta: number): void {
    const vis = this.visible();
    const i = vis.findIndex((c) => c.id === this.cursorId);
    const j = Math.min(vis.length - 1, Math.max(0, i + delta));
    this.moveTo(vis[j].id);
  }

  /** After a decision: the next undecided visible candidate after the cursor, wrapping; else the next one. */
  private advance(): void {
    const vis = this.visible();
    const i = vis.findIndex((c) => c.id === this.cursorId);
    for (let k = 1; k <= vis.length; k++) {
      const c = vis[(i + k) % vis.length];
      if (!this.decided.has(c.id)) {
        this.moveTo(c.id);
        return;
      }
    }
    if (i + 1 < vis.length) this.moveTo(vis[i + 1].id);
    else this.shownAt = this.clock();
  }
}
