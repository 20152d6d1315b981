/**
 * A person annotates through the extension's rule-annotation widget (`widgets.annotateRules`): accept or
 * reject each candidate, drop words, undo, keyboard; decisions persist next to the notebook as they are
 * made and carry their time. The widget asks this module which rows a candidate (with the words kept so
 * far) would label, and shows a few of them.
 */
import { annotateRules, type RuleCandidate } from '../../widgets';
import { toWidgetCandidates, type CandidateRule } from './candidates';
import type { PrboostRun, RuleAnnotator } from './run';
import { candidateMatches } from './view';

/** Options of the widget annotator. */
export interface WidgetAnnotatorOptions {
  /** The person's name (decisions are stored under it). */
  annotator?: string;
  /** Store stem; each iteration gets `<store>-it<t>` (default "prboost"). */
  store?: string;
  dir?: string;
  /** Give up (keeping every saved decision) after this long without Submit. */
  timeoutMs?: number;
  /** Example rows shown per candidate (default 3). */
  examples?: number;
}

/** A `RuleAnnotator` that shows the widget (needs JupyterLab with the efflab extension). */
export function widgetAnnotator(run: PrboostRun, options: WidgetAnnotatorOptions = {}): RuleAnnotator {
  return async (cands, iteration) => {
    const byId = new Map(cands.map((c) => [c.id, c]));
    const original = (w: RuleCandidate): CandidateRule => {
      const c = byId.get(w.id);
      if (!c) throw new Error(`the widget returned an unknown candidate id "${w.id}"`);
      return c;
    };
    const r = await annotateRules(toWidgetCandidates(cands, run.ws.classNames), {
      annotator: options.annotator ?? 'annotator',
      store: `${options.store ?? 'prboost'}-it${iteration}`,
      dir: options.dir,
      timeoutMs: options.timeoutMs,
      title: `PRBoost iteration ${iteration}: ${cands.length} candidate rules`,
      preview: async (w) => {
        const m = await candidateMatches(run, { ...original(w), words: [...w.words] }, options.examples ?? 3);
        return { count: m.count, total: m.total, examples: m.examples.map((e) => ({ text: e.text })) };
      },
    });
    const times = r.decisions.flatMap((d) => (typeof d.durationMs === 'number' ? [d.durationMs] : []));
    return {
      accepted: r.accepted.map((w) => ({ ...original(w), words: [...w.words] })),
      decisions: r.decisions,
      kappa: NaN,
      secondsPerDecision: times.length ? times.reduce((a, b) => a + b, 0) / times.length / 1000 : NaN,
    };
  };
}
