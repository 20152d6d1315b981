/**
 * `annotateRules(candidates, options)`: PRBoost's interactive rule evaluation (thesis §2.4.2) from a cell.
 * In JupyterLab it shows the rule-annotation widget and resolves when the annotator presses Submit; every
 * decision is saved next to the notebook the moment it is made, so reloads, kernel restarts and re-runs
 * resume. Headless, `options.annotator` may be a function (an oracle) that judges each candidate.
 * With neither, the call fails after `connectTimeoutMs` with a message saying so — it never hangs silently.
 */
import { randomUUID } from 'node:crypto';
import {
  escapeHtml,
  getKernelBridge,
  type Comm,
  type CommMessage,
  type JsonObject,
  type Json,
} from '../display';
import { ConfigError, EfflabError, NotFoundError, ValueError } from '../errors';
import {
  ANNOTATE_MIME,
  ANNOTATE_TARGET,
  describe,
  parseAnnotateClientMessage,
  parseAnnotateOpen,
  validateCandidates,
  validateMatchPreview,
  VERDICTS,
  type AnnotateBundle,
  type AnnotateServerMessage,
  type Decision,
  type MatchExample,
  type MatchPreview,
  type RuleCandidate,
  type Verdict,
} from '../protocol';
import { AnnotationStore, storePath } from './store';
import { annotationAgreement, type AnnotationAgreement } from './kappa';

export type { Decision, MatchExample, MatchPreview, RuleCandidate, Verdict };

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
  preview?: (candidate: RuleCandidate) => MatchPreview | Promise<MatchPreview>;
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

/** A pending widget call, found by the comm target through its session id. */
interface Session {
  readonly id: string;
  readonly bundle: AnnotateBundle;
  readonly candidates: RuleCandidate[];
  readonly store: AnnotationStore;
  readonly preview: AnnotateOptions['preview'];
  /** When the widget last spoke (open, decision or its periodic ping); null until it connects. */
  lastSeen: number | null;
  finish(annotator: string): void;
}

interface Registry {
  sessions: Map<string, Session>;
  /** Store name → file, for widgets that reopen after their call returned. */
  stores: Map<string, string>;
  /** The bridge the comm target is registered with (a new kernel bridge needs it again). */
  registeredWith: object | null;
}

const REGISTRY = Symbol.for('efflab.widgets.annotate');

function registry(): Registry {
  const g = globalThis as { [REGISTRY]?: Registry };
  g[REGISTRY] ??= { sessions: new Map(), stores: new Map(), registeredWith: null };
  return g[REGISTRY];
}

function toJson(value: unknown): Json {
  return JSON.parse(JSON.stringify(value)) as Json;
}

function send(comm: Comm, msg: AnnotateServerMessage): void {
  if (!comm.closed) comm.send(toJson(msg) as JsonObject);
}

/** The candidate as the annotator edited it: only the kept words (which must be some of its own). */
function edited(candidate: RuleCandidate, keptWords: readonly string[]): RuleCandidate {
  const unknown = keptWords.filter((w) => !candidate.words.includes(w));
  if (unknown.length > 0)
    throw new ValueError(
      `candidate "${candidate.id}" has no word(s) ${unknown.map((w) => `"${w}"`).join(', ')}`,
    );
  if (keptWords.length === 0) throw new ValueError(`candidate "${candidate.id}": no word kept`);
  return {
    id: candidate.id,
    prompt: candidate.prompt,
    label: candidate.label,
    instance: candidate.instance,
    words: candidate.words.filter((w) => keptWords.includes(w)),
  };
}

async function answerPreview(
  comm: Comm,
  session: Session | undefined,
  candidateId: string,
  keptWords: string[],
): Promise<void> {
  try {
    if (!session)
      throw new NotFoundError('no cell is waiting for this widget any more, so no rows can be matched');
    if (!session.preview)
      throw new ConfigError('the cell passed no options.preview, so no rows can be matched');
    const c = session.candidates.find((x) => x.id === candidateId);
    if (!c) throw new NotFoundError(`unknown candidate id "${candidateId}"`);
    const matches = validateMatchPreview(
      await session.preview(edited(c, keptWords)),
      `options.preview("${candidateId}")`,
    );
    send(comm, { type: 'preview', candidateId, keptWords, matches });
  } catch (err) {
    send(comm, { type: 'error', message: (err as Error).message });
  }
}

