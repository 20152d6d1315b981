/**
 * The kernel side of the annotation widget's comm (`ANNOTATE_TARGET`): the registry of cells waiting on a
 * widget, and the handler that answers the widget — saved decisions on open, each decision written to the
 * store as it arrives, match previews through the cell's matcher, Submit, and the probe a reloaded page
 * sends to find waiting cells. Every message is parsed with the protocol's validators first.
 */
import { getKernelBridge, type Comm, type CommMessage, type Json, type JsonObject } from '../display';
import { ConfigError, NotFoundError, ValueError } from '../errors';
import {
  ANNOTATE_TARGET,
  parseAnnotateClientMessage,
  parseAnnotateOpen,
  validateMatchPreview,
  type AnnotateBundle,
  type AnnotateServerMessage,
  type MatchPreview,
  type RuleCandidate,
} from '../protocol';
import { AnnotationStore, storePath } from './store';

/** Which rows a candidate (with only its kept words) would match: the cell's `options.preview`. */
export type MatchFunction = (candidate: RuleCandidate) => MatchPreview | Promise<MatchPreview>;

/** A pending widget call, found by the comm target through its session id. */
export interface Session {
  readonly id: string;
  readonly bundle: AnnotateBundle;
  readonly candidates: RuleCandidate[];
  readonly store: AnnotationStore;
  readonly preview: MatchFunction | undefined;
  /** When the widget last spoke (open, decision or its periodic ping); null until it connects. */
  lastSeen: number | null;
  finish(annotator: string): void;
}

export interface Registry {
  sessions: Map<string, Session>;
  /** Store name → file, for widgets that reopen after their call returned. */
  stores: Map<string, string>;
  /** The bridge the comm target is registered with (a new kernel bridge needs it again). */
  registeredWith: object | null;
}

const REGISTRY = Symbol.for('efflab.widgets.annotate');

export function registry(): Registry {
  const g = globalThis as { [REGISTRY]?: Registry };
  g[REGISTRY] ??= { sessions: new Map(), stores: new Map(), registeredWith: null };
  return g[REGISTRY];
}

export function toJson(value: unknown): Json {
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

/** Registers the annotate comm target with the running kernel's bridge (again after a kernel restart). */
export function ensureTarget(): void {
  const r = registry();
  const bridge = getKernelBridge();
  if (!bridge || r.registeredWith === bridge) return;
  bridge.registerCommTarget(ANNOTATE_TARGET, serve);
  r.registeredWith = bridge;
}
