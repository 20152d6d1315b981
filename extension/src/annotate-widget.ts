/**
 * The rule-annotation widget (PRBoost's interactive rule evaluation, thesis §2.4.2). It shows one candidate
 * rule at a time — prompt with its [MASK] slot, the label, the proposed words (toggle to keep/drop), the
 * source instance — and sends every decision to the kernel as it is made; the kernel saves it next to the
 * notebook. All candidate text is inserted with textContent, never as HTML.
 *
 * Keys (while the widget has focus): a accept · r reject · s skip · j / → next · k / ← previous ·
 * 1–9 toggle word n · u or Ctrl+Z undo.
 */
import type { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import { openComm, type CommLink, type KernelGetter } from './comm';
import { matchesView } from './annotate-matches';
import { button, el } from './dom';
import {
  ANNOTATE_MIME,
  ANNOTATE_TARGET,
  AnnotationState,
  parseAnnotateBundle,
  parseAnnotateServerMessage,
  PING_INTERVAL_MS,
  type AnnotateBundle,
  type AnnotateClientMessage,
  type AnnotateServerMessage,
  type AnnotationEvent,
  type Decision,
  type Verdict,
} from '../../src/protocol';

const NAME_KEY = 'efflab.annotator';
const PAST: Record<Verdict, string> = { accept: 'accepted', reject: 'rejected', skip: 'skipped' };
const CONNECT_TIMEOUT_MS = 8000;

/** Sessions whose widget is on the page now (so a reload probe does not show a second copy). */
export const shownSessions = new Set<string>();

export class AnnotateRenderer extends Widget implements IRenderMime.IRenderer {
  private bundle: AnnotateBundle | null = null;
  private state: AnnotationState | null = null;
  /** Every saved decision the kernel reported, all annotators: annotator → candidate id → decision. */
  private readonly known = new Map<string, Map<string, Decision>>();
  private comm: CommLink | null = null;
  private connected = false;
  private active = false;
  private statusText = 'connecting to the kernel…';
  private readonly header = el('div', 'efflab-ann-header');
  /** Why this widget is shown outside its cell (after a page reload), when it is. */
  private readonly noteNode = el('div', 'efflab-ann-note');
  private readonly card = el('div', 'efflab-ann-card');
  private readonly list = el('ol', 'efflab-ann-list');
  private readonly nameInput = el('input', 'efflab-ann-name');
  private readonly filterSelect = el('select', 'efflab-ann-filter');
  private readonly progressNode = el('span', 'efflab-ann-progress');
  private readonly statusNode = el('span', 'efflab-ann-status');
  /** Previews asked for and not yet answered: candidate id + kept words. */
  private readonly asked = new Set<string>();
  private focused = false;
  private readonly submitButton: HTMLButtonElement;
  private readonly pinger = window.setInterval(() => {
    if (this.comm && this.connected) this.comm.send({ type: 'ping' });
  }, PING_INTERVAL_MS);

  constructor(private readonly kernel: KernelGetter) {
    super();
    this.addClass('efflab-annotate');
    this.node.tabIndex = 0;
    // Keys typed here are ours: JupyterLab's notebook shortcuts (a, r, j, k, …) must not fire.
    this.node.setAttribute('data-lm-suppress-shortcuts', 'true');
    this.node.addEventListener('keydown', (e) => this.onKey(e));
    this.nameInput.type = 'text';
    this.nameInput.setAttribute('aria-label', 'annotator name');
    this.nameInput.addEventListener('change', () => this.switchAnnotator(this.nameInput.value.trim()));
    this.filterSelect.setAttribute('aria-label', 'filter by label');
    this.filterSelect.addEventListener('change', () => {
      this.state?.setFilter(this.filterSelect.value === '' ? null : this.filterSelect.value);
      this.render();
    });
    this.submitButton = button(
      'Submit',
      'send the decisions to the waiting cell',
      () => this.submit(),
      'efflab-ann-submit',
    );
    const bar = el('div', 'efflab-ann-bar');
    bar.append(
      el('span', 'efflab-ann-field', 'Annotator '),
      this.nameInput,
      el('span', 'efflab-ann-field', ' Label '),
      this.filterSelect,
      this.progressNode,
      this.statusNode,
      this.submitButton,
    );
    const keys = el(
      'div',
      'efflab-ann-keys',
      'Keys: a accept · r reject · s skip · 1–9 drop / keep word n · u or Ctrl+Z undo · j / k next / previous',
    );
    this.node.append(this.header, this.noteNode, bar, this.card, keys, this.list);
  }

  async renderModel(model: IRenderMime.IMimeModel): Promise<void> {
    await this.showBundle(parseAnnotateBundle(model.data[ANNOTATE_MIME]));
  }

  /** Shows a bundle (from a cell output, or from the kernel after a page reload) and connects to the kernel. */
  async showBundle(bundle: AnnotateBundle, note?: string): Promise<void> {
    if (this.bundle?.session === bundle.session && this.state) return;
    if (this.bundle) shownSessions.delete(this.bundle.session);
    shownSessions.add(bundle.session);
    this.bundle = bundle;
    this.noteNode.textContent = note ?? '';
    this.header.textContent = bundle.title;
    this.node.dataset.session = bundle.session;
    const remembered = window.localStorage.getItem(NAME_KEY);
    const name = remembered && remembered.trim() ? remembered : bundle.annotator;
    this.nameInput.value = name;
    this.filterSelect.replaceChildren(el('option', '', 'all'));
    (this.filterSelect.firstChild as HTMLOptionElement).value = '';
    for (const label of new Set(bundle.candidates.map((c) => c.label))) {
      const o = el('option', '', label);
      o.value = label;
      this.filterSelect.append(o);
    }
    this.state = new AnnotationState(bundle.candidates, name);
    this.render();
    await this.connect();
  }

  private async connect(): Promise<void> {
    const bundle = this.bundle as AnnotateBundle;
    window.setTimeout(() => {
      if (!this.connected && !this.isDisposed && this.comm) {
        this.setStatus(
          `the kernel did not answer within ${CONNECT_TIMEOUT_MS / 1000} s: is efflab's kernel running?`,
        );
      }
    }, CONNECT_TIMEOUT_MS);
    this.comm = await openComm(
      this.kernel,
      ANNOTATE_TARGET,
      { session: bundle.session, store: bundle.store },
      (data) => {
        try {
          this.onServer(parseAnnotateServerMessage(data));
        } catch (err) {
          this.setStatus(`kernel sent a bad message: ${(err as Error).message}`);
        }
      },
      () => {
        this.comm = null;
        this.connected = false;
        this.setStatus('kernel connection closed: further decisions are not saved');
      },
    );
    if (!this.comm) {
      this.setStatus('no kernel: decisions cannot be saved; re-run the cell');
      return;
    }
    window.setTimeout(() => {
      if (!this.connected && !this.isDisposed) {
        this.setStatus(
          `the kernel did not answer within ${CONNECT_TIMEOUT_MS / 1000} s: is efflab's kernel running?`,
        );
      }
    }, CONNECT_TIMEOUT_MS);
  }

  override dispose(): void {
    if (this.isDisposed) return;
    window.clearInterval(this.pinger);
    if (this.bundle) shownSessions.delete(this.bundle.session);
    this.comm?.close();
    super.dispose();
  }

  private onServer(msg: AnnotateServerMessage): void {
    switch (msg.type) {
      case 'state': {
        this.known.clear();
        msg.decisions.forEach((d) => this.remember(d));
        this.connected = true;
        this.active = msg.active;
        this.switchAnnotator(this.nameInput.value.trim(), true);
        this.setStatus(msg.active ? 'connected' : 'this call has returned; decisions are still saved');
        // A waiting cell's widget takes the keyboard, so a, r, s, u… annotate instead of editing the notebook.
        if (msg.active && !this.focused) {
          this.focused = true;
          this.node.focus({ preventScroll: false });
          this.node.scrollIntoView?.({ block: 'nearest' });
        }
        return;
      }
      case 'preview':
        this.asked.delete(`${msg.candidateId}\u0000${JSON.stringify(msg.keptWords)}`);
        this.state?.setPreview(msg.candidateId, msg.keptWords, msg.matches);
        this.render();
        return;
      case 'pending':
        return;
      case 'saved':
        this.setStatus(`saved (${msg.saved})`);
        return;
      case 'submitted':
        this.active = false;
        this.setStatus(`submitted ${msg.count} decisions`);
        return;
      case 'error':
        this.asked.clear();
        this.setStatus(`kernel: ${msg.message}`);
        return;
    }
  }

  /** Asks the kernel which rows the current candidate matches with its kept words, once per word set. */
  private requestPreview(): void {
    const s = this.state;
    if (!s || !this.bundle?.preview || !this.connected || !this.active) return;
    const c = s.current();
    if (s.preview(c.id)) return;
    const keptWords = s.keptWords(c.id);
    const key = `${c.id}\u0000${JSON.stringify(keptWords)}`;
    if (this.asked.has(key)) return;
    this.asked.add(key);
    this.comm?.send({ type: 'preview', candidateId: c.id, keptWords } satisfies AnnotateClientMessage);
  }

  private toggle(n: number): void {
    if (!this.state) return;
    try {
      this.state.toggleWord(n);
    } catch (err) {
      this.setStatus((err as Error).message);
    }
    this.render();
  }

  private remember(d: Decision): void {
    const m = this.known.get(d.annotator) ?? new Map<string, Decision>();
    m.set(d.candidateId, d);
    this.known.set(d.annotator, m);
  }

  /** Rebuilds the state for an annotator from the saved decisions (resume). */
  private switchAnnotator(name: string, force = false): void {
    const bundle = this.bundle;
    if (!bundle) return;
    if (name.length === 0) {
      this.setStatus('annotator name is empty');
      return;
    }
    if (!force && this.state?.annotator === name) return;
    window.localStorage.setItem(NAME_KEY, name);
    const filter = this.state?.filter ?? null;
    this.state = new AnnotationState(bundle.candidates, name, [...(this.known.get(name)?.values() ?? [])]);
    if (filter !== null) this.state.setFilter(filter);
    this.render();
  }

  private send(msg: AnnotateClientMessage): void {
    if (!this.comm || !this.connected) {
      this.setStatus('NOT SAVED: no kernel connection');
      return;
    }
    this.comm.send(msg);
    this.setStatus('saving…');
  }

  private apply(event: AnnotationEvent | undefined): void {
    if (!event) return;
    if (event.kind === 'decided') {
      this.remember(event.decision);
      this.send({ type: 'decide', decision: event.decision });
    } else {
      this.known.get(event.annotator)?.delete(event.candidateId);
      this.send({ type: 'retract', candidateId: event.candidateId, annotator: event.annotator });
    }
    this.render();
  }

  private decide(v: Verdict): void {
    if (this.state) this.apply(this.state.decide(v));
  }

  private undo(): void {
    if (this.state) this.apply(this.state.undo());
  }

  private submit(): void {
    if (!this.state) return;
    if (!this.active) {
      this.setStatus('no cell is waiting for these decisions (they are saved); re-run the cell to use them');
      return;
    }
    this.send({ type: 'submit', annotator: this.state.annotator });
  }

  private onKey(e: KeyboardEvent): void {
    if (!this.state || e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
    if (e.altKey || e.metaKey) return;
    const key = e.key.toLowerCase();
    let handled = true;
    if (e.ctrlKey) {
      if (key === 'z') this.undo();
      else handled = false;
    } else if (key === 'a') this.decide('accept');
    else if (key === 'r') this.decide('reject');
    else if (key === 's') this.decide('skip');
    else if (key === 'u') this.undo();
    else if (key === 'j' || key === 'arrowright') {
      this.state.next();
      this.render();
    } else if (key === 'k' || key === 'arrowleft') {
      this.state.previous();
      this.render();
    } else if (/^[1-9]$/.test(key)) {
      const n = Number(key);
      if (n <= this.state.current().words.length) this.toggle(n);
    } else handled = false;
    if (handled) {
      e.preventDefault();
      e.stopPropagation();
    }
  }

  private setStatus(text: string): void {
    this.statusText = text;
    this.statusNode.textContent = text;
  }

  private render(): void {
    const s = this.state;
    if (!s) return;
    const c = s.current();
    const pos = s.position();
    const d = s.decision(c.id);
    this.progressNode.textContent = s.progress().text;
    this.statusNode.textContent = this.statusText;
    this.submitButton.disabled = !this.active;
    this.filterSelect.value = s.filter ?? '';

    const top = el('div', 'efflab-ann-top');
    top.append(
      el(
        'span',
        'efflab-ann-pos',
        `${pos.index + 1} of ${pos.count}${s.filter === null ? '' : ` (label ${s.filter})`}`,
      ),
      el('span', 'efflab-ann-id', `id ${c.id}`),
      el('span', 'efflab-ann-label', c.label),
      el('span', `efflab-ann-verdict efflab-v-${d?.verdict ?? 'none'}`, d ? PAST[d.verdict] : 'undecided'),
    );

    const prompt = el('div', 'efflab-ann-prompt');
    c.prompt.split('[MASK]').forEach((part, i) => {
      if (i > 0) prompt.append(el('span', 'efflab-ann-mask', '[MASK]'));
      prompt.append(document.createTextNode(part));
    });

    const words = el('div', 'efflab-ann-words');
    const kept = s.kept(c.id);
    c.words.forEach((w, i) => {
      const b = button(`${i + 1} ${w}`, `keep or drop this word (key ${i + 1})`, () => this.toggle(i + 1));
      b.classList.add('efflab-ann-word', kept[i] ? 'efflab-kept' : 'efflab-dropped');
      b.setAttribute('aria-pressed', String(kept[i]));
      words.append(b);
    });

    const actions = el('div', 'efflab-ann-actions');
    actions.append(
      button('Accept', 'accept this rule (a)', () => this.decide('accept'), 'efflab-ann-accept'),
      button('Reject', 'reject this rule (r)', () => this.decide('reject'), 'efflab-ann-reject'),
      button('Skip', 'skip for now (s)', () => this.decide('skip'), 'efflab-ann-skip'),
      button('◀ Previous', 'previous candidate (k or ←)', () => {
        s.previous();
        this.render();
      }),
      button('Next ▶', 'next candidate (j or →)', () => {
        s.next();
        this.render();
      }),
      button('Undo', 'undo the last decision (u or Ctrl+Z)', () => this.undo(), 'efflab-ann-undo'),
    );
    (actions.lastChild as HTMLButtonElement).disabled = !s.canUndo();

    this.card.replaceChildren(
      top,
      el('div', 'efflab-ann-caption', 'Prompt'),
      prompt,
      el('div', 'efflab-ann-caption', 'Proposed words for [MASK] (click or press the number to keep / drop)'),
      words,
      el('div', 'efflab-ann-caption', 'Source instance'),
      el('div', 'efflab-ann-instance', c.instance),
      matchesView(s.preview(c.id), this.bundle?.preview ?? false),
      actions,
    );
    this.card.dataset.candidate = c.id;
    this.requestPreview();

    this.list.replaceChildren(
      ...s.visible().map((cand) => {
        const dec = s.decision(cand.id);
        const li = el('li', `efflab-ann-row${cand.id === c.id ? ' efflab-current' : ''}`);
        li.dataset.candidate = cand.id;
        li.title = 'go to this candidate';
        li.addEventListener('click', () => {
          s.goTo(cand.id);
          this.render();
        });
        li.dataset.verdict = dec?.verdict ?? 'none';
        li.append(
          el('span', `efflab-ann-verdict efflab-v-${dec?.verdict ?? 'none'}`, dec?.verdict ?? '·'),
          el('span', 'efflab-ann-label', cand.label),
          el('span', 'efflab-ann-rowtext', cand.prompt),
        );
        return li;
      }),
    );
  }
}

export function annotateRendererFactory(kernel: KernelGetter): IRenderMime.IRendererFactory {
  return {
    safe: true,
    mimeTypes: [ANNOTATE_MIME],
    defaultRank: 0,
    createRenderer: () => new AnnotateRenderer(kernel),
  };
}