/** Serves the widget's comm: opening reports saved decisions, each decision is written as it arrives. */
function serve(comm: Comm, open: CommMessage): void {
  let sessionId: string;
  let store: AnnotationStore;
  let known: Set<string> | null = null;
  try {
    const data = parseAnnotateOpen(open.data);
    if ('probe' in data) {
      // A page reload lost the outputs: tell the extension which cells still wait, so it can show them again.
      send(comm, { type: 'pending', bundles: [...registry().sessions.values()].map((s) => s.bundle) });
      return;
    }
    sessionId = data.session;
    const session = registry().sessions.get(sessionId);
    if (session) {
      store = session.store;
      known = new Set(session.candidates.map((c) => c.id));
      session.lastSeen = Date.now();
    } else {
      // The call that showed this widget has returned (or the kernel restarted): keep saving to its store.
      store = AnnotationStore.open(registry().stores.get(data.store) ?? storePath(data.store));
    }
    store.reload();
  } catch (err) {
    send(comm, { type: 'error', message: (err as Error).message });
    return;
  }
  send(comm, { type: 'state', decisions: store.all(), active: registry().sessions.has(sessionId) });
  comm.onMessage((m) => {
    const live = registry().sessions.get(sessionId);
    if (live) live.lastSeen = Date.now();
    try {
      const msg = parseAnnotateClientMessage(m.data);
      if (msg.type === 'ping') return;
      if (msg.type === 'decide') {
        const d = msg.decision;
        if (known && !known.has(d.candidateId))
          throw new NotFoundError(`unknown candidate id "${d.candidateId}"`);
        store.put(d);
        send(comm, { type: 'saved', saved: store.of(d.annotator).length });
      } else if (msg.type === 'retract') {
        store.remove(msg.annotator, msg.candidateId);
        send(comm, { type: 'saved', saved: store.of(msg.annotator).length });
      } else if (msg.type === 'preview') {
        void answerPreview(comm, live, msg.candidateId, msg.keptWords);
      } else {
        if (!live) throw new NotFoundError('no cell is waiting for this widget any more; re-run the cell');
        const count = store.of(msg.annotator).filter((d) => known?.has(d.candidateId)).length;
        live.finish(msg.annotator);
        send(comm, { type: 'submitted', annotator: msg.annotator, count });
      }
    } catch (err) {
      send(comm, { type: 'error', message: (err as Error).message });
    }
  });
}

function ensureTarget(): void {
  const r = registry();
  const bridge = getKernelBridge();
  if (!bridge || r.registeredWith === bridge) return;
  bridge.registerCommTarget(ANNOTATE_TARGET, serve);
  r.registeredWith = bridge;
}

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

function matchSummary(m: MatchPreview | undefined): string {
  if (!m) return '';
  return `${m.count}${m.total === undefined ? '' : ` of ${m.total}`} rows`;
}

/** Text fallback of the widget (a saved notebook opened elsewhere still lists the candidates). */
function plainListing(title: string, candidates: RuleCandidate[]): string {
  const lines = candidates.map((c, i) => {
    const m = c.matches ? `  matches ${matchSummary(c.matches)}` : '';
    return `${i + 1}. [${c.label}] ${c.prompt}  {${c.words.join(', ')}}  (id ${c.id})${m}`;
  });
  return `${title}: ${candidates.length} candidate rules (the efflab JupyterLab extension shows the annotation widget)\n${lines.join('\n')}`;
}

/** HTML fallback: the candidates as an escaped table (their text is data, never markup). */
function htmlListing(title: string, candidates: RuleCandidate[]): string {
  const rows = candidates
    .map((c) => {
      const examples = (c.matches?.examples ?? [])
        .slice(0, 3)
        .map(
          (e) => `<li>${e.label === undefined ? '' : `[${escapeHtml(e.label)}] `}${escapeHtml(e.text)}</li>`,
        )
        .join('');
      const matches = c.matches ? `${escapeHtml(matchSummary(c.matches))}<ul>${examples}</ul>` : '';
      return (
        `<tr><td>${escapeHtml(c.id)}</td><td>${escapeHtml(c.label)}</td><td>${escapeHtml(c.prompt)}</td>` +
        `<td>${escapeHtml(c.words.join(', '))}</td><td>${escapeHtml(c.instance)}</td><td>${matches}</td></tr>`
      );
    })
    .join('');
  return (
    `<p><b>${escapeHtml(title)}</b>: ${candidates.length} candidate rules (install the efflab JupyterLab ` +
    `extension to annotate them)</p><table><tr><th>id</th><th>label</th><th>prompt</th><th>words</th>` +
    `<th>instance</th><th>matches</th></tr>${rows}</table>`
  );
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
