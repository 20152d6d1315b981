/**
 * Rule annotation (PRBoost's human-in-the-loop step, thesis §2.4.2): the candidate rules, the decisions an
 * annotator makes on them (d_j = 1 accept, 0 reject, or skip), the rows a candidate would match, the
 * validators of all of them, and the annotation state machine: which candidates were decided, which of the
 * proposed words were kept (|V_rj| ≤ k, Eq. 2.6), an undo history, a label filter, the progress count and
 * how long each decision took.
 *
 * Plain TypeScript without DOM or node types, so the JupyterLab frontend, the kernel-side library and the
 * unit tests all run the same code.
 */
import { FileFormatError, NotFoundError, ValueError } from '../errors';
import { describe, requireFinite, requireObject, requireString, requireStrings } from './check';

/** One row a candidate rule would match (shown so the annotator can judge the rule by its effect). */
export interface MatchExample {
  /** The row's text (dataset text: untrusted, always rendered as text, never as markup). */
  readonly text: string;
  /** The row's gold or current weak label, when known. */
  readonly label?: string;
}

/** Which rows a candidate (with a given set of kept words) would label. */
export interface MatchPreview {
  /** How many rows it matches. */
  readonly count: number;
  /** Out of how many rows (the pool matched against), when known. */
  readonly total?: number;
  /** A few of the matched rows. */
  readonly examples: readonly MatchExample[];
}

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
  /** The rows this candidate matches with all its words kept (optional; the kernel may compute it on demand). */
  readonly matches?: MatchPreview;
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
  /**
   * Milliseconds from the moment the candidate was brought on screen to the verdict (the thesis reports
   * under 3 s per rule). Absent in stores written before it was recorded.
   */
  readonly durationMs?: number;
}

/** What a state change means for the store: a decision to save, or a decision to remove. */
export type AnnotationEvent =
  | { readonly kind: 'decided'; readonly decision: Decision }
  | { readonly kind: 'retracted'; readonly candidateId: string; readonly annotator: string };

/** At most this many example rows travel with a preview. */
export const MAX_MATCH_EXAMPLES = 20;

/** Checks a match preview (from a cell's preview function or the wire); throws `E` naming the problem. */
export function validateMatchPreview(
  input: unknown,
  where: string,
  E: typeof ValueError | typeof FileFormatError = ValueError,
): MatchPreview {
  const r = requireObject(input, where, E);
  const count = requireFinite(r.count, `${where}.count`, E);
  if (!Number.isInteger(count) || count < 0)
    throw new E(`${where}.count must be a whole number ≥ 0, got ${count}`);
  let total: number | undefined;
  if (r.total !== undefined) {
    total = requireFinite(r.total, `${where}.total`, E);
    if (!Number.isInteger(total) || total < count)
      throw new E(`${where}.total must be a whole number ≥ count (${count}), got ${total}`);
  }
  if (!Array.isArray(r.examples))
    throw new E(`${where}.examples must be an array, got ${describe(r.examples)}`);
  const examples = r.examples.slice(0, MAX_MATCH_EXAMPLES).map((raw: unknown, i: number): MatchExample => {
    if (typeof raw === 'string') return { text: raw };
    const ex = requireObject(raw, `${where}.examples[${i}]`, E);
    const text = requireString(ex.text, `${where}.examples[${i}].text`, E);
    if (ex.label === undefined) return { text };
    return { text, label: requireString(ex.label, `${where}.examples[${i}].label`, E) };
  });
  return total === undefined ? { count, examples } : { count, total, examples };
}

/**
 * Checks untrusted candidates (a cell's argument, a JSON file, a MIME bundle) and returns typed copies;
 * throws `ValueError` naming the candidate and the field.
 */
export function validateCandidates(input: unknown): RuleCandidate[] {
  if (!Array.isArray(input)) throw new ValueError(`candidates must be an array, got ${describe(input)}`);
  if (input.length === 0) throw new ValueError('candidates is empty: there is nothing to annotate');
  const seen = new Set<string>();
  return input.map((raw: unknown, i: number): RuleCandidate => {
    const r = requireObject(raw, `candidates[${i}]`, ValueError);
    const id = requireString(r.id, `candidates[${i}].id`, ValueError);
    if (id.length === 0) throw new ValueError(`candidates[${i}].id is empty`);
    if (seen.has(id)) throw new ValueError(`candidates[${i}].id "${id}" is not unique`);
    seen.add(id);
    const at = (field: string): string => `candidates[${i}].${field} (id "${id}")`;
    const prompt = requireString(r.prompt, at('prompt'), ValueError);
    const label = requireString(r.label, at('label'), ValueError);
    if (label.trim().length === 0) throw new ValueError(`${at('label')} is empty`);
    const instance = requireString(r.instance ?? '', at('instance'), ValueError);
    const words = requireStrings(r.words, at('words'), ValueError);
    if (words.length === 0) throw new ValueError(`${at('words')} is empty: a rule needs at least one word`);
    const c = { id, prompt, label, words, instance };
    return r.matches === undefined ? c : { ...c, matches: validateMatchPreview(r.matches, at('matches')) };
  });
}

/** Checks one persisted or received decision; throws `FileFormatError` naming the problem. */
export function validateDecision(input: unknown, where: string): Decision {
  const r = requireObject(input, where, FileFormatError);
  const verdict = requireString(r.verdict, `${where}.verdict`, FileFormatError);
  if (!(VERDICTS as readonly string[]).includes(verdict)) {
    throw new FileFormatError(`${where}.verdict must be one of ${VERDICTS.join(', ')}, got "${verdict}"`);
  }
  const d: Decision = {
    candidateId: requireString(r.candidateId, `${where}.candidateId`, FileFormatError),
    verdict: verdict as Verdict,
    keptWords: requireStrings(r.keptWords, `${where}.keptWords`, FileFormatError),
    annotator: requireString(r.annotator, `${where}.annotator`, FileFormatError),
    decidedAt: requireString(r.decidedAt, `${where}.decidedAt`, FileFormatError),
  };
  if (r.durationMs === undefined) return d;
  const ms = requireFinite(r.durationMs, `${where}.durationMs`, FileFormatError);
  if (ms < 0) throw new FileFormatError(`${where}.durationMs must be ≥ 0, got ${ms}`);
  return { ...d, durationMs: ms };
}

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
