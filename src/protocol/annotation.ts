/**
 * Rule annotation (PRBoost's human-in-the-loop step, thesis §2.4.2): the candidate rules, the decisions an
 * annotator makes on them (d_j = 1 accept, 0 reject, or skip), the rows a candidate would match, and the
 * validators of all of them. The state machine that produces decisions is in annotation-state.ts.
 *
 * Plain TypeScript without DOM or node types, so the JupyterLab frontend, the kernel-side library and the
 * unit tests all run the same code.
 */
import { FileFormatError, ValueError } from '../errors';
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
