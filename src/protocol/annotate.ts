/**
 * The annotation widget's wire contract: the `ANNOTATE_MIME` bundle a cell publishes, the data the widget
 * opens its comm with, and the messages both ways, each with a parser that checks untrusted input and
 * throws `FileFormatError` naming the problem.
 *
 * Flow: the cell publishes a bundle; the widget opens a comm on `ANNOTATE_TARGET` with `{ session, store }`
 * and receives `state` (saved decisions); every decision is sent as it is made and saved by the kernel;
 * `preview` asks which rows a candidate would match with a given set of kept words; `submit` resolves the
 * waiting cell. After a page reload the extension opens the comm with `{ probe: true }` and receives
 * `pending`: the bundles of the cells still waiting, so it can show their widgets again.
 */
import { FileFormatError } from '../errors';
import {
  validateCandidates,
  validateDecision,
  validateMatchPreview,
  type Decision,
  type MatchPreview,
  type RuleCandidate,
} from './annotation';
import { describe, requireObject, requireString, requireStrings } from './check';

/** The data of an `ANNOTATE_MIME` bundle. */
export interface AnnotateBundle {
  /** One call of annotateRules; the comm is opened with `{ session }`. */
  session: string;
  /** The store file (relative to the notebook) the decisions are saved in. */
  store: string;
  annotator: string;
  title: string;
  candidates: RuleCandidate[];
  /** Whether the kernel answers `preview` requests (the cell passed a matcher). */
  preview: boolean;
}

/** What the widget opens the comm with: one widget's session, or a probe for waiting cells. */
export type AnnotateOpenData = { session: string; store: string } | { probe: true };

/** Frontend → kernel on the annotate comm. */
export type AnnotateClientMessage =
  | { type: 'decide'; decision: Decision }
  | { type: 'retract'; candidateId: string; annotator: string }
  | { type: 'submit'; annotator: string }
  /** Which rows would this candidate match with only these words kept? */
  | { type: 'preview'; candidateId: string; keptWords: string[] }
  /** Sent every `PING_INTERVAL_MS` while the widget is open, so the kernel knows someone is there. */
  | { type: 'ping' };

/** Kernel → frontend on the annotate comm. */
export type AnnotateServerMessage =
  /** Sent on open: every saved decision (all annotators); `active` is false once the call has resolved. */
  | { type: 'state'; decisions: Decision[]; active: boolean }
  /** A decision or retraction was written to the store; `saved` counts this annotator's saved decisions. */
  | { type: 'saved'; saved: number }
  | { type: 'submitted'; annotator: string; count: number }
  | { type: 'preview'; candidateId: string; keptWords: string[]; matches: MatchPreview }
  /** Answer to a probe: the widgets of cells that are still waiting for an annotator. */
  | { type: 'pending'; bundles: AnnotateBundle[] }
  | { type: 'error'; message: string };

/** Checks an `ANNOTATE_MIME` bundle (from a notebook file or the kernel). */
export function parseAnnotateBundle(raw: unknown): AnnotateBundle {
  const b = requireObject(raw, 'annotation bundle', FileFormatError);
  const session = requireString(b.session, 'annotation bundle.session', FileFormatError);
  const store = requireString(b.store, 'annotation bundle.store', FileFormatError);
  let candidates: RuleCandidate[];
  try {
    candidates = validateCandidates(b.candidates);
  } catch (err) {
    throw new FileFormatError(`annotation bundle: ${(err as Error).message}`);
  }
  return {
    session,
    store,
    annotator: typeof b.annotator === 'string' && b.annotator.trim() ? b.annotator : 'annotator',
    title: typeof b.title === 'string' ? b.title : 'Candidate rules',
    candidates,
    preview: b.preview === true,
  };
}

/** Checks the data a frontend opened the annotate comm with. */
export function parseAnnotateOpen(raw: unknown): AnnotateOpenData {
  const d = requireObject(raw, 'annotate comm open data', FileFormatError);
  if (d.probe === true) return { probe: true };
  return {
    session: requireString(d.session, 'annotate comm open data.session', FileFormatError),
    store: requireString(d.store, 'annotate comm open data.store', FileFormatError),
  };
}

/** Checks a message from the widget. */
export function parseAnnotateClientMessage(raw: unknown): AnnotateClientMessage {
  const m = requireObject(raw, 'annotate message', FileFormatError);
  switch (m.type) {
    case 'ping':
      return { type: 'ping' };
    case 'decide':
      return { type: 'decide', decision: validateDecision(m.decision, 'decide.decision') };
    case 'retract':
      return {
        type: 'retract',
        candidateId: requireString(m.candidateId, 'retract.candidateId', FileFormatError),
        annotator: requireString(m.annotator, 'retract.annotator', FileFormatError),
      };
    case 'submit':
      return { type: 'submit', annotator: requireString(m.annotator, 'submit.annotator', FileFormatError) };
    case 'preview':
      return {
        type: 'preview',
        candidateId: requireString(m.candidateId, 'preview.candidateId', FileFormatError),
        keptWords: requireStrings(m.keptWords, 'preview.keptWords', FileFormatError),
      };
    default:
      throw new FileFormatError(`unknown annotate message type: ${describe(m.type)}`);
  }
}

/** Checks a message from the kernel. */
export function parseAnnotateServerMessage(raw: unknown): AnnotateServerMessage {
  const m = requireObject(raw, 'annotate kernel message', FileFormatError);
  const count = (v: unknown, where: string): number => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
      throw new FileFormatError(`${where} must be a whole number ≥ 0, got ${describe(v)}`);
    return v;
  };
  switch (m.type) {
    case 'state': {
      if (!Array.isArray(m.decisions))
        throw new FileFormatError(`state.decisions must be an array, got ${describe(m.decisions)}`);
      return {
        type: 'state',
        decisions: m.decisions.map((d: unknown, i: number) => validateDecision(d, `state.decisions[${i}]`)),
        active: m.active === true,
      };
    }
    case 'saved':
      return { type: 'saved', saved: count(m.saved, 'saved.saved') };
    case 'submitted':
      return {
        type: 'submitted',
        annotator: requireString(m.annotator, 'submitted.annotator', FileFormatError),
        count: count(m.count, 'submitted.count'),
      };
    case 'preview':
      return {
        type: 'preview',
        candidateId: requireString(m.candidateId, 'preview.candidateId', FileFormatError),
        keptWords: requireStrings(m.keptWords, 'preview.keptWords', FileFormatError),
        matches: validateMatchPreview(m.matches, 'preview.matches', FileFormatError),
      };
    case 'pending': {
      if (!Array.isArray(m.bundles))
        throw new FileFormatError(`pending.bundles must be an array, got ${describe(m.bundles)}`);
      return { type: 'pending', bundles: m.bundles.map(parseAnnotateBundle) };
    }
    case 'error':
      return { type: 'error', message: requireString(m.message, 'error.message', FileFormatError) };
    default:
      throw new FileFormatError(`unknown annotate kernel message type: ${describe(m.type)}`);
  }
}
