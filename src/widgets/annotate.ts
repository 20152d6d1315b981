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
import {
  validateCandidates,
  validateDecision,
  VERDICTS,
  type Decision,
  type RuleCandidate,
  type Verdict,
} from '../../extension/src/state/annotation';
import {
  ANNOTATE_MIME,
  ANNOTATE_TARGET,
  type AnnotateBundle,
  type AnnotateServerMessage,
} from '../../extension/src/state/protocol';
import { AnnotationStore, storePath } from './store';
import { annotationAgreement, type AnnotationAgreement } from './kappa';

export type { Decision, RuleCandidate, Verdict };

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
  readonly candidates: RuleCandidate[];
  readonly store: AnnotationStore;
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

/** Serves the widget's comm: opening reports saved decisions, each decision is written as it arrives. */
function serve(comm: Comm, open: CommMessage): void {
  const sessionId = typeof open.data.session === 'string' ? open.data.session : '';
  const session = registry().sessions.get(sessionId);
  let store: AnnotationStore;
  let known: Set<string> | null = null;
  try {
    if (session) {
      store = session.store;
      known = new Set(session.candidates.map((c) => c.id));
      session.lastSeen = Date.now();
    } else {
      // The call that showed this widget has returned (or the kernel restarted): keep saving to its store.
      const name = String(open.data.store ?? '');
      store = AnnotationStore.open(registry().stores.get(name) ?? storePath(name));
    }
    store.reload();
  } catch (err) {
    send(comm, { type: 'error', message: (err as Error).message });
    return;
  }
  send(comm, {
    type: 'state',
    decisions: store.all(),
    active: session !== undefined && registry().sessions.has(sessionId),
  });
  comm.onMessage((m) => {
    const live = registry().sessions.get(sessionId);
    if (live) live.lastSeen = Date.now();
    try {
      const data = m.data;
      if (data.type === 'ping') return;
      if (data.type === 'decide') {
        const d = validateDecision(data.decision, 'decision');
        if (known && !known.has(d.candidateId))
          throw new RangeError(`unknown candidate id "${d.candidateId}"`);
        store.put(d);
        send(comm, { type: 'saved', saved: store.of(d.annotator).length });
      } else if (data.type === 'retract') {
        if (typeof data.annotator !== 'string' || typeof data.candidateId !== 'string') {
          throw new TypeError('retract needs annotator and candidateId strings');
        }
        store.remove(data.annotator, data.candidateId);
        send(comm, { type: 'saved', saved: store.of(data.annotator).length });
      } else if (data.type === 'submit') {
        if (typeof data.annotator !== 'string') throw new TypeError('submit needs an annotator string');
        const live = registry().sessions.get(sessionId);
        if (!live) throw new Error('no cell is waiting for this widget any more; re-run the cell');
        const count = store.of(data.annotator).filter((d) => known?.has(d.candidateId)).length;
        live.finish(data.annotator);
        send(comm, { type: 'submitted', annotator: data.annotator, count });
      } else {
        throw new TypeError(`unknown message type ${JSON.stringify(data.type)}`);
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
    return d?.verdict === 'accept' ? [{ ...c, words: c.words.filter((w) => d.keptWords.includes(w)) }] : [];
  });
  return { annotator, decisions, accepted, store: store.path };
}

/** Text fallback of the widget (a saved notebook opened elsewhere still lists the candidates). */
function plainListing(title: string, candidates: RuleCandidate[]): string {
  const lines = candidates.map(
    (c, i) => `${i + 1}. [${c.label}] ${c.prompt}  {${c.words.join(', ')}}  (id ${c.id})`,
  );
  return `${title}: ${candidates.length} candidate rules (the efflab JupyterLab extension shows the annotation widget)\n${lines.join('\n')}`;
}

/** HTML fallback: the candidates as an escaped table (their text is data, never markup). */
function htmlListing(title: string, candidates: RuleCandidate[]): string {
  const rows = candidates
    .map(
      (c) =>
        `<tr><td>${escapeHtml(c.id)}</td><td>${escapeHtml(c.label)}</td><td>${escapeHtml(c.prompt)}</td>` +
        `<td>${escapeHtml(c.words.join(', '))}</td><td>${escapeHtml(c.instance)}</td></tr>`,
    )
    .join('');
  return (
    `<p><b>${escapeHtml(title)}</b>: ${candidates.length} candidate rules (install the efflab JupyterLab ` +
    `extension to annotate them)</p><table><tr><th>id</th><th>label</th><th>prompt</th><th>words</th>` +
    `<th>instance</th></tr>${rows}</table>`
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
    const out = await fn(c);
    const verdict = typeof out === 'string' ? out : out?.verdict;
    if (!VERDICTS.includes(verdict as Verdict)) {
      throw new RangeError(
        `annotator function returned ${JSON.stringify(out)} for candidate "${c.id}"; expected one of ${VERDICTS.join(', ')}`,
      );
    }
    const kept =
      typeof out === 'object' && out.keptWords ? out.keptWords.filter((w) => c.words.includes(w)) : c.words;
    store.put({
      candidateId: c.id,
      verdict: verdict as Verdict,
      keptWords: [...kept],
      annotator: name,
      decidedAt: new Date().toISOString(),
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

/**
 * Shows the rule-annotation widget for `candidates` and resolves with the annotator's decisions when they
 * press Submit (PRBoost's rule evaluation, d_j ∈ {1, 0}, thesis §2.4.2).
 */
export async function annotateRules(
  candidatesInput: readonly RuleCandidate[],
  options: AnnotateOptions = {},
): Promise<AnnotationResult> {
  const candidates = validateCandidates(candidatesInput);
  const storeName = options.store ?? 'rules';
  const store = AnnotationStore.open(storePath(storeName, options.dir));
  registry().stores.set(storeName, store.path);
  if (typeof options.annotator === 'function') {
    const name = options.name ?? (options.annotator.name || 'oracle');
    return runFunction(options.annotator, name, candidates, store);
  }
  const annotator = options.annotator ?? 'annotator';
  if (annotator.trim().length === 0)
    throw new RangeError('annotateRules: options.annotator is an empty name');
  const timeout = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!(timeout > 0)) throw new RangeError(`annotateRules: connectTimeoutMs must be > 0, got ${timeout}`);
  const bridge = getKernelBridge();
  if (!bridge) {
    throw new Error(
      'annotateRules: no efflab kernel, so no widget can be shown; pass options.annotator as a function ' +
        '(e.g. an oracle judging each rule on a labelled dev set) to annotate headless',
    );
  }
  ensureTarget();
  const id = randomUUID();
  const title = options.title ?? 'Candidate rules';
  const bundle: AnnotateBundle = { session: id, store: storeName, annotator, title, candidates };
  const liveness = options.livenessMs ?? DEFAULT_LIVENESS_MS;
  if (!(liveness > 0)) throw new RangeError(`annotateRules: livenessMs must be > 0, got ${liveness}`);
  const overall = options.timeoutMs;
  if (overall !== undefined && !(overall > 0))
    throw new RangeError(`annotateRules: timeoutMs must be > 0, got ${overall}`);
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
        new Error(
          `annotateRules: ${why} ${store.all().length} decisions are saved in ${store.path}; ` +
            're-run the cell to resume from them.',
        ),
      );
    };
    const session: Session = {
      id,
      candidates,
      store,
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
