/**
 * `annotateRules(candidates, options)`: PRBoost's interactive rule evaluation (thesis §2.4.2) from a cell.
 * In JupyterLab it shows the rule-annotation widget and resolves when the annotator presses Submit; every
 * decision is saved next to the notebook the moment it is made, so reloads, kernel restarts and re-runs
 * resume. Headless, `options.annotator` may be a function (an oracle) that judges each candidate.
 * With neither, the call fails after `connectTimeoutMs` with a message saying so — it never hangs silently.
 */
import { randomUUID } from 'node:crypto';
import { getKernelBridge } from '../display';
import { ConfigError, EfflabError, ValueError } from '../errors';
import {
  ANNOTATE_MIME,
  describe,
  validateCandidates,
  VERDICTS,
  type AnnotateBundle,
  type Decision,
  type MatchExample,
  type MatchPreview,
  type RuleCandidate,
  type Verdict,
} from '../protocol';
import { AnnotationStore, storePath } from './store';
import { ensureTarget, registry, toJson, type MatchFunction, type Session } from './annotate-comm';
import { htmlListing, plainListing } from './annotate-listing';
import { annotationAgreement, type AnnotationAgreement } from './kappa';

export type { Decision, MatchExample, MatchFunction, MatchPreview, RuleCandidate, Verdict };

/** A headless annotator: a verdict, optionally with the words to keep (default: all). */
export type AnnotatorFunction = (
  candidate: RuleCandidate,
) =>
  | Verdict
  | { verdict: Verdict; keptWords?: string[] }
  | Promise<Verdict | { verdict: Verdict; keptWords?: string[] }>;

export interface AnnotateOptions {
  /** The annotator's name (widget default; decisions are stored under it) or a headless annotator function. */
  annotator?: string | AnnotatorFunction;
  /** Name under which a function annotator's decisions are stored (default: the function's name or "oracle"). */
  name?: string;
  /** Store file stem: decisions go to `<dir>/<store>.annotations.json` (default "rules"). */
  store?: string;
  /** Folder of the store (default: the kernel's working directory, i.e. the notebook's folder). */
  dir?: string;
  /** Widget heading. */
  title?: string;
  /** How long to wait for a frontend to open the widget before failing (ms, default 30 000). */
  connectTimeoutMs?: number;
  /**
   * Once open, the widget pings every 15 s; after this long without a word from it (the page was closed) the
   * call fails (ms, default 180 000: background tabs may throttle timers to once a minute).
   */
  livenessMs?: number;
  /** Fail if nobody presses Submit within this long (ms; default: wait while the widget is alive). */
  timeoutMs?: number;
  /**
   * Which rows a candidate would match, for the widget to show beside it: called with the candidate as the
   * annotator has edited it (only the kept words) whenever they drop or restore a word, and for candidates
   * that arrive without `matches`. Return the count and a few example rows (their text is escaped when shown).
   */
  preview?: MatchFunction;
}

/** What the call resolves with. */
export interface AnnotationResult {
  annotator: string;
  /** This annotator's decisions on these candidates, in candidate order. */
  decisions: Decision[];
  /** Accepted candidates with only the kept words: the accepted rule set R⁺ (thesis §2.4.2). */
  accepted: RuleCandidate[];
  /** The store file. */
  store: string;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 30_000;
export const DEFAULT_LIVENESS_MS = 180_000;

function result(annotator: string, candidates: RuleCandidate[], store: AnnotationStore): AnnotationResult {
  const mine = new Map(store.of(annotator).map((d) => [d.candidateId, d]));
  const decisions = candidates.flatMap((c) => (mine.has(c.id) ? [mine.get(c.id)!] : []));
  const accepted = candidates.flatMap((c) => {
    const d = mine.get(c.id);
    if (d?.verdict !== 'accept') return [];
    // The accepted rule R⁺: only the kept words (a match preview of the unedited candidate would be stale).
    const words = c.words.filter((w) => d.keptWords.includes(w));
    return [{ id: c.id, prompt: c.prompt, label: c.label, words, instance: c.instance }];
  });
  return { annotator, decisions, accepted, store: store.path };
}

async function runFunction(
  fn: AnnotatorFunction,
  name: string,
  candidates: RuleCandidate[],
  store: AnnotationStore,
): Promise<AnnotationResult> {
  const done = new Set(store.of(name).map((d) => d.candidateId));
  for (const c of candidates) {
    if (done.has(c.id)) continue;
    const t0 = Date.now();
    const out = await fn(c);
    const durationMs = Date.now() - t0;
    const verdict = typeof out === 'string' ? out : out?.verdict;
    if (!VERDICTS.includes(verdict as Verdict)) {
      throw new ValueError(
        `annotator function returned ${JSON.stringify(out)} for candidate "${c.id}"; expected one of ${VERDICTS.join(', ')}`,
      );
    }
    let kept: readonly string[] = c.words;
    if (typeof out === 'object' && out.keptWords !== undefined) {
      if (!Array.isArray(out.keptWords))
        throw new ValueError(
          `annotator function: keptWords for candidate "${c.id}" is ${describe(out.keptWords)}, not an array`,
        );
      kept = out.keptWords.filter((w) => c.words.includes(w));
      if (kept.length === 0 && verdict === 'accept')
        throw new ValueError(`annotator function accepted candidate "${c.id}" but kept none of its words`);
    }
    store.put({
      candidateId: c.id,
      verdict: verdict as Verdict,
      keptWords: [...kept],
      annotator: name,
      decidedAt: new Date().toISOString(),
      durationMs,
    });
  }
  return result(name, candidates, store);
}

/**
 * Fleiss' kappa (Eq. B.1) over the decisions saved in a store by several annotators (default: all of them).
 */
export function storeAgreement(
  store = 'rules',
  options: { dir?: string; annotators?: string[] } = {},
): AnnotationAgreement {
  return annotationAgreement(AnnotationStore.open(storePath(store, options.dir)).all(), options.annotators);
}

function positiveMs(value: unknown, name: string, fallback: number | undefined): number | undefined {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value > 0))
    throw new ValueError(
      `annotateRules: ${name} must be > 0, got ${describe(value).replace(/^number /, '')}`,
    );
  return value;
}

/**
 * Shows the rule-annotation widget for `candidates` and resolves with the annotator's decisions when they
 * press Submit (PRBoost's rule evaluation, d_j ∈ {1, 0}, thesis §2.4.2).
 */
export async function annotateRules(
  candidatesInput: readonly RuleCandidate[],
  options: AnnotateOptions = {},
): Promise<AnnotationResult> {
  if (typeof options !== 'object' || options === null)
    throw new ValueError(`annotateRules: options must be an object, got ${describe(options)}`);
  const candidates = validateCandidates(candidatesInput);
  const storeName = options.store ?? 'rules';
  if (typeof storeName !== 'string')
    throw new ValueError(`annotateRules: options.store must be a name, got ${describe(storeName)}`);
  if (options.preview !== undefined && typeof options.preview !== 'function')
    throw new ValueError(
      `annotateRules: options.preview must be a function, got ${describe(options.preview)}`,
    );
  const store = AnnotationStore.open(storePath(storeName, options.dir));
  registry().stores.set(storeName, store.path);
  if (typeof options.annotator === 'function') {
    const name = options.name ?? (options.annotator.name || 'oracle');
    return runFunction(options.annotator, name, candidates, store);
  }
  const annotator = options.annotator ?? 'annotator';
  if (typeof annotator !== 'string')
    throw new ValueError(
      `annotateRules: options.annotator must be a name or a function, got ${describe(annotator)}`,
    );
  if (annotator.trim().length === 0)
    throw new ValueError('annotateRules: options.annotator is an empty name');
  const timeout = positiveMs(
    options.connectTimeoutMs,
    'connectTimeoutMs',
    DEFAULT_CONNECT_TIMEOUT_MS,
  ) as number;
  const liveness = positiveMs(options.livenessMs, 'livenessMs', DEFAULT_LIVENESS_MS) as number;
  const overall = positiveMs(options.timeoutMs, 'timeoutMs', undefined);
  const bridge = getKernelBridge();
  if (!bridge) {
    throw new ConfigError(
      'annotateRules: no efflab kernel, so no widget can be shown; pass options.annotator as a function ' +
        '(e.g. an oracle judging each rule on a labelled dev set) to annotate headless',
    );
  }
  ensureTarget();
  const id = randomUUID();
  const title = options.title ?? 'Candidate rules';
  const bundle: AnnotateBundle = {
    session: id,
    store: storeName,
    annotator,
    title,
    candidates,
    preview: options.preview !== undefined,
  };
  return new Promise<AnnotationResult>((resolvePromise, reject) => {
    const startedAt = Date.now();
    const stop = (): void => {
      clearInterval(watchdog);
      registry().sessions.delete(id);
    };
    const fail = (why: string): void => {
      stop();
      store.reload();
      reject(
        new EfflabError(
          `annotateRules: ${why} ${store.all().length} decisions are saved in ${store.path}; ` +
            're-run the cell to resume from them.',
        ),
      );
    };
    const session: Session = {
      id,
      bundle,
      candidates,
      store,
      preview: options.preview,
      lastSeen: null,
      finish: (who) => {
        stop();
        store.reload();
        resolvePromise(result(who, candidates, store));
      },
    };
    // The watchdog turns "nobody is there" into an error instead of a cell that waits forever.
    const watchdog = setInterval(
      () => {
        const now = Date.now();
        if (session.lastSeen === null && now - startedAt >= timeout) {
          fail(
            `no frontend opened the annotation widget within ${timeout / 1000} s. Is the efflab JupyterLab ` +
              'extension installed and the notebook open in JupyterLab? For headless runs pass ' +
              'options.annotator as a function.',
          );
        } else if (session.lastSeen !== null && now - session.lastSeen >= liveness) {
          fail(
            `the annotation widget has not been heard from for ${liveness / 1000} s (was the page closed?).`,
          );
        } else if (overall !== undefined && now - startedAt >= overall) {
          fail(`no Submit within options.timeoutMs = ${overall / 1000} s.`);
        }
      },
      Math.max(10, Math.min(1000, timeout / 4, liveness / 4)),
    );
    registry().sessions.set(id, session);
    bridge.publishDisplay(
      {
        [ANNOTATE_MIME]: toJson(bundle),
        'text/html': htmlListing(title, candidates),
        'text/plain': plainListing(title, candidates),
      },
      { displayId: id },
    );
  });
}
